//! Momentum / Adam β₁ cycling for burn's optimisers.
//!
//! burn's [`Optimizer`] receives only the learning rate at each step; its momentum (SGD) or β₁
//! (Adam, AdamW) is fixed in the optimiser when it is built. [`Cycled`] is an [`Optimizer`]
//! itself: it wraps the configuration of burn's own optimiser and, at each parameter update,
//! builds that optimiser with the momentum the schedule gives for the step, then lets burn's
//! code do the update. The update rule stays burn's; only the coefficient changes, which is
//! what PyTorch's `OneCycleLR(cycle_momentum=True)` does to `SGD`'s `momentum` and
//! `Adam`'s `betas[0]`.
//!
//! The step is counted per parameter, in the optimiser state (so it is saved in burn's
//! optimiser record and a checkpoint resumes it): it is the number of updates that parameter
//! has had, which is the global step whenever every parameter gets a gradient at every step
//! (ordinary training). A parameter that is frozen for a while lags behind.

use burn::optim::grad_clipping::GradientClipping;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    join_path, Adam, AdamConfig, AdamW, AdamWConfig, LearningRate, Optimizer, RecordState, Sgd,
    SgdConfig, StateSink, StateSource,
};
use burn::tensor::{Device, Tensor};
use onecycle_core::Schedule;

/// A burn optimiser configuration whose momentum coefficient can be set per step.
pub trait MomentumOptimizer: Clone + Send + Sync + 'static {
    /// burn's optimiser it builds.
    type Optim: Optimizer;

    /// The optimiser with momentum (β₁ for Adam) `momentum`, or the configured one for `None`.
    fn build_with(&self, momentum: Option<f64>) -> Self::Optim;

    /// The gradient clipping the configuration asks for, which burn applies on the
    /// [`ModuleOptimizer`](burn::optim::ModuleOptimizer) its `init()` builds (its `build()`
    /// leaves it out); [`Cycled::init`] applies it the same way.
    fn grad_clipping(&self) -> Option<GradientClipping>;
}

/// burn's SGD with momentum: the dampening and Nesterov flag of `momentum` are kept, its
/// `momentum` value is replaced by the schedule's. burn's dampening default is 0.1 (PyTorch's
/// is 0): set `dampening: 0.0` to match PyTorch.
#[derive(Clone, Debug)]
pub struct SgdMomentum {
    /// SGD without momentum: weight decay.
    pub sgd: SgdConfig,
    /// The momentum, whose coefficient the schedule overrides.
    pub momentum: MomentumConfig,
}

impl MomentumOptimizer for SgdMomentum {
    type Optim = Sgd;

    fn build_with(&self, momentum: Option<f64>) -> Sgd {
        let mut m = self.momentum.clone();
        if let Some(value) = momentum {
            m.momentum = value;
        }
        self.sgd.clone().with_momentum(Some(m)).build()
    }

    fn grad_clipping(&self) -> Option<GradientClipping> {
        self.sgd.init().grad_clipping().cloned()
    }
}

impl MomentumOptimizer for AdamConfig {
    type Optim = Adam;

    fn build_with(&self, momentum: Option<f64>) -> Adam {
        match momentum {
            // burn keeps β₁ as f32; the schedule's f64 is rounded once, here.
            #[allow(clippy::cast_possible_truncation)]
            Some(beta_1) => self.clone().with_beta_1(beta_1 as f32).build(),
            None => self.build(),
        }
    }

    fn grad_clipping(&self) -> Option<GradientClipping> {
        self.init().grad_clipping().cloned()
    }
}

impl MomentumOptimizer for AdamWConfig {
    type Optim = AdamW;

    fn build_with(&self, momentum: Option<f64>) -> AdamW {
        match momentum {
            #[allow(clippy::cast_possible_truncation)]
            Some(beta_1) => self.clone().with_beta_1(beta_1 as f32).build(),
            None => self.build(),
        }
    }

    fn grad_clipping(&self) -> Option<GradientClipping> {
        self.init().grad_clipping().cloned()
    }
}

/// burn's optimiser `C` with its momentum / β₁ taken from `schedule` at every step.
///
/// [`Cycled::init`] gives the [`ModuleOptimizer`](burn::optim::ModuleOptimizer) burn's
/// `Learner` takes, with the configuration's gradient clipping applied as burn's own
/// `init()` applies it ([`ModuleOptimizer::from`](burn::optim::ModuleOptimizer) alone would
/// leave the clipping out). A schedule without momentum (a baseline) leaves the configured
/// value in place.
#[derive(Clone, Debug)]
pub struct Cycled<C, S> {
    config: C,
    schedule: S,
}

impl<C: MomentumOptimizer, S: Schedule<f64>> Cycled<C, S> {
    /// `config`'s optimiser, cycled by `schedule`.
    pub fn new(config: C, schedule: S) -> Self {
        Self { config, schedule }
    }

    /// The whole-module optimiser, with the gradient clipping `config` asks for (as burn's
    /// `init()` applies it: on the `ModuleOptimizer`, before the update).
    pub fn init(self) -> burn::optim::ModuleOptimizer
    where
        S: Clone + Send + Sync + 'static,
    {
        let clipping = self.config.grad_clipping();
        let optim = burn::optim::ModuleOptimizer::from(self);
        match clipping {
            Some(c) => optim.with_grad_clipping(c),
            None => optim,
        }
    }

    /// The momentum (β₁) used for a parameter's update number `step` (from 0), or `None`
    /// for the configured one.
    pub fn momentum_at(&self, step: u64) -> Option<f64> {
        self.schedule
            .momentum(u32::try_from(step).unwrap_or(u32::MAX))
    }
}

/// A parameter's state under [`Cycled`]: its update count and burn's own optimiser state.
#[derive(Clone)]
pub struct CycledState<T> {
    /// Updates applied to this parameter so far.
    pub step: u64,
    /// burn's optimiser state for the parameter.
    pub inner: T,
}

const STEP_LEAF: &str = "onecycle_step";
const INNER_LEAF: &str = "inner";

impl<T: RecordState> RecordState for CycledState<T> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, STEP_LEAF, self.step.into());
        self.inner
            .state_flatten(&join_path(prefix, INNER_LEAF), out);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let step = u64::try_from(src.take_scalar(prefix, STEP_LEAF)?).ok()?;
        let inner = T::state_unflatten(&join_path(prefix, INNER_LEAF), src, device)?;
        Some(Self { step, inner })
    }
}

impl<C, S> Optimizer for Cycled<C, S>
where
    C: MomentumOptimizer,
    S: Schedule<f64> + Clone + Send + Sync + 'static,
{
    type State<const D: usize> = CycledState<<C::Optim as Optimizer>::State<D>>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (step, inner) = match state {
            Some(s) => (s.step, Some(s.inner)),
            None => (0, None),
        };
        let optim = self.config.build_with(self.momentum_at(step));
        let (tensor, inner) = optim.step(lr, tensor, grad, inner);
        let state = inner.map(|inner| CycledState {
            step: step.saturating_add(1),
            inner,
        });
        (tensor, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        CycledState {
            step: state.step,
            inner: <C::Optim as Optimizer>::to_device(state.inner, device),
        }
    }
}
