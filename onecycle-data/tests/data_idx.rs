//! IDX loading on generated files: good raw and gzip files, and every kind of bad file.

mod data_idx {
    use std::fs;
    use std::io::Write;
    use std::path::Path;

    use flate2::{write::GzEncoder, Compression};
    use onecycle_data::catalog::MNIST;
    use onecycle_data::idx::{read_idx_images, read_idx_labels};
    use onecycle_data::{
        ensure_dataset, load, load_idx_dir, DataError, DatasetName, FileProblem, Fix, HashCheck,
    };

    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// Train: 5 images whose 784 pixels all equal 0, 51, 102, 153, 204; test: 3
    /// images of 255. Labels 0..5 and 7, 8, 9.
    fn write_mnist_like(dir: &Path, gz: bool) {
        fs::create_dir_all(dir).unwrap();
        let px = |vals: &[u8]| -> Vec<u8> {
            vals.iter()
                .flat_map(|&v| std::iter::repeat_n(v, 784))
                .collect()
        };
        let files = [
            (
                MNIST.train_images.name,
                idx_bytes(&[5, 28, 28], &px(&[0, 51, 102, 153, 204])),
            ),
            (MNIST.train_labels.name, idx_bytes(&[5], &[0, 1, 2, 3, 4])),
            (
                MNIST.test_images.name,
                idx_bytes(&[3, 28, 28], &px(&[255, 255, 255])),
            ),
            (MNIST.test_labels.name, idx_bytes(&[3], &[7, 8, 9])),
        ];
        for (name, bytes) in files {
            if gz {
                fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
            } else {
                fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }

    fn bad_file(err: DataError) -> (std::path::PathBuf, FileProblem, Fix) {
        match err {
            DataError::BadFile { path, problem, fix } => (path, problem, fix),
            other => panic!("expected BadFile, got {other:?}"),
        }
    }

    #[test]
    fn good_raw_idx_loads_with_hand_worked_normalisation() {
        let tmp = tempfile::tempdir().unwrap();
        write_mnist_like(tmp.path(), false);
        let split = load_idx_dir(tmp.path(), &MNIST, HashCheck::Skip).unwrap();
        // Scaled values 0, .2, .4, .6, .8: mean 0.4, population std sqrt(0.08).
        let std = 0.08f64.sqrt();
        assert!((f64::from(split.train.normalization.mean[0]) - 0.4).abs() < 1e-6);
        assert!((f64::from(split.train.normalization.std[0]) - std).abs() < 1e-6);
        assert_eq!(split.train.len(), 5);
        assert_eq!(split.test.len(), 3);
        assert_eq!(split.train.labels, vec![0, 1, 2, 3, 4]);
        assert_eq!(split.test.labels, vec![7, 8, 9]);
        assert_eq!(
            (split.train.channels, split.train.height, split.train.width),
            (1, 28, 28)
        );
        assert_eq!(split.train.classes, 10);
        let mut first = Vec::new();
        split.train.extend_image(0, &mut first).unwrap();
        assert_eq!(first.len(), 784);
        assert!(first
            .iter()
            .all(|&v| (f64::from(v) + 0.4 / std).abs() < 1e-5));
        // The test split uses the training statistics: 255 -> (1 - 0.4) / std.
        assert!(split
            .test
            .images()
            .iter()
            .all(|&v| (f64::from(v) - 0.6 / std).abs() < 1e-5));
        // The training split normalised with its own statistics has mean 0, std 1.
        let train = split.train.images();
        let n = train.len() as f64;
        let mean: f64 = train.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var: f64 = train
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{mean} {var}"
        );
    }

    #[test]
    fn good_gzip_idx_loads_like_raw() {
        let raw = tempfile::tempdir().unwrap();
        let gz = tempfile::tempdir().unwrap();
        write_mnist_like(raw.path(), false);
        write_mnist_like(gz.path(), true);
        let a = load_idx_dir(raw.path(), &MNIST, HashCheck::Skip).unwrap();
        let b = load_idx_dir(gz.path(), &MNIST, HashCheck::Skip).unwrap();
        assert_eq!(a, b);
        let labels = read_idx_labels(&gz.path().join("train-labels-idx1-ubyte.gz")).unwrap();
        assert_eq!(labels.data, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn wrong_magic_names_file_and_magic() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("imgs");
        // A label file (1 dimension) where an image file is expected.
        fs::write(&path, idx_bytes(&[2], &[1, 2])).unwrap();
        let err = read_idx_images(&path).unwrap_err();
        let msg = err.to_string();
        let (p, problem, _) = bad_file(err);
        assert_eq!(p, path);
        assert!(matches!(
            problem,
            FileProblem::BadMagic {
                found: Some(0x0000_0801),
                ..
            }
        ));
        assert!(msg.contains("imgs") && msg.contains("0x00000801"), "{msg}");
        // Not IDX at all, and too short for a magic number.
        fs::write(&path, b"PK\x03\x04rest").unwrap();
        assert!(matches!(
            bad_file(read_idx_images(&path).unwrap_err()).1,
            FileProblem::BadMagic {
                found: Some(0x504B_0304),
                ..
            }
        ));
        fs::write(&path, [0u8, 0]).unwrap();
        assert!(matches!(
            bad_file(read_idx_images(&path).unwrap_err()).1,
            FileProblem::BadMagic { found: None, .. }
        ));
    }

    #[test]
    fn truncated_and_overlong_files_are_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("imgs");
        let good = idx_bytes(&[2, 28, 28], &[9; 2 * 784]);
        fs::write(&path, &good[..good.len() - 1]).unwrap();
        let (_, problem, _) = bad_file(read_idx_images(&path).unwrap_err());
        assert!(matches!(
            problem,
            FileProblem::Truncated { expected, actual } if expected == 16 + 1568 && actual == 16 + 1567
        ));
        // Truncated inside the header.
        fs::write(&path, &good[..10]).unwrap();
        assert!(matches!(
            bad_file(read_idx_images(&path).unwrap_err()).1,
            FileProblem::Truncated {
                expected: 16,
                actual: 10
            }
        ));
        // A truncated gzip stream.
        let gz = gzip(&good);
        fs::write(&path, &gz[..gz.len() / 2]).unwrap();
        assert!(matches!(
            bad_file(read_idx_images(&path).unwrap_err()).1,
            FileProblem::Gzip(_)
        ));
        let mut long = good.clone();
        long.push(0);
        fs::write(&path, long).unwrap();
        assert!(matches!(
            bad_file(read_idx_images(&path).unwrap_err()).1,
            FileProblem::TrailingBytes { .. }
        ));
        // A header claiming 2^32-1 images cannot overflow anything.
        fs::write(&path, idx_bytes(&[u32::MAX, u32::MAX, u32::MAX], &[])).unwrap();
        assert!(matches!(
            bad_file(read_idx_images(&path).unwrap_err()).1,
            FileProblem::Truncated { .. }
        ));
    }

    #[test]
    fn count_mismatch_between_images_and_labels() {
        let tmp = tempfile::tempdir().unwrap();
        write_mnist_like(tmp.path(), false);
        fs::write(
            tmp.path().join(MNIST.train_labels.name),
            idx_bytes(&[4], &[0, 1, 2, 3]),
        )
        .unwrap();
        let err = load_idx_dir(tmp.path(), &MNIST, HashCheck::Skip).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    n_images: 5,
                    n_labels: 4,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(msg.contains("train-images-idx3-ubyte") && msg.contains("train-labels-idx1-ubyte"));
    }

    #[test]
    fn wrong_image_dims_are_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        write_mnist_like(tmp.path(), false);
        fs::write(
            tmp.path().join(MNIST.test_images.name),
            idx_bytes(&[3, 27, 28], &[0; 3 * 27 * 28]),
        )
        .unwrap();
        let (path, problem, _) =
            bad_file(load_idx_dir(tmp.path(), &MNIST, HashCheck::Skip).unwrap_err());
        assert!(path.ends_with("t10k-images-idx3-ubyte"));
        assert!(matches!(
            problem,
            FileProblem::WrongDims { ref expected, ref found } if expected == &[28, 28] && found == &[27, 28]
        ));
    }

