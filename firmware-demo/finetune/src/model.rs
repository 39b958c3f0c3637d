//! The model: a two-layer perceptron over 14×14 digits, `f32`, fixed-size arrays.
//!
//! `logits = W2 · relu(W1 · x + b1) + b2`, with `x` the pixels scaled to `[0, 1]`.
//! The loss is softmax cross-entropy. Parameters live in one flat array (so that
//! the optimizer, the blob and the checksum see one slice) with named views.

/// Input pixels: 14×14 (MNIST downsampled 2×2).
pub const INPUTS: usize = 14 * 14;
/// Hidden ReLU units.
pub const HIDDEN: usize = 32;
/// Classes (digits 0–9).
pub const OUTPUTS: usize = 10;

/// Offset of `W1` (`HIDDEN × INPUTS`, row-major: one row per hidden unit).
pub const W1: usize = 0;
/// Offset of `b1` (`HIDDEN`).
pub const B1: usize = W1 + HIDDEN * INPUTS;
/// Offset of `W2` (`OUTPUTS × HIDDEN`, row-major).
pub const W2: usize = B1 + HIDDEN;
/// Offset of `b2` (`OUTPUTS`).
pub const B2: usize = W2 + OUTPUTS * HIDDEN;
/// Total number of parameters.
pub const N_PARAMS: usize = B2 + OUTPUTS;

/// All parameters of the model (also used, same shape, for momentum buffers).
#[derive(Clone, PartialEq)]
pub struct Params(pub [f32; N_PARAMS]);

impl Params {
    /// All zeros.
    #[must_use]
    pub const fn zeroed() -> Self {
        Self([0.0; N_PARAMS])
    }

    /// The flat parameter array.
    #[must_use]
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// The flat parameter array, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl core::fmt::Debug for Params {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Params({} f32, checksum {:#010x})",
            N_PARAMS,
            crate::checksum(self)
        )
    }
}

/// Pixels (0–255) to network inputs in `[0, 1]`.
pub fn scale_input(pixels: &[u8; INPUTS], x: &mut [f32; INPUTS]) {
    for (xi, &p) in x.iter_mut().zip(pixels.iter()) {
        *xi = f32::from(p) * (1.0 / 255.0);
    }
}

/// Activations of one forward pass, kept for the backward pass.
pub struct Forward {
    /// Hidden activations after ReLU.
    pub hidden: [f32; HIDDEN],
    /// Output logits.
    pub logits: [f32; OUTPUTS],
}

/// Forward pass for one input.
#[must_use]
pub fn forward(p: &Params, x: &[f32; INPUTS]) -> Forward {
    let w = &p.0;
    let mut hidden = [0.0f32; HIDDEN];
    for (j, h) in hidden.iter_mut().enumerate() {
        let row = &w[W1 + j * INPUTS..W1 + (j + 1) * INPUTS];
        let mut acc = w[B1 + j];
        for (&wi, &xi) in row.iter().zip(x.iter()) {
            acc += wi * xi;
        }
        *h = if acc > 0.0 { acc } else { 0.0 };
    }
    let mut logits = [0.0f32; OUTPUTS];
    for (k, l) in logits.iter_mut().enumerate() {
        let row = &w[W2 + k * HIDDEN..W2 + (k + 1) * HIDDEN];
        let mut acc = w[B2 + k];
        for (&wi, &hi) in row.iter().zip(hidden.iter()) {
            acc += wi * hi;
        }
        *l = acc;
    }
    Forward { hidden, logits }
}

/// Index of the largest logit (the first one on ties).
#[must_use]
pub fn argmax(logits: &[f32; OUTPUTS]) -> usize {
    let mut best = 0;
    for (k, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = k;
        }
    }
    best
}

/// Softmax probabilities and the cross-entropy loss for `label` (numerically stable).
#[must_use]
pub fn softmax_xent(logits: &[f32; OUTPUTS], label: usize) -> ([f32; OUTPUTS], f32) {
    let mut max = logits[0];
    for &l in logits.iter() {
        if l > max {
            max = l;
        }
    }
    let mut probs = [0.0f32; OUTPUTS];
    let mut sum = 0.0f32;
    for (pr, &l) in probs.iter_mut().zip(logits.iter()) {
        *pr = libm::expf(l - max);
        sum += *pr;
    }
    let inv = 1.0 / sum;
    for pr in probs.iter_mut() {
        *pr *= inv;
    }
    let loss = libm::logf(sum) - (logits[label] - max);
    (probs, loss)
}

