//! The driver: sets candle's optimiser to the schedule's lr (and β₁) before every step.

use candle_core::backprop::GradStore;
use candle_core::Tensor;
use candle_nn::optim::{AdamW, Optimizer, SGD};
use onecycle_core::{OneCycle, OneCycleConfig, Schedule};

use crate::Error;

/// A candle-nn optimiser whose momentum coefficient (Adam's β₁) can be set between steps.
pub trait CycleMomentum: Optimizer {
    /// The optimiser's name in error messages.
    const NAME: &'static str;

    /// The current momentum coefficient, or `None` when the optimiser has none.
    fn momentum(&self) -> Option<f64>;

    /// Sets the momentum coefficient; a no-op for an optimiser without one.
    fn set_momentum(&mut self, momentum: f64);
}

/// candle's `SGD` is plain gradient descent: no momentum.
impl CycleMomentum for SGD {
    const NAME: &'static str = "SGD";

    fn momentum(&self) -> Option<f64> {
        None
    }

    fn set_momentum(&mut self, _momentum: f64) {}
}

/// AdamW's β₁, through `AdamW::set_params` (the hook candle added for OneCycleLR, candle
/// issue #1448).
impl CycleMomentum for AdamW {
    const NAME: &'static str = "AdamW";

    fn momentum(&self) -> Option<f64> {
        Some(self.params().beta1)
    }

    fn set_momentum(&mut self, momentum: f64) {
        let mut params = self.params().clone();
        params.beta1 = momentum;
        self.set_params(params);
    }
}

/// A candle optimiser driven by an onecycle-core schedule: before update `k` (from 0) it sets
/// the optimiser's lr to `schedule.lr(k)` and, where the schedule cycles momentum, AdamW's β₁
/// to `schedule.momentum(k)`; then candle's own code does the update.
///
/// ```
/// use candle_core::{DType, Device, Tensor, Var};
/// use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
/// use onecycle_candle::Driver;
/// use onecycle_core::{OneCycleConfig, Schedule};
///
/// let w = Var::zeros(3, DType::F32, &Device::Cpu)?;
/// let adamw = AdamW::new(vec![w.clone()], ParamsAdamW::default())?;
/// let mut driver = Driver::one_cycle(OneCycleConfig::fastai(1e-2, 100), adamw)?;
/// let target = Tensor::new(&[1f32, -2.0, 0.5], &Device::Cpu)?;
/// for _ in 0..100 {
///     let loss = (w.as_tensor() - &target)?.sqr()?.mean_all()?;
///     driver.backward_step(&loss)?;
/// }
/// assert_eq!(driver.steps_taken(), 100);
/// // The last update (step 99) used the schedule's β₁ for that step, near fastai's final 0.95.
/// let beta_1 = driver.optimizer().params().beta1;
/// assert_eq!(Some(beta_1), driver.schedule().momentum(99));
/// # Ok::<(), onecycle_candle::Error>(())
/// ```
#[derive(Debug)]
pub struct Driver<O, S = OneCycle<f64>> {
    optimizer: O,
    schedule: S,
    step: u32,
}

impl<O: CycleMomentum> Driver<O, OneCycle<f64>> {
    /// The 1cycle schedule `config` driving `optimizer`.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid `config`; [`Error::MomentumUnsupported`] when it
    /// cycles momentum and `optimizer` has none.
    pub fn one_cycle(config: OneCycleConfig<f64>, optimizer: O) -> Result<Self, Error> {
        Self::new(config.build()?, optimizer)
    }
}

impl<O: CycleMomentum, S: Schedule<f64>> Driver<O, S> {
    /// `schedule` (1cycle or a baseline) driving `optimizer`, at step 0.
    ///
    /// # Errors
    /// [`Error::MomentumUnsupported`] when `schedule` cycles momentum and `optimizer` has
    /// none: the momentum would silently not happen.
    pub fn new(schedule: S, optimizer: O) -> Result<Self, Error> {
        if schedule.momentum(0).is_some() && optimizer.momentum().is_none() {
            return Err(Error::MomentumUnsupported { optimizer: O::NAME });
        }
        Ok(Self {
            optimizer,
            schedule,
            step: 0,
        })
    }

    /// One update with `grads` at the schedule's values for this step.
    ///
    /// # Errors
    /// candle's error from the update; the step is not counted then.
    pub fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        self.optimizer
            .set_learning_rate(self.schedule.lr(self.step));
        if let Some(momentum) = self.schedule.momentum(self.step) {
            self.optimizer.set_momentum(momentum);
        }
        self.optimizer.step(grads)?;
        self.step = self.step.saturating_add(1);
        Ok(())
    }

    /// Back-propagates `loss` and takes one [`step`](Self::step).
    ///
    /// # Errors
    /// candle's error from the backward pass or the update.
    pub fn backward_step(&mut self, loss: &Tensor) -> candle_core::Result<()> {
        let grads = loss.backward()?;
        self.step(&grads)
    }

    /// Updates taken so far: the schedule step of the next update.
    pub fn steps_taken(&self) -> u32 {
        self.step
    }

    /// Continues from update `step`, e.g. after restoring weights saved at that step.
    /// candle-nn's optimisers keep their state (AdamW's moments) private, so a resumed
    /// AdamW restarts its moments; the schedule itself resumes exactly.
    pub fn resume_at(&mut self, step: u32) {
        self.step = step;
    }

    /// The schedule.
    pub fn schedule(&self) -> &S {
        &self.schedule
    }

    /// candle's optimiser, as the last update left it.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimiser back, e.g. to change its weight decay.
    pub fn into_optimizer(self) -> O {
        self.optimizer
    }
}

