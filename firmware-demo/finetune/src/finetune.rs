//! SGD with momentum over a sample source, and accuracy evaluation.

use crate::blob::Blob;
use crate::model::{accumulate_grad, argmax, forward, scale_input, Params, INPUTS, N_PARAMS, W2};
use crate::rng::XorShift32;
use crate::schedule::StepSchedule;

/// Labelled samples, indexable (the blob's splits, or the host's datasets).
pub trait Samples {
    /// Number of samples.
    fn len(&self) -> usize;
    /// `true` when there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Sample `i < len()`: pixels and label; `None` out of range.
    fn get(&self, i: usize) -> Option<(&[u8; INPUTS], usize)>;
}

/// The blob's fine-tuning split.
#[derive(Clone, Copy, Debug)]
pub struct TrainSplit<'a>(pub Blob<'a>);
/// The blob's held-out test split.
#[derive(Clone, Copy, Debug)]
pub struct TestSplit<'a>(pub Blob<'a>);

/// The blob's upright (source-domain) held-out split: the forgetting check.
#[derive(Clone, Copy, Debug)]
pub struct SourceSplit<'a>(pub Blob<'a>);

impl Samples for SourceSplit<'_> {
    fn len(&self) -> usize {
        self.0.n_source()
    }
    fn get(&self, i: usize) -> Option<(&[u8; INPUTS], usize)> {
        self.0.source_sample(i)
    }
}

impl Samples for TrainSplit<'_> {
    fn len(&self) -> usize {
        self.0.n_train()
    }
    fn get(&self, i: usize) -> Option<(&[u8; INPUTS], usize)> {
        self.0.train_sample(i)
    }
}

impl Samples for TestSplit<'_> {
    fn len(&self) -> usize {
        self.0.n_test()
    }
    fn get(&self, i: usize) -> Option<(&[u8; INPUTS], usize)> {
        self.0.test_sample(i)
    }
}

/// Number of correctly classified samples.
#[must_use]
pub fn evaluate<S: Samples + ?Sized>(params: &Params, samples: &S) -> u32 {
    let mut x = [0.0f32; INPUTS];
    let mut correct = 0;
    for i in 0..samples.len() {
        if let Some((px, label)) = samples.get(i) {
            scale_input(px, &mut x);
            if argmax(&forward(params, &x).logits) == label {
                correct += 1;
            }
        }
    }
    correct
}

/// How a fine-tuning run went.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Outcome {
    /// Mean training loss of the first step's batch.
    pub first_loss: f32,
    /// Mean training loss of the last step's batch.
    pub last_loss: f32,
    /// Steps taken.
    pub steps: u32,
}

/// Settings of one training run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RunSpec {
    /// Optimizer steps.
    pub steps: u32,
    /// Samples per step (drawn uniformly with replacement).
    pub batch: u32,
    /// Sampling seed.
    pub seed: u32,
    /// Train the first layer too (else only `W2`, `b2`).
    pub first_layer: bool,
}

