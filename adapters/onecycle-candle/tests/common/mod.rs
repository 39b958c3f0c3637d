//! Shared by the integration tests: MNIST as the trainer fetches it (CI fetches it before
//! the tests), and a softmax-regression model whose weights are plain candle `Var`s.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{loss, Linear, Module};
use std::path::PathBuf;

use onecycle_data::{data_dir_or, load, Dataset, DatasetName};

pub const PIXELS: usize = 28 * 28;
pub const CLASSES: usize = 10;

/// The data directory: `$ONECYCLE_DATA` if set, else `<workspace>/data`, where
/// `onecycle data fetch mnist` run from the repository root puts it.
fn data_dir() -> PathBuf {
    data_dir_or(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data"))
}

/// The first `n` MNIST training images (normalised as the trainer does), or `None` with a
/// note on stderr when MNIST is not in the data directory: the test then skips, as the
/// README says.
pub fn mnist(n: usize) -> Option<Dataset> {
    match load(DatasetName::Mnist, &data_dir()) {
        Ok(split) => Some(split.train.take(n)),
        Err(e) => {
            eprintln!(
                "skipped: MNIST not found ({e}); run `cargo run --release -p trainer-cuda -- data fetch mnist`"
            );
            None
        }
    }
}

/// A mini-batch as candle tensors: `images` (B × 784) and class ids (B, u32).
pub struct Batch {
    pub images: Tensor,
    pub labels: Tensor,
}

/// The training batches of `epoch` (the trainer's deterministic order for `seed`).
pub fn batches(data: &Dataset, batch: usize, seed: u64, epoch: u64) -> Vec<Batch> {
    data.train_batches(batch, seed, epoch)
        .expect("batch size fits the data")
        .map(|b| {
            let n = b.len();
            Batch {
                images: Tensor::from_vec(b.images, (n, PIXELS), &Device::Cpu).unwrap(),
                labels: Tensor::from_vec(
                    b.labels.iter().map(|&l| u32::from(l)).collect(),
                    n,
                    &Device::Cpu,
                )
                .unwrap(),
            }
        })
        .collect()
}

/// Softmax regression 784 → 10, weights from zero (a convex problem: deterministic, no
/// random initialisation to seed).
pub struct Probe {
    pub weight: Var,
    pub bias: Var,
}

impl Probe {
    pub fn new() -> Self {
        Self {
            weight: Var::zeros((CLASSES, PIXELS), DType::F32, &Device::Cpu).unwrap(),
            bias: Var::zeros(CLASSES, DType::F32, &Device::Cpu).unwrap(),
        }
    }

    pub fn vars(&self) -> Vec<Var> {
        vec![self.weight.clone(), self.bias.clone()]
    }

    /// The mean cross-entropy on `batch`.
    pub fn loss(&self, batch: &Batch) -> candle_core::Result<Tensor> {
        let linear = Linear::new(
            self.weight.as_tensor().clone(),
            Some(self.bias.as_tensor().clone()),
        );
        loss::cross_entropy(&linear.forward(&batch.images)?, &batch.labels)
    }

    /// All weights, flattened (bit-exact comparisons).
    pub fn weights(&self) -> Vec<f32> {
        self.vars()
            .iter()
            .flat_map(|v| {
                v.as_tensor()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            })
            .collect()
    }
}
