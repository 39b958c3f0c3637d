//! Optimisers written with dfdx tensor ops (device-generic), whose state is ours to save.
//!
//! dfdx 0.13 keeps its optimisers' state (`Sgd`'s momentum buffers, `Adam`'s moments) in private
//! fields, so a checkpoint could not resume them bit for bit. These follow PyTorch's update rules
//! and expose their state as plain tensors.

use dfdx::prelude::*;

use super::OptimizerKind;

/// PyTorch's Adam/RMSprop defaults.
const BETA2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;
const RMS_ALPHA: f32 = 0.99;
const RMS_EPS: f32 = 1e-8;

/// Default momentum-like value when a step passes `None`.
pub(crate) fn default_momentum(kind: OptimizerKind) -> f64 {
    match kind {
        OptimizerKind::Sgd { .. } | OptimizerKind::Adam | OptimizerKind::AdamW { .. } => 0.9,
        OptimizerKind::RmsProp => 0.0,
    }
}

type P<D> = Tensor<(usize,), f32, D>;

/// Optimiser state: one or two buffers per parameter, plus the step count.
pub(crate) struct Optim<D: Device<f32>> {
    pub kind: OptimizerKind,
    pub step: u64,
    /// SGD momentum / Adam first moment / RMSprop momentum buffer.
    pub buf1: Vec<P<D>>,
    /// Adam second moment / RMSprop square average (empty for SGD).
    pub buf2: Vec<P<D>>,
}

impl<D: Device<f32>> Optim<D> {
    pub(crate) fn new(kind: OptimizerKind, params: &[P<D>]) -> Self {
        let zeros = |p: &P<D>| p.device().zeros_like(p.shape());
        let buf2 = match kind {
            OptimizerKind::Sgd { .. } => Vec::new(),
            _ => params.iter().map(zeros).collect(),
        };
        Self {
            kind,
            step: 0,
            buf1: params.iter().map(zeros).collect(),
            buf2,
        }
    }

    /// Names of the state buffers, for checkpoints: `(buffer index, prefix)`.
    pub(crate) fn buffer_prefixes(&self) -> Vec<&'static str> {
        if self.buf2.is_empty() {
            vec!["optim.buf1"]
        } else {
            vec!["optim.buf1", "optim.buf2"]
        }
    }

    /// One update of every parameter (`grads[i]` is `params[i]`'s gradient) with learning rate
    /// `lr` and momentum-like `momentum`.
    pub(crate) fn update(&mut self, params: &mut [P<D>], grads: &[P<D>], lr: f64, momentum: f64) {
        self.step += 1;
        let (lr, mu) = (lr as f32, momentum as f32);
        let t = self.step as i32;
        for (i, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            let g = g.clone();
            match self.kind {
                OptimizerKind::Sgd {
                    nesterov,
                    weight_decay,
                } => {
                    let g = if weight_decay != 0.0 {
                        g + p.clone() * weight_decay
                    } else {
                        g
                    };
                    let step = if mu != 0.0 {
                        let v = self.buf1[i].clone() * mu + g.clone();
                        self.buf1[i] = v.clone();
                        if nesterov {
                            g + v * mu
                        } else {
                            v
                        }
                    } else {
                        g
                    };
                    *p = p.clone() - step * lr;
                }
                OptimizerKind::Adam | OptimizerKind::AdamW { .. } => {
                    if let OptimizerKind::AdamW { weight_decay } = self.kind {
                        *p = p.clone() * (1.0 - lr * weight_decay);
                    }
                    let m = self.buf1[i].clone() * mu + g.clone() * (1.0 - mu);
                    let v = self.buf2[i].clone() * BETA2 + g.square() * (1.0 - BETA2);
                    self.buf1[i] = m.clone();
                    self.buf2[i] = v.clone();
                    let m_hat = m / (1.0 - mu.powi(t));
                    let v_hat = v / (1.0 - BETA2.powi(t));
                    *p = p.clone() - m_hat / (v_hat.sqrt() + ADAM_EPS) * lr;
                }
                OptimizerKind::RmsProp => {
                    let v =
                        self.buf2[i].clone() * RMS_ALPHA + g.clone().square() * (1.0 - RMS_ALPHA);
                    self.buf2[i] = v.clone();
                    let scaled = g / (v.sqrt() + RMS_EPS);
                    let step = if mu != 0.0 {
                        let b = self.buf1[i].clone() * mu + scaled;
                        self.buf1[i] = b.clone();
                        b
                    } else {
                        scaled
                    };
                    *p = p.clone() - step * lr;
                }
            }
        }
    }
}
