//! Data-parallel training: N processes, one model replica each, gradients averaged every step.
//!
//! The semantics are PyTorch DDP's:
//! - the batch size is the **global** batch; it must divide by the world size, and rank `r`
//!   trains on rows `r·b .. (r+1)·b` of every global batch (`b = B / N`), so every epoch's
//!   order is the trainer's `(seed, epoch)` permutation, identical on every rank;
//! - after the backward pass the gradients of all parameters go through **one** all-reduce over
//!   a flat buffer and are divided by `N`: the average over the global batch, since every shard
//!   has the same size. Every rank then applies the identical update;
//! - the 1cycle schedule is a pure function of the global step, so every rank computes the same
//!   lr and momentum without communicating;
//! - batch-norm batch statistics are per replica (each shard is normalised by its own mean
//!   and variance, as DDP without `SyncBatchNorm`); running statistics therefore differ
//!   between ranks, and evaluation and checkpoints use rank 0's (DDP broadcasts rank 0's
//!   buffers at every forward pass to the same effect);
//! - evaluation is sharded (contiguous slices of the evaluation set) and reduced, the loss
//!   weighted by shard size;
//! - the range test trains through the same replica, so its loss is the all-reduced one and
//!   every rank gets the same suggestion;
//! - at every evaluation the ranks compare a hash of their weights and stop with
//!   [`NnError::Distributed`] if they differ.
//!
//! [`Solo`] is the world of one process; with the `mpi` feature, `MpiWorld` is MPI's
//! `MPI_COMM_WORLD` (launch with `mpirun -np N onecycle ...`).

#[cfg(feature = "mpi")]
mod mpi_world;

use std::hash::Hasher;
use std::ops::Range;
use std::path::Path;

#[cfg(feature = "mpi")]
pub use mpi_world::MpiWorld;

use crate::nn::{EvalResult, GradReduce, ImageSource, Network, NnError, Snapshot, SubImages};

/// The processes of a data-parallel job and the collective operations between them.
pub trait Collective {
    /// This process's rank, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of processes.
    fn size(&self) -> usize;
    /// Element-wise sum over all ranks, in place (every rank gets the sum).
    fn sum_f32(&self, values: &mut [f32]);
    /// Element-wise sum over all ranks, in place.
    fn sum_f64(&self, values: &mut [f64]);
    /// Whether every rank passed the same `value`.
    fn all_equal(&self, value: u64) -> bool;
    /// Ends the whole job at once with `code` (after an error on this rank).
    fn abort(&self, code: i32) -> !;
}

/// The world of one process: every collective is the identity.
#[derive(Clone, Copy, Debug, Default)]
pub struct Solo;

