//! The LR range test on a burn model and data loader.

use std::sync::Arc;

use burn::data::dataloader::DataLoader;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Tensor;
use burn::train::{ClassificationOutput, RegressionOutput, TrainStep};
use onecycle_core::finder::{Point, RangeTestConfig, Status, MAX_RANGE_STEPS};

use crate::Error;

/// A training step's output that carries the batch loss (a one-element tensor).
///
/// Implemented for burn's [`ClassificationOutput`] and [`RegressionOutput`]; implement it for
/// your own output type to run the range test on it.
pub trait TrainLoss {
    /// The loss of the batch, one element.
    fn loss(&self) -> Tensor<1>;
}

impl TrainLoss for ClassificationOutput {
    fn loss(&self) -> Tensor<1> {
        self.loss.clone()
    }
}

impl TrainLoss for RegressionOutput {
    fn loss(&self) -> Tensor<1> {
        self.loss.clone()
    }
}

/// What a range test found: the core's outcome, with the curve in a `Vec`.
pub type RangeTestOutcome = onecycle_core::finder::RangeTestOutcome<f64, Vec<Point<f64>>>;

/// Runs onecycle-core's LR range test (Smith 2017; fastai's `lr_find`) on `model`: trains a
/// copy of it with `optimizer` on `loader`'s batches (epoch after epoch if the sweep is longer),
/// the lr growing as `config` says, until the sweep completes or the loss diverges.
///
/// `model` itself is not changed: burn modules are values, the sweep trains a copy, and the
/// optimiser is consumed (pass a fresh one, e.g. `AdamConfig::new().init()`), so the weights
/// and optimiser state you train with afterwards are exactly those you had before.
///
/// # Errors
/// [`Error::Finder`] for an invalid `config` (including more than [`MAX_RANGE_STEPS`]
/// steps), [`Error::EmptyLoader`] when the loader yields no batch, [`Error::Data`] when it
/// yields an error, [`Error::NonScalarLoss`] when the loss is not one number.
pub fn range_test<M>(
    model: &M,
    optimizer: impl Into<ModuleOptimizer>,
    loader: &Arc<dyn DataLoader<M::Input>>,
    config: RangeTestConfig<f64>,
) -> Result<RangeTestOutcome, Error>
where
    M: TrainStep + Module + Clone,
    M::Output: TrainLoss,
{
    let mut test = config.build::<MAX_RANGE_STEPS>()?;
    let mut optimizer = optimizer.into();
    let mut model = model.clone();
    let stop = 'sweep: loop {
        let mut batches = 0usize;
        for batch in loader.iter() {
            let batch = batch.map_err(|e| Error::Data(e.to_string()))?;
            batches += 1;
            let lr = test.lr();
            let output = model.step(batch);
            let loss = scalar(&output.item.loss())?;
            model = model.optimize(&mut optimizer, lr.into(), output.grads);
            if let Status::Done(reason) = test.record(loss) {
                break 'sweep reason;
            }
        }
        if batches == 0 {
            return Err(Error::EmptyLoader);
        }
    };
    Ok(test.outcome(stop, <[_]>::to_vec))
}

/// The single value of a one-element loss tensor.
fn scalar(loss: &Tensor<1>) -> Result<f64, Error> {
    let data = loss.to_data();
    let mut values = data.iter::<f64>();
    match (values.next(), values.next()) {
        (Some(v), None) => Ok(v),
        _ => Err(Error::NonScalarLoss {
            elements: data.num_elements(),
        }),
    }
}
