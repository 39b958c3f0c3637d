//! Synthetic batches for throughput benches: the shapes of real data, values from a fixed
//! xorshift generator (no data set needed, the same batch on every run and every rank).

/// `batch` images of `per_image` values in `[-1, 1)` and `batch` labels in `0..classes`.
///
/// ```
/// let (images, labels) = onecycle_data::synthetic_batch(4, 784, 10);
/// assert_eq!((images.len(), labels.len()), (4 * 784, 4));
/// assert!(labels.iter().all(|&l| l < 10) && images.iter().all(|v| (-1.0..1.0).contains(v)));
/// ```
#[must_use]
pub fn synthetic_batch(batch: usize, per_image: usize, classes: usize) -> (Vec<f32>, Vec<u8>) {
    let mut state = 0x1234_5678_u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let images = (0..batch * per_image)
        .map(|_| (next() % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let classes = u32::try_from(classes.max(1)).unwrap_or(u32::MAX);
    let labels = (0..batch).map(|_| (next() % classes) as u8).collect();
    (images, labels)
}
