//! SGD with momentum for candle, the optimiser of Smith's own 1cycle experiments.
//!
//! candle-nn's `SGD` has no momentum, and the crate that offers one (`candle-optimisers`
//! 0.10) is built on candle 0.10, whose `Optimizer` trait is not candle 0.11's. This is
//! PyTorch's `torch.optim.SGD` update, per parameter `w` with gradient `g`:
//!
//! ```text
//! g ← g + weight_decay·w
//! v ← g                                  (first update)
//! v ← momentum·v + (1 − dampening)·g     (later updates)
//! d ← g + momentum·v  (Nesterov)  or  v
//! w ← w − lr·d
//! ```

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::optim::Optimizer;

use crate::CycleMomentum;

/// The settings of [`SgdMomentum`], with PyTorch's names and meaning.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamsSgdMomentum {
    /// Learning rate (a [`Driver`](crate::Driver) sets it every update).
    pub lr: f64,
    /// Momentum coefficient in `[0, 1)` (a 1cycle [`Driver`](crate::Driver) cycles it).
    pub momentum: f64,
    /// Dampening of the gradient's share of the velocity, in `[0, 1]` (PyTorch: 0).
    pub dampening: f64,
    /// L2 weight decay added to the gradient (PyTorch's SGD `weight_decay`).
    pub weight_decay: f64,
    /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`, as in PyTorch).
    pub nesterov: bool,
}

impl Default for ParamsSgdMomentum {
    /// lr 0.01, momentum 0.9, no dampening, no weight decay, no Nesterov.
    fn default() -> Self {
        Self {
            lr: 0.01,
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

impl ParamsSgdMomentum {
    /// Why these settings cannot train, or `None`; the message names the fix.
    fn problem(&self) -> Option<String> {
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return Some(format!("lr {} must be finite and >= 0", self.lr));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Some(format!("momentum {} must be in [0, 1)", self.momentum));
        }
        if !(0.0..=1.0).contains(&self.dampening) {
            return Some(format!("dampening {} must be in [0, 1]", self.dampening));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Some(format!(
                "weight_decay {} must be finite and >= 0",
                self.weight_decay
            ));
        }
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return Some(
                "Nesterov momentum needs momentum > 0 and dampening 0 (as in PyTorch)".into(),
            );
        }
        None
    }
}

/// SGD with (optionally Nesterov) momentum and weight decay: PyTorch's update, as a
/// candle-nn [`Optimizer`] whose momentum a [`Driver`](crate::Driver) can cycle.
///
/// ```
/// use candle_core::{DType, Device, Var};
/// use candle_nn::optim::Optimizer;
/// use onecycle_candle::{Driver, ParamsSgdMomentum, SgdMomentum};
/// use onecycle_core::{OneCycleConfig, Schedule};
///
/// let w = Var::zeros(1, DType::F32, &Device::Cpu)?;
/// let sgd = SgdMomentum::new(vec![w.clone()], ParamsSgdMomentum::default())?;
/// // PyTorch's preset: momentum cycles 0.95 → 0.85 → 0.95 against the lr.
/// let mut driver = Driver::one_cycle(OneCycleConfig::pytorch(0.05, 200), sgd)?;
/// for _ in 0..200 {
///     driver.backward_step(&((w.as_tensor() - 3.0)?.sqr()?.sum_all()? * 0.5)?)?;
/// }
/// assert!((w.as_tensor().to_vec1::<f32>()?[0] - 3.0).abs() < 1e-2);
/// // The last update used the schedule's momentum for step 199, near PyTorch's final 0.95.
/// assert_eq!(Some(driver.optimizer().params().momentum), driver.schedule().momentum(199));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SgdMomentum {
    vars: Vec<(Var, Option<Tensor>)>,
    params: ParamsSgdMomentum,
}

impl SgdMomentum {
    /// The settings the next update uses.
    pub fn params(&self) -> &ParamsSgdMomentum {
        &self.params
    }

    /// Replaces the settings.
    ///
    /// # Errors
    /// The settings' problem (a negative lr, momentum outside `[0, 1)`, ...); `self` is
    /// unchanged then.
    pub fn set_params(&mut self, params: ParamsSgdMomentum) -> candle_core::Result<()> {
        if let Some(problem) = params.problem() {
            candle_core::bail!("SgdMomentum: {problem}");
        }
        self.params = params;
        Ok(())
    }

    /// The velocity buffer of each variable (in the order given to [`Optimizer::new`]),
    /// `None` before its first update.
    pub fn velocities(&self) -> impl Iterator<Item = Option<&Tensor>> {
        self.vars.iter().map(|(_, v)| v.as_ref())
    }
}

impl Optimizer for SgdMomentum {
    type Config = ParamsSgdMomentum;

    /// Keeps the floating-point variables, as candle-nn's optimisers do.
    ///
    /// # Errors
    /// The settings' problem (a negative lr, momentum outside `[0, 1)`, ...).
    fn new(vars: Vec<Var>, params: ParamsSgdMomentum) -> candle_core::Result<Self> {
        if let Some(problem) = params.problem() {
            candle_core::bail!("SgdMomentum: {problem}");
        }
        let vars = vars
            .into_iter()
            .filter(|v| v.dtype().is_float())
            .map(|v| (v, None))
            .collect();
        Ok(Self { vars, params })
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        let p = &self.params;
        for (var, velocity) in &mut self.vars {
            let Some(grad) = grads.get(var) else { continue };
            let mut g = grad.clone();
            if p.weight_decay != 0.0 {
                g = (g + var.as_tensor().affine(p.weight_decay, 0.0)?)?;
            }
            if p.momentum != 0.0 {
                let v = match velocity.take() {
                    None => g.clone(),
                    Some(v) => (v.affine(p.momentum, 0.0)? + g.affine(1.0 - p.dampening, 0.0)?)?,
                };
                g = if p.nesterov {
                    (g + v.affine(p.momentum, 0.0)?)?
                } else {
                    v.clone()
                };
                *velocity = Some(v);
            }
            var.set(&(var.as_tensor() - g.affine(p.lr, 0.0)?)?)?;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.params.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
    }
}

/// The momentum coefficient, cycled by a 1cycle [`Driver`](crate::Driver).
impl CycleMomentum for SgdMomentum {
    const NAME: &'static str = "SgdMomentum";

