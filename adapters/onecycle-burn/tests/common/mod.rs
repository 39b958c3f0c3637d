//! Shared by the integration tests: a synthetic 3-class problem, a one-tensor classifier that
//! burn's `Learner` can train, and its batcher.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::ModuleOptimizer;
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

/// burn's optimiser state for the probe's one weight tensor, by leaf name (`velocity`,
/// `moment_1`, `moment_2`, ...), decoded from the optimiser record's burnpack bytes.
pub fn state_tensors(optim: &ModuleOptimizer) -> Vec<(String, Vec<f64>)> {
    let bytes = optim.to_record().into_bytes().expect("optimiser record");
    let reader = burn_pack::Reader::from_bytes(bytes).expect("burnpack");
    reader
        .tensor_names()
        .into_iter()
        .map(|name| {
            let raw = reader.tensor_data(name).expect("tensor bytes");
            let values = raw
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
            (name.to_owned(), values)
        })
        .collect()
}

pub fn leaf<'a>(state: &'a [(String, Vec<f64>)], suffix: &str) -> &'a [f64] {
    let found: Vec<_> = state.iter().filter(|(n, _)| n.ends_with(suffix)).collect();
    assert_eq!(
        found.len(),
        1,
        "one `{suffix}` tensor in {:?}",
        state.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    &found[0].1
}

pub fn to_f64(data: TensorData) -> Vec<f64> {
    data.try_to_vec::<f32>()
        .expect("f32")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// The learning rates burn's `LearningRateMetric` logged for `epoch`, in order. burn writes
/// one `value,count` line per step with the f64 in Rust's shortest round-trip form, and may
/// close the epoch with a `value,final` summary line, which is skipped.
pub fn logged_lrs(dir: &Path, epoch: usize) -> Vec<f64> {
    let path = dir
        .join("train")
        .join(format!("epoch-{epoch}"))
        .join("Learning_Rate.log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.ends_with(",final"))
        .map(|line| {
            let value = line.split(',').next().unwrap_or_default();
            value
                .parse()
                .unwrap_or_else(|e| panic!("{}: line {line:?}: {e}", path.display()))
        })
        .collect()
}
