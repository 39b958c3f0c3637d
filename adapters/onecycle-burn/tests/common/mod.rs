//! Shared by the integration tests: a synthetic 3-class problem, a one-tensor classifier that
//! burn's `Learner` can train, and its batcher.
#![allow(dead_code)]

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};

/// Inputs per example.
pub const FEATURES: usize = 8;
/// Classes.
pub const CLASSES: usize = 3;

/// One example: features and class.
#[derive(Clone, Debug)]
pub struct Item {
    pub x: [f32; FEATURES],
    pub y: u8,
}

/// `n` examples of three Gaussian-ish blobs (sums of uniforms from a fixed LCG): class `c`
/// has mean +1 on features `c, c+3` and noise of spread ~0.6, so a linear model separates
/// most of them and the loss has somewhere to fall.
pub fn blobs(n: usize, seed: u64) -> Vec<Item> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32) / ((1u64 << 24) as f32) - 0.5
    };
    (0..n)
        .map(|i| {
            let y = (i % CLASSES) as u8;
            let mut x = [0f32; FEATURES];
            for (j, v) in x.iter_mut().enumerate() {
                let noise = uniform() + uniform() + uniform();
                let mean = if j == usize::from(y) || j == usize::from(y) + 3 {
                    1.0
                } else {
                    0.0
                };
                *v = mean + noise;
            }
            Item { x, y }
        })
        .collect()
}

/// A batch of examples.
#[derive(Clone, Debug)]
pub struct Batch {
    pub x: Tensor<2>,
    pub y: Tensor<1, Int>,
}

/// Stacks items into a [`Batch`].
#[derive(Clone, Default)]
pub struct ItemBatcher;

impl Batcher<Item, Batch> for ItemBatcher {
    fn batch(&self, items: Vec<Item>, device: &Device) -> Batch {
        to_batch(&items, device)
    }
}

/// The batch of `items` on `device`.
pub fn to_batch(items: &[Item], device: &Device) -> Batch {
    let xs: Vec<f32> = items.iter().flat_map(|i| i.x).collect();
    let ys: Vec<i64> = items.iter().map(|i| i64::from(i.y)).collect();
    Batch {
        x: Tensor::from_data(TensorData::new(xs, [items.len(), FEATURES]), device),
        y: Tensor::from_data(TensorData::new(ys, [items.len()]), device),
    }
}

/// A loader over `items` in their order (no shuffling, so reruns see the same batches).
pub fn loader(items: Vec<Item>, batch_size: usize) -> Arc<dyn DataLoader<Batch>> {
    DataLoaderBuilder::new(ItemBatcher)
        .batch_size(batch_size)
        .build(InMemDataset::new(items))
}

/// A linear classifier with one weight tensor (no bias), so the optimiser holds exactly one
/// state and every readback is about that tensor.
#[derive(Module, Debug)]
pub struct Probe {
    pub linear: Linear,
}

impl Probe {
    /// Initialised on `device` from burn's seeded generator.
    pub fn new(device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(FEATURES, CLASSES)
                .with_bias(false)
                .init(device),
        }
    }

    /// Logits and mean cross-entropy of `batch`.
    pub fn classify(&self, batch: Batch) -> ClassificationOutput {
        let output = self.linear.forward(batch.x);
        let loss = CrossEntropyLossConfig::new()
            .init(&output.device())
            .forward(output.clone(), batch.y.clone());
        ClassificationOutput::new(loss, output, batch.y)
    }

    /// The weight values, row-major.
    pub fn weights(&self) -> Vec<f32> {
        self.linear
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 weights")
    }
}

impl TrainStep for Probe {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> TrainOutput<ClassificationOutput> {
        let item = self.classify(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Probe {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> ClassificationOutput {
        self.classify(batch)
    }
}

/// The autodiff CPU device with burn's generator seeded.
pub fn device(seed: u64) -> Device {
    let device = Device::default();
    device.seed(seed);
    device.autodiff()
}