/// What [`Optimizer::new`] takes to build a [`Driver`]: candle's optimiser configuration and
/// the schedule that drives it.
#[derive(Clone, Debug)]
pub struct DriverConfig<C, S = OneCycle<f64>> {
    /// The optimiser's own configuration (`ParamsAdamW`, or the lr for `SGD`).
    pub optimizer: C,
    /// The schedule (1cycle or a baseline).
    pub schedule: S,
}

/// The driver wherever candle-nn expects an optimiser: code generic over
/// `O: candle_nn::Optimizer` builds it with [`Optimizer::new`] and steps it with
/// [`Optimizer::step`], and the schedule sets every update's lr (and β₁).
///
/// The schedule owns the lr: [`Optimizer::learning_rate`] is the lr of the next update, and a
/// value given to [`Optimizer::set_learning_rate`] lasts until the next update overwrites it,
/// as PyTorch's `OneCycleLR` overwrites a hand-set lr at its next step.
///
/// ```
/// use candle_core::{DType, Device, Tensor, Var};
/// use candle_nn::optim::{Optimizer, SGD};
/// use onecycle_candle::{Driver, DriverConfig};
/// use onecycle_core::{OneCycle, OneCycleConfig};
///
/// /// Any code written for candle-nn's optimisers.
/// fn fit<O: Optimizer>(w: &Var, config: O::Config) -> candle_core::Result<O> {
///     let mut optimizer = O::new(vec![w.clone()], config)?;
///     for _ in 0..50 {
///         optimizer.backward_step(&(w.as_tensor() - 3.0)?.sqr()?.sum_all()?)?;
///     }
///     Ok(optimizer)
/// }
///
/// let w = Var::zeros(1, DType::F32, &Device::Cpu)?;
/// let mut one_cycle = OneCycleConfig::pytorch(0.2, 50);
/// one_cycle.momentum = None; // candle's SGD has no momentum
/// let config = DriverConfig { optimizer: 0.0, schedule: one_cycle.build()? };
/// let driver: Driver<SGD, OneCycle<f64>> = fit(&w, config)?;
/// assert_eq!(driver.steps_taken(), 50);
/// assert!((w.as_tensor().to_vec1::<f32>()?[0] - 3.0).abs() < 1e-3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<O, S> Optimizer for Driver<O, S>
where
    O: CycleMomentum,
    S: Schedule<f64>,
{
    type Config = DriverConfig<O::Config, S>;

    /// # Errors
    /// candle's error from building the optimiser, or [`Error::MomentumUnsupported`]
    /// (wrapped in candle's error) when the schedule cycles momentum the optimiser lacks.
    fn new(vars: Vec<candle_core::Var>, config: Self::Config) -> candle_core::Result<Self> {
        let optimizer = O::new(vars, config.optimizer)?;
        Self::new(config.schedule, optimizer).map_err(candle_core::Error::wrap)
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        Driver::step(self, grads)
    }

    fn learning_rate(&self) -> f64 {
        self.schedule.lr(self.step)
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer.set_learning_rate(lr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};
    use candle_nn::optim::ParamsAdamW;
    use onecycle_core::baseline::Constant;
    use onecycle_core::ConfigError;

    fn var() -> Var {
        Var::zeros(2, DType::F32, &Device::Cpu).unwrap()
    }

    #[test]
    fn sgd_with_a_momentum_schedule_is_refused_like_pytorch() {
        let sgd = SGD::new(vec![var()], 0.1).unwrap();
        let err = Driver::one_cycle(OneCycleConfig::pytorch(0.1, 10), sgd).unwrap_err();
        assert!(
            matches!(err, Error::MomentumUnsupported { optimizer: "SGD" }),
            "{err}"
        );
        assert!(err.to_string().contains("`momentum` to `None`"), "{err}");
        // Without momentum it is accepted, and so is a baseline.
        let mut config = OneCycleConfig::pytorch(0.1, 10);
        config.momentum = None;
        assert!(Driver::one_cycle(config, SGD::new(vec![var()], 0.1).unwrap()).is_ok());
        let constant = Constant::new(0.1).unwrap();
        assert!(Driver::new(constant, SGD::new(vec![var()], 0.1).unwrap()).is_ok());
    }

    #[test]
    fn bad_configs_are_the_cores_typed_errors() {
        let adamw = || AdamW::new(vec![var()], ParamsAdamW::default()).unwrap();
        let err = Driver::one_cycle(OneCycleConfig::fastai(0.1, 0), adamw()).unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::ZeroTotalSteps)),
            "{err:?}"
        );
        let err = Driver::one_cycle(OneCycleConfig::fastai(f64::NAN, 10), adamw()).unwrap_err();
        assert!(
            matches!(err, Error::Config(ConfigError::InvalidMaxLr { .. })),
            "{err:?}"
        );
    }
}