/// Runs `spec.steps` steps of SGD with momentum (PyTorch's form, no dampening:
/// `v ← μ_t·v + g`, `w ← w − η_t·v`) on `params`, `(η_t, μ_t)` from `schedule`.
///
/// `velocity` is the momentum buffer (zeroed here). The mini-batch gradient is
/// accumulated straight into it after scaling it by `μ_t`, so no gradient buffer
/// is needed: RAM is two parameter sets. `on_step(step, lr, momentum, loss)` is
/// called after each step with the batch's mean loss.
pub fn fine_tune<S, Sch, Hook>(
    params: &mut Params,
    velocity: &mut Params,
    samples: &S,
    schedule: &Sch,
    spec: RunSpec,
    mut on_step: Hook,
) -> Outcome
where
    S: Samples + ?Sized,
    Sch: StepSchedule + ?Sized,
    Hook: FnMut(u32, f32, f32, f32),
{
    let from = if spec.first_layer { 0 } else { W2 };
    velocity.0.fill(0.0);
    let mut rng = XorShift32::new(spec.seed);
    let batch = spec.batch.max(1);
    let scale = 1.0 / batch as f32;
    let n = u32::try_from(samples.len()).unwrap_or(u32::MAX);
    let mut x = [0.0f32; INPUTS];
    let mut outcome = Outcome {
        first_loss: 0.0,
        last_loss: 0.0,
        steps: 0,
    };
    if n == 0 {
        return outcome;
    }
    for step in 0..spec.steps {
        let (lr, mu) = schedule.at(step);
        for v in &mut velocity.0[from..N_PARAMS] {
            *v *= mu;
        }
        let mut loss = 0.0f32;
        for _ in 0..batch {
            let i = rng.below(n) as usize;
            if let Some((px, label)) = samples.get(i) {
                scale_input(px, &mut x);
                loss += accumulate_grad(params, &x, label, scale, spec.first_layer, velocity);
            }
        }
        for (w, &v) in params.0[from..].iter_mut().zip(&velocity.0[from..]) {
            *w -= lr * v;
        }
        let loss = loss * scale;
        if step == 0 {
            outcome.first_loss = loss;
        }
        outcome.last_loss = loss;
        outcome.steps = step + 1;
        on_step(step, lr, mu, loss);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HIDDEN, OUTPUTS};
    use crate::schedule::ConstantLr;

    /// Two synthetic classes: bright top half vs bright bottom half.
    struct Halves;
    impl Samples for Halves {
        fn len(&self) -> usize {
            2
        }
        fn get(&self, i: usize) -> Option<(&[u8; INPUTS], usize)> {
            static TOP: [u8; INPUTS] = {
                let mut a = [0u8; INPUTS];
                let mut k = 0;
                while k < INPUTS / 2 {
                    a[k] = 255;
                    k += 1;
                }
                a
            };
            static BOTTOM: [u8; INPUTS] = {
                let mut a = [0u8; INPUTS];
                let mut k = INPUTS / 2;
                while k < INPUTS {
                    a[k] = 255;
                    k += 1;
                }
                a
            };
            match i {
                0 => Some((&TOP, 1)),
                1 => Some((&BOTTOM, 7)),
                _ => None,
            }
        }
    }

    fn init() -> Params {
        let mut p = Params::zeroed();
        let mut r = XorShift32::new(3);
        for w in p.0.iter_mut() {
            *w = (r.below(2001) as f32 / 1000.0 - 1.0) * 0.1;
        }
        p
    }

    #[test]
    fn sgd_learns_a_separable_problem() {
        let mut p = init();
        let mut v = Params::zeroed();
        let spec = RunSpec {
            steps: 60,
            batch: 4,
            seed: 1,
            first_layer: true,
        };
        let out = fine_tune(
            &mut p,
            &mut v,
            &Halves,
            &ConstantLr {
                lr: 0.1,
                momentum: 0.9,
            },
            spec,
            |_, _, _, _| {},
        );
        assert_eq!(out.steps, 60);
        assert!(
            out.first_loss > 1.5,
            "starts near ln 10: {}",
            out.first_loss
        );
        assert!(out.last_loss < 0.1, "ends low: {}", out.last_loss);
        assert_eq!(evaluate(&p, &Halves), 2);
    }

    #[test]
    fn last_layer_mode_freezes_the_first_layer() {
        let p0 = init();
        let mut p = p0.clone();
        let mut v = Params::zeroed();
        let spec = RunSpec {
            steps: 5,
            batch: 2,
            seed: 1,
            first_layer: false,
        };
        fine_tune(
            &mut p,
            &mut v,
            &Halves,
            &ConstantLr {
                lr: 0.1,
                momentum: 0.9,
            },
            spec,
            |_, _, _, _| {},
        );
        assert_eq!(p.0[..W2], p0.0[..W2]);
        assert_ne!(p.0[W2..], p0.0[W2..]);
        assert_eq!(W2, HIDDEN * (INPUTS + 1));
        assert_eq!(N_PARAMS - W2, OUTPUTS * (HIDDEN + 1));
    }

    #[test]
    fn one_step_matches_hand_computed_sgd() {
        // With zero weights the logits are zero, probs 0.1: the b2 gradient of one
        // sample with label 1 is 0.1 everywhere except −0.9 at 1; lr 0.5 moves b2 by −lr·g.
        let mut p = Params::zeroed();
        let mut v = Params::zeroed();
        let spec = RunSpec {
            steps: 1,
            batch: 1,
            seed: 1,
            first_layer: true,
        };
        let mut seen = (0, 0.0, 0.0, 0.0);
        fine_tune(
            &mut p,
            &mut v,
            &Halves,
            &ConstantLr {
                lr: 0.5,
                momentum: 0.9,
            },
            spec,
            |s, l, m, loss| {
                seen = (s, l, m, loss);
            },
        );
        let label = if p.0[crate::model::B2 + 1] > 0.0 {
            1
        } else {
            7
        };
        for k in 0..OUTPUTS {
            let want = if k == label { 0.45 } else { -0.05 };
            assert!((p.0[crate::model::B2 + k] - want).abs() < 1e-7, "b2[{k}]");
        }
        assert_eq!((seen.0, seen.1, seen.2), (0, 0.5, 0.9));
        assert!((seen.3 - core::f32::consts::LN_10).abs() < 1e-6);
    }

    #[test]
    fn empty_sample_source_takes_no_steps() {
        struct Empty;
        impl Samples for Empty {
            fn len(&self) -> usize {
                0
            }
            fn get(&self, _: usize) -> Option<(&[u8; INPUTS], usize)> {
                None
            }
        }
        let mut p = init();
        let mut v = Params::zeroed();
        let spec = RunSpec {
            steps: 5,
            batch: 2,
            seed: 1,
            first_layer: true,
        };
        let out = fine_tune(
            &mut p,
            &mut v,
            &Empty,
            &ConstantLr {
                lr: 0.1,
                momentum: 0.9,
            },
            spec,
            |_, _, _, _| {},
        );
        assert_eq!(out.steps, 0);
        assert_eq!(p, init());
    }
}
