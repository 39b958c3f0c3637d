//! The LR range test on a candle model.

use candle_core::{DType, Tensor, Var};
use candle_nn::optim::Optimizer;
use onecycle_core::finder::{Point, RangeTestConfig, Status, StopReason, MAX_RANGE_STEPS};

use crate::Error;

/// What a range test found: the core's outcome, with the curve in a `Vec`.
pub type RangeTestOutcome = onecycle_core::finder::RangeTestOutcome<f64, Vec<Point<f64>>>;

/// Runs onecycle-core's LR range test (Smith 2017; fastai's `lr_find`): at step `k` it sets
/// `optimizer`'s lr to the sweep's, asks `loss(k)` for the loss of a batch (pick batch
/// `k % n` to go round your data), back-propagates it and lets `optimizer` update, until the
/// sweep completes or the loss diverges.
///
/// candle's weights are shared mutable [`Var`]s, so the test saves `vars` (the model's
/// weights, e.g. `varmap.all_vars()`) before it starts and writes them back when it ends,
/// also when it fails: afterwards they are bit for bit what they were. `optimizer` must be
/// built over the same vars; it is consumed, so build a fresh one for training.
///
/// # Errors
/// [`Error::Finder`] for an invalid `config` (including more than [`MAX_RANGE_STEPS`]
/// steps), [`Error::NonScalarLoss`] when a loss is not one number, [`Error::Candle`] when
/// candle fails.
pub fn range_test<O, F>(
    vars: &[Var],
    mut optimizer: O,
    config: RangeTestConfig<f64>,
    mut loss: F,
) -> Result<RangeTestOutcome, Error>
where
    O: Optimizer,
    F: FnMut(u32) -> candle_core::Result<Tensor>,
{
    let mut test = config.build::<MAX_RANGE_STEPS>()?;
    let saved = vars
        .iter()
        .map(|v| v.as_tensor().copy())
        .collect::<candle_core::Result<Vec<_>>>()?;
    let mut sweep = || -> Result<StopReason, Error> {
        let mut step = 0u32;
        loop {
            optimizer.set_learning_rate(test.lr());
            let batch_loss = loss(step)?;
            let value = scalar(&batch_loss)?;
            optimizer.backward_step(&batch_loss)?;
            step = step.saturating_add(1);
            if let Status::Done(reason) = test.record(value) {
                return Ok(reason);
            }
        }
    };
    let stop = sweep();
    for (var, value) in vars.iter().zip(&saved) {
        var.set(value)?;
    }
    Ok(test.outcome(stop?, <[_]>::to_vec))
}

/// The single value of a one-element loss tensor.
fn scalar(loss: &Tensor) -> Result<f64, Error> {
    let elements = loss.elem_count();
    if elements != 1 {
        return Err(Error::NonScalarLoss { elements });
    }
    Ok(loss.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?[0])
}
