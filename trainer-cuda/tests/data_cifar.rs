//! CIFAR-10 binary loading on generated files (the real data set is not obtainable here).

mod data_cifar {
    use std::fs;
    use std::path::Path;

    use trainer_cuda::data::cifar::{read_cifar_file, IMAGE_BYTES, RECORD_BYTES};
    use trainer_cuda::data::{load, load_cifar10_dir, DataError, DatasetName, FileProblem, Fix};

    /// A record whose red, green and blue planes are constant `r`, `g`, `b`.
    fn record(label: u8, r: u8, g: u8, b: u8) -> Vec<u8> {
        let mut rec = vec![label];
        for v in [r, g, b] {
            rec.extend(std::iter::repeat_n(v, 1024));
        }
        rec
    }

    /// Five training files with two records each, one test file with one record.
    /// Red is 0 or 255 (mean .5, std .5), green always 51 (constant), blue 0/102.
    fn write_cifar(dir: &Path) {
        fs::create_dir_all(dir).unwrap();
        for i in 1..=5u8 {
            let mut bytes = record(i, 0, 51, 0);
            bytes.extend(record(i + 1, 255, 51, 102));
            fs::write(dir.join(format!("data_batch_{i}.bin")), bytes).unwrap();
        }
        fs::write(dir.join("test_batch.bin"), record(9, 255, 51, 102)).unwrap();
    }

    #[test]
    fn good_file_reads_labels_and_chw_planes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("b.bin");
        let mut bytes = record(3, 1, 2, 3);
        bytes.extend(record(0, 4, 5, 6));
        fs::write(&path, &bytes).unwrap();
        let r = read_cifar_file(&path).unwrap();
        assert_eq!(r.labels, vec![3, 0]);
        assert_eq!(r.images.len(), 2 * IMAGE_BYTES);
        // CHW: the red plane of image 1 starts at IMAGE_BYTES, green 1024 later.
        assert_eq!(r.images[0], 1);
        assert_eq!(r.images[1024], 2);
        assert_eq!(r.images[2048], 3);
        assert_eq!(r.images[IMAGE_BYTES + 2048 + 1023], 6);
    }

    #[test]
    fn truncated_file_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("b.bin");
        let mut bytes = record(3, 1, 2, 3);
        bytes.extend(record(0, 4, 5, 6));
        fs::write(&path, &bytes[..RECORD_BYTES + 10]).unwrap();
        let err = read_cifar_file(&path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("b.bin") && msg.contains("truncated"), "{msg}");
        assert!(matches!(
            err,
            DataError::BadFile {
                problem: FileProblem::Truncated { expected, actual },
                ..
            } if expected == 2 * RECORD_BYTES as u64 && actual == RECORD_BYTES as u64 + 10
        ));
        fs::write(&path, []).unwrap();
        assert!(read_cifar_file(&path).is_err());
    }

    #[test]
    fn label_out_of_range_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("b.bin");
        let mut bytes = record(3, 1, 2, 3);
        bytes.extend(record(10, 4, 5, 6));
        fs::write(&path, bytes).unwrap();
        assert!(matches!(
            read_cifar_file(&path).unwrap_err(),
            DataError::BadFile {
                problem: FileProblem::LabelOutOfRange {
                    index: 1,
                    label: 10,
                    classes: 10
                },
                ..
            }
        ));
    }

    #[test]
    fn directory_loads_with_per_channel_normalisation() {
        let tmp = tempfile::tempdir().unwrap();
        write_cifar(tmp.path());
        let split = load_cifar10_dir(tmp.path()).unwrap();
        assert_eq!((split.train.len(), split.test.len()), (10, 1));
        assert_eq!(
            (split.train.channels, split.train.height, split.train.width),
            (3, 32, 32)
        );
        assert_eq!(split.train.labels, vec![1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
        let n = &split.train.normalization;
        // Red: 0/1 -> mean .5 std .5; green: constant .2 -> std falls back to 1;
        // blue: 0/.4 -> mean .2 std .2.
        let close = |a: f32, b: f64| (f64::from(a) - b).abs() < 1e-6;
        assert!(close(n.mean[0], 0.5) && close(n.std[0], 0.5), "{n:?}");
        assert!(close(n.mean[1], 0.2) && close(n.std[1], 1.0), "{n:?}");
        assert!(close(n.mean[2], 0.2) && close(n.std[2], 0.2), "{n:?}");
        // Test image (255, 51, 102) -> (1, 0, 1) in all pixels of each plane.
        let mut img = Vec::new();
        split.test.extend_image(0, &mut img).unwrap();
        assert!(img[..1024].iter().all(|&v| close(v, 1.0)));
        assert!(img[1024..2048].iter().all(|&v| close(v, 0.0)));
        assert!(img[2048..].iter().all(|&v| close(v, 1.0)));
    }

    #[test]
    fn bad_file_in_cifar10_dir_names_the_manual_fix() {
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().join("cifar10");
        write_cifar(&dir);
        fs::write(dir.join("data_batch_3.bin"), [1u8; 100]).unwrap();
        let err = load(DatasetName::Cifar10, data.path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("data_batch_3.bin") && msg.contains("cifar-10-binary.tar.gz"),
            "{msg}"
        );
        assert!(matches!(
            err,
            DataError::BadFile {
                fix: Fix::SupplyCifar10 { .. },
                ..
            }
        ));
    }
}