impl Collective for Solo {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum_f32(&self, _values: &mut [f32]) {}
    fn sum_f64(&self, _values: &mut [f64]) {}
    fn all_equal(&self, _value: u64) -> bool {
        true
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
}

/// Checks, before anything is loaded, that a data-parallel launch can split `batch_size`
/// (the global batch) over the world.
///
/// # Errors
/// When it does not divide by the number of processes.
pub fn check_world(batch_size: usize, world: &dyn Collective) -> anyhow::Result<()> {
    if world.size() > 1 {
        shard_size(batch_size, world.size()).map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

/// The per-rank batch for a global batch of `global` images over `world` ranks.
///
/// # Errors
/// When `global` does not divide by `world` (the message names both and the fix).
///
/// ```
/// use trainer_cuda::dist::shard_size;
/// assert_eq!(shard_size(128, 2), Ok(64));
/// assert!(shard_size(100, 3).unwrap_err().contains("--batch-size 99 or 102"));
/// ```
pub fn shard_size(global: usize, world: usize) -> Result<usize, String> {
    if world == 0 || !global.is_multiple_of(world) || global == 0 {
        let below = global / world.max(1) * world.max(1);
        return Err(format!(
            "--batch-size {global} is the global batch and must divide by the {world} processes: \
             use --batch-size {} or {}",
            below.max(world),
            below + world
        ));
    }
    Ok(global / world)
}

/// Rank `rank`'s contiguous slice of `0..len` split over `world` ranks (the first
/// `len % world` ranks get one item more).
#[must_use]
pub fn shard_range(len: usize, rank: usize, world: usize) -> Range<usize> {
    let (base, extra) = (len / world, len % world);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// A model replica in a data-parallel job: a [`Network`] whose training steps take the global
/// batch, train on this rank's shard and average the gradients over the world, and whose
/// evaluation is sharded and reduced. See the module docs for the semantics. In a world of
/// one it is the network itself (no copies, no hashing).
pub struct DataParallel<'a> {
    net: &'a mut dyn Network,
    world: &'a dyn Collective,
}

impl<'a> DataParallel<'a> {
    /// `net` as this rank's replica in `world`.
    pub fn new(net: &'a mut dyn Network, world: &'a dyn Collective) -> Self {
        Self { net, world }
    }

    /// A hash of the parameters and optimiser state (not the batch-norm running statistics,
    /// which are per replica).
    fn weights_hash(&self) -> u64 {
        let snapshot = self.net.snapshot();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for t in snapshot
            .tensors
            .iter()
            .filter(|t| !t.name.contains("running"))
        {
            h.write(t.name.as_bytes());
            for v in &t.data {
                h.write_u32(v.to_bits());
            }
        }
        h.write_u64(snapshot.optimizer_step);
        h.finish()
    }
}

impl Network for DataParallel<'_> {
    fn train_step(
        &mut self,
        images: &[f32],
        labels: &[u8],
        lr: f64,
        momentum: Option<f64>,
    ) -> Result<f32, NnError> {
        let (rank, world) = (self.world.rank(), self.world.size());
        if world == 1 {
            return self.net.train_step(images, labels, lr, momentum);
        }
        let per = shard_size(labels.len(), world).map_err(NnError::Batch)?;
        let image_len = images.value_count() / labels.len().max(1);
        let rows = rank * per..(rank + 1) * per;
        let shard_images = &images[rows.start * image_len..rows.end * image_len];
        let shard_labels = &labels[rows];
        let collective = self.world;
        let scale = 1.0 / world as f32;
        let mut average = |grads: &mut [f32]| -> Result<(), NnError> {
            collective.sum_f32(grads);
            for g in grads.iter_mut() {
                *g *= scale;
            }
            Ok(())
        };
        let loss =
            self.net
                .train_step_reduced(shard_images, shard_labels, lr, momentum, &mut average)?;
        let mut mean = [f64::from(loss)];
        self.world.sum_f64(&mut mean);
        Ok((mean[0] / world as f64) as f32)
    }

    fn train_step_reduced(
        &mut self,
        _images: &[f32],
        _labels: &[u8],
        _lr: f64,
        _momentum: Option<f64>,
        _reduce: GradReduce<'_>,
    ) -> Result<f32, NnError> {
        Err(NnError::Distributed(
            "a data-parallel replica reduces its own gradients; call train_step".into(),
        ))
    }

    fn evaluate(
        &mut self,
        images: &dyn ImageSource,
        labels: &[u8],
        batch: usize,
    ) -> Result<EvalResult, NnError> {
        if self.world.size() == 1 {
            return self.net.evaluate(images, labels, batch);
        }
        if !self.world.all_equal(self.weights_hash()) {
            return Err(NnError::Distributed(format!(
                "rank {} of {}: the replicas' weights differ (ranks drifted apart); \
                 every rank must run the same build, data and options",
                self.world.rank(),
                self.world.size()
            )));
        }
        let image_len = images.value_count() / labels.len().max(1);
        let mine = shard_range(labels.len(), self.world.rank(), self.world.size());
        let local = if mine.is_empty() {
            EvalResult {
                loss: 0.0,
                correct: 0,
                total: 0,
            }
        } else {
            let shard = SubImages {
                source: images,
                start: mine.start * image_len,
                len: mine.len() * image_len,
            };
            self.net.evaluate(&shard, &labels[mine.clone()], batch)?
        };
        let mut sums = [
            f64::from(local.loss) * local.total as f64,
            local.correct as f64,
            local.total as f64,
        ];
        self.world.sum_f64(&mut sums);
        let total = sums[2] as usize;
        Ok(EvalResult {
            loss: (sums[0] / sums[2].max(1.0)) as f32,
            correct: sums[1] as usize,
            total,
        })
    }

    fn snapshot(&self) -> Snapshot {
        self.net.snapshot()
    }
    fn restore(&mut self, snapshot: &Snapshot) -> Result<(), NnError> {
        self.net.restore(snapshot)
    }
    fn save(&self, path: &Path) -> Result<(), NnError> {
        self.net.save(path)
    }
    fn load(&mut self, path: &Path) -> Result<(), NnError> {
        self.net.load(path)
    }
    fn checkpoint_bytes(&self) -> Result<Vec<u8>, NnError> {
        self.net.checkpoint_bytes()
    }
    fn load_bytes(&mut self, bytes: &[u8], origin: &Path) -> Result<(), NnError> {
        self.net.load_bytes(bytes, origin)
    }
    fn num_params(&self) -> usize {
        self.net.num_params()
    }
    fn matmul_flops_per_image(&self) -> (u64, u64) {
        self.net.matmul_flops_per_image()
    }

    fn describe(&self) -> String {
        format!(
            "{} (data-parallel, rank {} of {})",
            self.net.describe(),
            self.world.rank(),
            self.world.size()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_range_once_in_order() {
        for len in [0, 1, 7, 10, 10_000] {
            for world in 1..5 {
                let parts: Vec<_> = (0..world).map(|r| shard_range(len, r, world)).collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[world - 1].end, len);
                for w in parts.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert!(w[0].len() >= w[1].len() && w[0].len() - w[1].len() <= 1);
                }
            }
        }
    }

    #[test]
    fn a_global_batch_that_does_not_divide_is_refused_with_the_fix() {
        assert_eq!(shard_size(64, 4), Ok(16));
        let err = shard_size(10, 4).unwrap_err();
        assert!(err.contains("--batch-size 8 or 12"), "{err}");
        assert!(shard_size(0, 2).is_err());
    }
}