    #[test]
    fn label_out_of_range_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        write_mnist_like(tmp.path(), false);
        fs::write(
            tmp.path().join(MNIST.test_labels.name),
            idx_bytes(&[3], &[7, 10, 9]),
        )
        .unwrap();
        let (_, problem, _) =
            bad_file(load_idx_dir(tmp.path(), &MNIST, HashCheck::Skip).unwrap_err());
        assert!(matches!(
            problem,
            FileProblem::LabelOutOfRange {
                index: 1,
                label: 10,
                classes: 10
            }
        ));
    }

    #[test]
    fn hash_mismatch_is_detected_with_the_refetch_fix() {
        // Structurally valid files that are not the real MNIST.
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("mnist");
        write_mnist_like(&dir, false);
        let err = load(DatasetName::Mnist, data.path()).unwrap_err();
        let msg = err.to_string();
        let (path, problem, fix) = bad_file(err);
        assert_eq!(path, dir.join("train-images-idx3-ubyte"));
        match problem {
            FileProblem::HashMismatch { expected, actual } => {
                assert_eq!(expected, MNIST.train_images.sha256);
                assert_eq!(actual.len(), 64);
                assert_ne!(actual, expected);
            }
            other => panic!("expected HashMismatch, got {other:?}"),
        }
        assert_eq!(
            fix,
            Fix::Refetch {
                dataset: DatasetName::Mnist,
                dir: dir.clone()
            }
        );
        assert!(
            msg.contains("onecycle data fetch mnist") && msg.contains("delete"),
            "{msg}"
        );
        // ensure_dataset verifies the existing directory and never fetches over it.
        let err = ensure_dataset(DatasetName::Mnist, data.path()).unwrap_err();
        assert!(matches!(bad_file(err).1, FileProblem::HashMismatch { .. }));
        assert!(dir.join("train-images-idx3-ubyte").exists());
    }

    #[test]
    fn missing_file_in_existing_dir_is_an_error_not_a_fetch() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("fashion-mnist");
        write_mnist_like(&dir, true);
        fs::remove_file(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let err = ensure_dataset(DatasetName::FashionMnist, data.path()).unwrap_err();
        let msg = err.to_string();
        let (path, problem, _) = bad_file(err);
        assert!(path.ends_with("t10k-labels-idx1-ubyte"));
        assert!(matches!(problem, FileProblem::Missing));
        assert!(msg.contains("onecycle data fetch fashion-mnist"), "{msg}");
    }

    #[test]
    fn cifar10_cannot_be_fetched_and_says_where_files_go() {
        let data = tempfile::tempdir().unwrap();
        let err = load(DatasetName::Cifar10, data.path()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(
            err,
            DataError::Fetch {
                dataset: DatasetName::Cifar10,
                ..
            }
        ));
        assert!(
            msg.contains("cifar-10-binary.tar.gz") && msg.contains("cifar10"),
            "{msg}"
        );
        assert!(!data.path().join("cifar10").exists());
    }
}
