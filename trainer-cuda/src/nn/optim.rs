//! Optimisers written with dfdx tensor ops (device-generic), whose state is ours to save.
//!
//! dfdx 0.13 keeps its optimisers' state (`Sgd`'s momentum buffers, `Adam`'s moments) in private
//! fields, so a checkpoint could not resume them bit for bit. These follow PyTorch's update rules
//! and expose their state as plain tensors.

use dfdx::prelude::*;

use super::cpu_ops::host_vec;
use super::{NnDevice, OptimizerKind};

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

/// SGD's hyper-parameters for one update ([`NnDevice::nn_sgd_step`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep {
    /// Learning rate.
    pub lr: f32,
    /// Momentum μ (0: none).
    pub momentum: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
}

/// One SGD update of `p` (PyTorch's rule) with dfdx ops, on any device:
/// `g' = g + wd·p`, `v = μ·v + g'`, `p -= lr·(μ ≠ 0 ? (nesterov ? g' + μ·v : v) : g')`.
pub(crate) fn sgd_generic<D: Device<f32>>(p: &mut P<D>, g: &P<D>, buf: &mut P<D>, s: SgdStep) {
    let g = g.clone();
    let g = if s.weight_decay != 0.0 {
        g + p.clone() * s.weight_decay
    } else {
        g
    };
    let step = if s.momentum != 0.0 {
        let v = buf.clone() * s.momentum + g.clone();
        *buf = v.clone();
        if s.nesterov {
            g + v * s.momentum
        } else {
            v
        }
    } else {
        g
    };
    *p = p.clone() - step * s.lr;
}

/// [`sgd_generic`] in one pass over host copies, the same f32 operations in the same order
/// (so the same bits), without its six intermediate tensors.
pub(crate) fn sgd_fused(p: &mut P<Cpu>, g: &P<Cpu>, buf: &mut P<Cpu>, s: SgdStep) {
    // `host_vec` is a memcpy (dfdx's `as_vec` walks the tensor element by element).
    let mut pv = host_vec(p);
    let gv = host_vec(g);
    let mut bv = if s.momentum != 0.0 {
        host_vec(buf)
    } else {
        Vec::new()
    };
    for (i, (pi, &gi)) in pv.iter_mut().zip(&gv).enumerate() {
        let g = if s.weight_decay != 0.0 {
            gi + *pi * s.weight_decay
        } else {
            gi
        };
        let step = if s.momentum != 0.0 {
            let v = bv[i] * s.momentum + g;
            bv[i] = v;
            if s.nesterov {
                g + v * s.momentum
            } else {
                v
            }
        } else {
            g
        };
        *pi -= step * s.lr;
    }
    p.copy_from(&pv);
    if s.momentum != 0.0 {
        buf.copy_from(&bv);
    }
}

impl<D: NnDevice> Optim<D> {
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
    /// `lr` and momentum-like `momentum`; `fast` lets the CPU fuse SGD's update (same bits).
    pub(crate) fn update(
        &mut self,
        fast: bool,
        params: &mut [P<D>],
        grads: &[P<D>],
        lr: f64,
        momentum: f64,
    ) {
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
                    let s = SgdStep {
                        lr,
                        momentum: mu,
                        weight_decay,
                        nesterov,
                    };
                    D::nn_sgd_step(fast, p, &g, &mut self.buf1[i], s);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn values(seed: u32, n: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn fused_sgd_gives_the_generic_ops_bits() {
        let dev = Cpu::default();
        let n = 1000;
        for (momentum, weight_decay, nesterov) in [
            (0.9, 5e-4, false),
            (0.9, 5e-4, true),
            (0.0, 5e-4, false),
            (0.85, 0.0, false),
        ] {
            let mut p = [0, 1].map(|_| dev.tensor_from_vec(values(1, n), (n,)));
            let mut buf = [0, 1].map(|_| dev.zeros_like(&(n,)));
            for k in 0..5u32 {
                let g = dev.tensor_from_vec(values(10 + k, n), (n,));
                let s = SgdStep {
                    lr: 0.1 + 0.37 * k as f32,
                    momentum,
                    weight_decay,
                    nesterov,
                };
                sgd_generic(&mut p[0], &g, &mut buf[0], s);
                sgd_fused(&mut p[1], &g, &mut buf[1], s);
                let bits = |t: &P<Cpu>| t.as_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&p[0]), bits(&p[1]), "{s:?}: parameters");
                assert_eq!(bits(&buf[0]), bits(&buf[1]), "{s:?}: momentum");
            }
            assert_ne!(
                p[0].as_vec(),
                values(1, n),
                "the updates moved the parameters"
            );
        }
    }
}
