//! The LR range test on a candle model.

use candle_core::{DType, Tensor, Var};
use candle_nn::optim::Optimizer;
use onecycle_core::finder::{Edge, Point, RangeTestConfig, Status, StopReason, Suggestions};
use onecycle_core::FinderError;

use crate::Error;

/// Most steps a range test records (the core's history is a fixed-capacity buffer of this
/// many points, 24 bytes each). fastai's default sweep is 100 steps.
pub const MAX_RANGE_STEPS: usize = 2048;

/// What a range test found.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeTestOutcome {
    /// One point per recorded step: the lr it trained with, the smoothed and the raw loss.
    pub curve: Vec<Point<f64>>,
    /// Why the sweep stopped.
    pub stop: StopReason,
    /// fastai's four suggestions (valley, slide, minimum, steep), or why the curve was too
    /// short for them.
    pub suggestions: Result<Suggestions<f64>, FinderError>,
    /// onecycle's divergence edge (where the raw loss broke down for good) and its `auto`
    /// max lr, the edge / 30: far steadier over seeds than fastai's rules (see
    /// [`onecycle_core::finder::divergence_edge`]); an error when the loss did not blow up
    /// within the sweep.
    pub edge: Result<Edge<f64>, FinderError>,
}

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
    Ok(RangeTestOutcome {
        curve: test.history().to_vec(),
        stop: stop?,
        suggestions: test.suggestions(),
        edge: test.edge(),
    })
}

/// The single value of a one-element loss tensor.
fn scalar(loss: &Tensor) -> Result<f64, Error> {
    let elements = loss.elem_count();
    if elements != 1 {
        return Err(Error::NonScalarLoss { elements });
    }
    Ok(loss.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?[0])
}
