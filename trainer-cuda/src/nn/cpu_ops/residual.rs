//! The residual join `relu(y + skip)` as one op: one output tensor, a one-byte mask kept for
//! the backward pass, and one masked pass per input gradient (dfdx's `(y + skip).relu()` makes
//! two tensors forward and two gradient passes backward).

use dfdx::prelude::*;

use super::{contiguous, host_vec, put_grad, take_grad};
use crate::nn::geometry::Shape4;
use crate::nn::profile::{Phase, Span};

/// `relu(y + skip)`; gradients flow to both inputs where the sum is positive (the generic
/// layers' rule: ReLU's derivative at 0 is 0).
///
/// # Panics
/// If the shapes differ. (`y` and `skip` may be one tensor: each input's gradient is put back
/// before the next is taken, so it then gets both shares.)
pub fn add_relu<T: Tape<f32, Cpu>>(
    y: Tensor<Shape4, f32, Cpu, T>,
    skip: Tensor<Shape4, f32, Cpu, T>,
) -> Tensor<Shape4, f32, Cpu, T> {
    let shape = *y.shape();
    assert_eq!(shape, *skip.shape(), "add_relu: shapes");
    let (_, c, h, w) = shape;
    let name = move || format!("residual add + ReLU {c}×{h}×{w}");
    let _span = Span::new(Phase::Forward, name);
    let (y, ytape) = contiguous(y).split_tape();
    let (skip, stape) = contiguous(skip).split_tape();
    let mut tape = ytape.merge(stape);
    let mut out = host_vec(&y);
    let mut sv = vec![0.0f32; out.len()];
    skip.copy_into(&mut sv);
    for (o, s) in out.iter_mut().zip(&sv) {
        *o = (*o + s).max(0.0);
    }
    // `relu(v) > 0` exactly where `v > 0`: the mask comes from the output, in its own
    // (vectorisable) pass.
    let mask: Vec<u8> = if T::OWNS_TAPE {
        out.iter().map(|&v| u8::from(v > 0.0)).collect()
    } else {
        Vec::new()
    };
    drop(sv);
    let out = y.device().tensor_from_vec(out, shape);
    if T::OWNS_TAPE {
        let (y_g, s_g, out_g) = (y.clone(), skip.clone(), out.clone());
        tape.add_backward_op(move |grads| {
            let _span = Span::new(Phase::Backward, name);
            let dout = take_grad(grads, &out_g)?;
            for t in [&y_g, &s_g] {
                let mut d = take_grad(grads, t)?;
                // A select, not a branch, so the loop vectorises.
                for ((d, &g), &m) in d.iter_mut().zip(&dout).zip(&mask) {
                    *d += if m != 0 { g } else { 0.0 };
                }
                put_grad(grads, t, d)?;
            }
            put_grad(grads, &out_g, dout)
        });
    }
    out.put_tape(tape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_add_then_relu_forward_and_backward() {
        let dev = Cpu::default();
        let shape = (2, 3, 4, 5);
        let n = 2 * 3 * 4 * 5;
        // Values in a coarse grid, so some sums are exactly 0 (ReLU's kink).
        let val = |i: usize, m: usize| ((i * 37) % m) as f32 * 0.5 - 2.0;
        let y = dev.tensor_from_vec((0..n).map(|i| val(i, 9)).collect(), shape);
        let s = dev.tensor_from_vec((0..n).map(|i| val(i, 7)).collect(), shape);
        let r = dev.tensor_from_vec((0..n).map(|i| val(i, 11) + 0.25).collect(), shape);
        let run = |fused: bool| {
            let grads = Gradients::leaky();
            let (yt, st) = (
                y.clone().traced(grads),
                s.clone().traced(Gradients::leaky()),
            );
            let out = if fused {
                add_relu(yt, st)
            } else {
                (yt + st).relu()
            };
            let values = out.retaped::<NoneTape>().as_vec();
            let g = (out * r.clone()).sum::<(), _>().backward();
            (values, g.get(&y).as_vec(), g.get(&s).as_vec())
        };
        let (fused, chained) = (run(true), run(false));
        assert!(fused.0.iter().any(|&v| v > 0.0));
        // ReLU's kink: index 5 gives y = 0.5·5 − 2 = 0.5 and s = 0.5·3 − 2 = −0.5, a sum of
        // exactly 0, where both take derivative 0.
        assert_eq!((fused.0[5], fused.1[5], fused.2[5]), (0.0, 0.0, 0.0));
        assert_eq!(
            fused, chained,
            "one addition and one max per value: the same bits"
        );
        // Hand check of one value: index 1 gives y = val(1,9) = 0.5·1 − 2 = −1.5 and
        // s = val(1,7) = 0.5·2 − 2 = −1: the sum is negative, so no gradient there.
        assert_eq!((fused.0[1], fused.1[1], fused.2[1]), (0.0, 0.0, 0.0));
    }
}
