//! Deterministic mini-batches.
//!
//! * Training ([`Dataset::train_batches`]): the items are visited in the order
//!   [`epoch_order`]`(len, seed, epoch)`, a permutation that depends only on
//!   `(seed, epoch, len)` (see [`super::rng`]). Resuming at an epoch boundary
//!   therefore replays exactly the same batches, and runs with different LR
//!   schedules but the same seed see the same data in the same order. The last
//!   partial batch is **dropped**, so every training step has exactly `B` items
//!   (`len / B` steps per epoch, the `len % B` items left over differ per epoch).
//! * Evaluation ([`Dataset::eval_batches`]): items in file order, the last partial
//!   batch **kept**, so every test item is scored exactly once.

use super::dataset::Dataset;
use super::error::DataError;
use super::rng::epoch_order;

/// One mini-batch, owned so that it can go straight into a tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `len() × C × H × W` normalised values, row-major.
    pub images: Vec<f32>,
    /// The class of each image.
    pub labels: Vec<u8>,
}

impl Batch {
    /// Number of items.
    #[must_use]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch has no items (never yielded by [`Batches`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Iterator over the mini-batches of one epoch (or of one evaluation pass).
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    data: &'a Dataset,
    /// Visiting order; `None` means `0..len` in file order.
    order: Option<Vec<usize>>,
    batch_size: usize,
    /// Position of the next item in the order.
    pos: usize,
    /// Position after the last item served.
    end: usize,
}

impl Dataset {
    /// The training batches of `epoch`: shuffled by `(seed, epoch)`, last partial
    /// batch dropped.
    ///
    /// # Errors
    /// [`DataError::BatchSize`] when `batch_size` is 0 or larger than the data set
    /// (an epoch would have no step).
    ///
    /// ```
    /// use onecycle_data::{Dataset, Normalization};
    /// let norm = Normalization { mean: vec![0.0], std: vec![1.0] };
    /// let d = Dataset::from_bytes(&[0; 10], (0..10).collect(), 1, 1, 1, 10, &norm);
    /// let batches: Vec<_> = d.train_batches(4, 7, 0).unwrap().collect();
    /// assert_eq!(batches.len(), 2); // 10 / 4, the last 2 items dropped
    /// assert!(batches.iter().all(|b| b.len() == 4));
    /// ```
    pub fn train_batches(
        &self,
        batch_size: usize,
        seed: u64,
        epoch: u64,
    ) -> Result<Batches<'_>, DataError> {
        let len = self.len();
        if batch_size == 0 || batch_size > len {
            return Err(DataError::BatchSize { batch_size, len });
        }
        Ok(Batches {
            data: self,
            order: Some(epoch_order(len, seed, epoch)),
            batch_size,
            pos: 0,
            end: len - len % batch_size,
        })
    }

    /// The evaluation batches: file order, last partial batch kept.
    ///
    /// # Errors
    /// [`DataError::BatchSize`] when `batch_size` is 0.
    ///
    /// ```
    /// use onecycle_data::{Dataset, Normalization};
    /// let norm = Normalization { mean: vec![0.0], std: vec![1.0] };
    /// let d = Dataset::from_bytes(&[0; 10], (0..10).collect(), 1, 1, 1, 10, &norm);
    /// let sizes: Vec<_> = d.eval_batches(4).unwrap().map(|b| b.len()).collect();
    /// assert_eq!(sizes, vec![4, 4, 2]);
    /// ```
    pub fn eval_batches(&self, batch_size: usize) -> Result<Batches<'_>, DataError> {
        if batch_size == 0 {
            return Err(DataError::BatchSize {
                batch_size,
                len: self.len(),
            });
        }
        Ok(Batches {
            data: self,
            order: None,
            batch_size,
            pos: 0,
            end: self.len(),
        })
    }
}

impl Batches<'_> {
    /// The batch size `B` (the last evaluation batch may be smaller).
    #[must_use]
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn index(&self, pos: usize) -> usize {
        self.order.as_ref().map_or(pos, |o| o[pos])
    }
}

impl Iterator for Batches<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.pos >= self.end {
            return None;
        }
        let stop = (self.pos + self.batch_size).min(self.end);
        let per = self.data.image_len();
        let mut batch = Batch {
            images: Vec::with_capacity((stop - self.pos) * per),
            labels: Vec::with_capacity(stop - self.pos),
        };
        for pos in self.pos..stop {
            let i = self.index(pos);
            // `i < data.len()`, so both accesses are in bounds.
            self.data.extend_image(i, &mut batch.images)?;
            batch.labels.push(*self.data.labels.get(i)?);
        }
        self.pos = stop;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end.saturating_sub(self.pos).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}