    fn momentum(&self) -> Option<f64> {
        Some(self.params.momentum)
    }

    fn set_momentum(&mut self, momentum: f64) {
        self.params.momentum = momentum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    /// Three updates of `w = [1, -2]` under the loss `sum(w²)/2` (gradient `w`), worked by
    /// hand from PyTorch's update rule.
    fn three_updates(params: ParamsSgdMomentum) -> Vec<Vec<f32>> {
        let w = Var::new(&[1f32, -2.0], &Device::Cpu).unwrap();
        let mut sgd = SgdMomentum::new(vec![w.clone()], params).unwrap();
        (0..3)
            .map(|_| {
                let loss = (w.as_tensor().sqr().unwrap().sum_all().unwrap() * 0.5).unwrap();
                sgd.backward_step(&loss).unwrap();
                w.as_tensor().to_vec1::<f32>().unwrap()
            })
            .collect()
    }

    fn close(got: &[Vec<f32>], want: &[[f64; 2]]) {
        for (g, w) in got.iter().zip(want) {
            for (g, w) in g.iter().zip(w) {
                assert!((f64::from(*g) - w).abs() < 1e-6, "{got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn heavy_ball_matches_pytorch_by_hand() {
        // lr 0.1, momentum 0.5, for the first coordinate (w0 = 1):
        // g0 = 1, v0 = 1, w1 = 0.9; g1 = 0.9, v1 = 0.5 + 0.9 = 1.4, w2 = 0.76;
        // g2 = 0.76, v2 = 0.7 + 0.76 = 1.46, w3 = 0.614. The second coordinate is −2× that.
        let params = ParamsSgdMomentum {
            lr: 0.1,
            momentum: 0.5,
            ..ParamsSgdMomentum::default()
        };
        close(
            &three_updates(params),
            &[[0.9, -1.8], [0.76, -1.52], [0.614, -1.228]],
        );
    }

    #[test]
    fn nesterov_dampening_and_weight_decay_match_pytorch_by_hand() {
        // Nesterov, lr 0.1, momentum 0.5, weight decay 1 (g = 2w), w0 = 1:
        // g0 = 2, v0 = 2, d0 = 2 + 1 = 3, w1 = 0.7;
        // g1 = 1.4, v1 = 1 + 1.4 = 2.4, d1 = 1.4 + 1.2 = 2.6, w2 = 0.44;
        // g2 = 0.88, v2 = 1.2 + 0.88 = 2.08, d2 = 0.88 + 1.04 = 1.92, w3 = 0.248.
        let nesterov = ParamsSgdMomentum {
            lr: 0.1,
            momentum: 0.5,
            weight_decay: 1.0,
            nesterov: true,
            ..ParamsSgdMomentum::default()
        };
        close(
            &three_updates(nesterov),
            &[[0.7, -1.4], [0.44, -0.88], [0.248, -0.496]],
        );
        // Dampening 0.5, lr 0.1, momentum 0.5, w0 = 1: v0 = g0 = 1 (PyTorch does not damp
        // the first), w1 = 0.9; v1 = 0.5 + 0.45 = 0.95, w2 = 0.805;
        // v2 = 0.475 + 0.4025 = 0.8775, w3 = 0.71725.
        let damped = ParamsSgdMomentum {
            lr: 0.1,
            momentum: 0.5,
            dampening: 0.5,
            ..ParamsSgdMomentum::default()
        };
        close(
            &three_updates(damped),
            &[[0.9, -1.8], [0.805, -1.61], [0.71725, -1.4345]],
        );
    }

    #[test]
    fn bad_settings_are_refused_with_the_fix() {
        let var = || vec![Var::zeros(2, DType::F32, &Device::Cpu).unwrap()];
        let cases = [
            (
                ParamsSgdMomentum {
                    lr: -1.0,
                    ..Default::default()
                },
                "lr -1",
            ),
            (
                ParamsSgdMomentum {
                    momentum: 1.0,
                    ..Default::default()
                },
                "[0, 1)",
            ),
            (
                ParamsSgdMomentum {
                    dampening: 2.0,
                    ..Default::default()
                },
                "dampening 2",
            ),
            (
                ParamsSgdMomentum {
                    weight_decay: f64::NAN,
                    ..Default::default()
                },
                "weight_decay",
            ),
            (
                ParamsSgdMomentum {
                    nesterov: true,
                    dampening: 0.1,
                    ..Default::default()
                },
                "dampening 0",
            ),
        ];
        for (params, expected) in cases {
            let err = SgdMomentum::new(var(), params.clone())
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{params:?}: {err}");
        }
        let mut sgd = SgdMomentum::new(var(), ParamsSgdMomentum::default()).unwrap();
        let bad = ParamsSgdMomentum {
            momentum: -0.1,
            ..Default::default()
        };
        assert!(sgd.set_params(bad).is_err());
        assert_eq!(
            sgd.params(),
            &ParamsSgdMomentum::default(),
            "a refused change changes nothing"
        );
    }
}
