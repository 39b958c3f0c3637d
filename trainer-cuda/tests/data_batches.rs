//! Deterministic batching: order depends only on (seed, epoch); coverage; drop/keep last.

mod data_batches {
    use trainer_cuda::data::rng::epoch_order;
    use trainer_cuda::data::{DataError, Dataset, Normalization};

    /// The bytes of item `i` (`i < 65,536`): `i` in base 256, low byte first.
    fn bytes(i: usize) -> [u8; 2] {
        [(i % 256) as u8, (i / 256) as u8]
    }

    /// The normalised values of item `i` (mean 0, std 1: byte b becomes b / 255).
    fn values(i: usize) -> [f32; 2] {
        bytes(i).map(|b| (f64::from(b) / 255.0) as f32)
    }

    /// `n` 2×1×1 "images" whose bytes spell `i`, label `i % 10`.
    fn indexed(n: usize) -> Dataset {
        let norm = Normalization {
            mean: vec![0.0; 2],
            std: vec![1.0; 2],
        };
        let pixels: Vec<u8> = (0..n).flat_map(bytes).collect();
        let labels = (0..n).map(|i| (i % 10) as u8).collect();
        Dataset::from_bytes(pixels, labels, 2, 1, 1, 10, &norm)
    }

    /// Item indices of an epoch's batches, recovered from the image values.
    fn indices(d: &Dataset, b: usize, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
        d.train_batches(b, seed, epoch)
            .unwrap()
            .map(|batch| {
                assert_eq!(batch.images.len(), 2 * batch.len());
                batch
                    .images
                    .chunks(2)
                    .zip(&batch.labels)
                    .map(|(img, &l)| {
                        let byte = |v: f32| (v * 255.0).round() as usize;
                        let i = byte(img[0]) + 256 * byte(img[1]);
                        assert_eq!(img, values(i));
                        assert_eq!(usize::from(l), i % 10, "label travels with its image");
                        i
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn order_matches_independent_reference() {
        // Computed with an independent Python implementation of the documented algorithm.
        assert_eq!(epoch_order(10, 42, 0), vec![5, 1, 9, 6, 7, 2, 4, 0, 8, 3]);
        assert_eq!(epoch_order(10, 42, 1), vec![8, 9, 1, 7, 6, 4, 3, 2, 0, 5]);
        assert_eq!(epoch_order(10, 0, 0), vec![4, 7, 0, 5, 9, 3, 6, 2, 8, 1]);
    }

    #[test]
    fn same_seed_and_epoch_give_the_same_batches() {
        let d = indexed(1000);
        assert_eq!(indices(&d, 32, 7, 3), indices(&d, 32, 7, 3));
        // A separately built but equal data set: same order (no hidden state).
        assert_eq!(indices(&indexed(1000), 32, 7, 3), indices(&d, 32, 7, 3));
    }

    #[test]
    fn different_epoch_or_seed_gives_a_different_order() {
        let d = indexed(1000);
        let e0 = indices(&d, 50, 7, 0);
        assert_ne!(e0, indices(&d, 50, 7, 1));
        assert_ne!(e0, indices(&d, 50, 8, 0));
        // And it is actually shuffled.
        assert_ne!(e0.concat(), (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn every_index_once_per_epoch() {
        let d = indexed(1000);
        for epoch in 0..5 {
            let mut all = indices(&d, 100, 11, epoch).concat();
            all.sort_unstable();
            assert_eq!(all, (0..1000).collect::<Vec<_>>());
        }
    }

    #[test]
    fn training_drops_the_last_partial_batch() {
        let d = indexed(103);
        let it = d.train_batches(10, 1, 0).unwrap();
        assert_eq!(it.len(), 10);
        let got = indices(&d, 10, 1, 0);
        assert!(got.iter().all(|b| b.len() == 10));
        let mut seen = got.concat();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 100, "100 distinct items, 3 dropped");
        // The dropped items are the last 3 of the epoch's order.
        let order = epoch_order(103, 1, 0);
        assert_eq!(got.concat(), order[..100].to_vec());
    }

    #[test]
    fn evaluation_keeps_the_last_partial_batch_in_file_order() {
        let d = indexed(103);
        let batches: Vec<_> = d.eval_batches(10).unwrap().collect();
        assert_eq!(batches.len(), 11);
        assert_eq!(batches[10].len(), 3);
        let labels: Vec<u8> = batches.iter().flat_map(|b| b.labels.clone()).collect();
        assert_eq!(labels, d.labels);
        let images: Vec<f32> = batches.into_iter().flat_map(|b| b.images).collect();
        assert_eq!(images, d.images());
    }

    #[test]
    fn bad_batch_sizes_are_errors() {
        let d = indexed(5);
        assert!(matches!(
            d.train_batches(0, 1, 0),
            Err(DataError::BatchSize {
                batch_size: 0,
                len: 5
            })
        ));
        assert!(matches!(
            d.train_batches(6, 1, 0),
            Err(DataError::BatchSize {
                batch_size: 6,
                len: 5
            })
        ));
        assert!(d.eval_batches(0).is_err());
        assert_eq!(d.eval_batches(6).unwrap().count(), 1);
        assert_eq!(d.train_batches(5, 1, 0).unwrap().count(), 1);
    }

    #[test]
    fn slices_of_slices_read_the_right_images_and_compare_by_content() {
        let d = indexed(20);
        let s = d.slice(5, 12).slice(2, 4); // items 7 and 8
        assert_eq!(s.len(), 2);
        assert_eq!(s.labels, vec![7, 8]);
        assert_eq!(s.images(), [values(7), values(8)].concat());
        assert_eq!(s.pixels(), [bytes(7), bytes(8)].concat());
        let mut img = Vec::new();
        s.extend_image(1, &mut img).unwrap();
        assert_eq!(img, values(8));
        let norm = d.normalization.clone();
        let copy = Dataset::from_bytes(
            [bytes(7), bytes(8)].concat(),
            vec![7, 8],
            2,
            1,
            1,
            10,
            &norm,
        );
        assert_eq!(s, copy, "equal content, however the bytes are held");
        assert_ne!(s, d.slice(7, 9).take(1));
    }

    #[test]
    fn take_keeps_the_first_items() {
        let d = indexed(20).take(7);
        assert_eq!(d.len(), 7);
        assert_eq!(d.pixels().len(), 14);
        let mut img = Vec::new();
        assert_eq!(d.extend_image(6, &mut img), Some(()));
        assert_eq!(img, values(6));
        assert_eq!(d.extend_image(7, &mut img), None);
        assert_eq!(indexed(3).take(10).len(), 3);
    }

    #[test]
    fn inconsistent_fields_do_not_panic() {
        let mut d = indexed(10);
        d.labels.truncate(4);
        assert_eq!(d.len(), 4);
        assert_eq!(
            d.eval_batches(3).unwrap().map(|b| b.len()).sum::<usize>(),
            4
        );
    }
}