/// Adds `scale ×` the gradient of the loss for one sample to `acc` and returns the loss.
///
/// `scale` is typically `1 / batch_size`; `acc` is typically the momentum buffer,
/// already multiplied by the momentum, so no separate gradient buffer is needed.
/// With `first_layer == false`, `W1` and `b1` get no gradient (last-layer tuning).
pub fn accumulate_grad(
    p: &Params,
    x: &[f32; INPUTS],
    label: usize,
    scale: f32,
    first_layer: bool,
    acc: &mut Params,
) -> f32 {
    let fwd = forward(p, x);
    let (probs, loss) = softmax_xent(&fwd.logits, label);
    let w = &p.0;
    let g = &mut acc.0;
    // d loss / d logits = probs - onehot.
    let mut dlogits = probs;
    dlogits[label] -= 1.0;
    let mut dhidden = [0.0f32; HIDDEN];
    for (k, &dl) in dlogits.iter().enumerate() {
        let d = dl * scale;
        g[B2 + k] += d;
        for j in 0..HIDDEN {
            g[W2 + k * HIDDEN + j] += d * fwd.hidden[j];
            dhidden[j] += dl * w[W2 + k * HIDDEN + j];
        }
    }
    if first_layer {
        for j in 0..HIDDEN {
            if fwd.hidden[j] <= 0.0 {
                continue;
            }
            let d = dhidden[j] * scale;
            g[B1 + j] += d;
            let row = &mut g[W1 + j * INPUTS..W1 + (j + 1) * INPUTS];
            for (gi, &xi) in row.iter_mut().zip(x.iter()) {
                *gi += d * xi;
            }
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_params() -> Params {
        let mut p = Params::zeroed();
        let mut s = 1u32;
        for w in p.0.iter_mut() {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            *w = ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.2;
        }
        p
    }

    #[test]
    fn softmax_of_equal_logits_is_uniform_with_loss_ln10() {
        let (p, loss) = softmax_xent(&[0.5; OUTPUTS], 3);
        for &q in &p {
            assert!((q - 0.1).abs() < 1e-7);
        }
        assert!((loss - core::f32::consts::LN_10).abs() < 1e-6);
    }

    #[test]
    fn argmax_takes_first_of_ties() {
        let mut l = [0.0; OUTPUTS];
        l[4] = 2.0;
        l[7] = 2.0;
        assert_eq!(argmax(&l), 4);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let p = tiny_params();
        let mut x = [0.0f32; INPUTS];
        for (i, xi) in x.iter_mut().enumerate() {
            *xi = ((i * 37) % 255) as f32 / 255.0;
        }
        let label = 6;
        let mut g = Params::zeroed();
        accumulate_grad(&p, &x, label, 1.0, true, &mut g);
        let loss_at = |q: &Params| {
            let f = forward(q, &x);
            softmax_xent(&f.logits, label).1 as f64
        };
        // One parameter from each block, central differences.
        for &i in &[
            W1 + 3 * INPUTS + 100,
            B1 + 5,
            W2 + 2 * HIDDEN + 7,
            B2 + 6,
            B2 + 1,
        ] {
            let h = 1e-2f32;
            let mut plus = p.clone();
            plus.0[i] += h;
            let mut minus = p.clone();
            minus.0[i] -= h;
            let fd = (loss_at(&plus) - loss_at(&minus)) / (2.0 * h as f64);
            let an = g.0[i] as f64;
            assert!(
                (fd - an).abs() < 2e-3 * (1.0 + an.abs()),
                "param {i}: fd {fd} vs {an}"
            );
        }
    }

    #[test]
    fn last_layer_mode_leaves_first_layer_gradient_zero() {
        let p = tiny_params();
        let x = [0.5f32; INPUTS];
        let mut g = Params::zeroed();
        accumulate_grad(&p, &x, 2, 1.0, false, &mut g);
        assert!(g.0[..W2].iter().all(|&v| v == 0.0));
        assert!(g.0[W2..].iter().any(|&v| v != 0.0));
    }
}
