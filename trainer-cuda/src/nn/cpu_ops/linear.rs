//! A linear layer `y = x·Wᵀ + b` (optionally followed by ReLU) on the `gemm` kernel, with its
//! backward pass: the op [`linear`] and the kernels it runs.
//!
//! `W` is stored as PyTorch stores it, `fout × fin` row-major. Each product is one `gemm` call
//! on the rayon threads, which sums every output value in the same order whatever their number
//! (see [`sgemm_parallel`]); the bias and ReLU pass goes by fixed blocks of [`ROWS`] rows. Runs
//! and resumes stay bit-identical.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::gemm::{sgemm_parallel, MatRef};
use super::{contiguous, host_vec, param_vec, put_grad, take_grad, Grads};
use crate::nn::profile::{timed, Phase, Span};

/// Rows per parallel block of the bias and ReLU pass.
const ROWS: usize = 16;

/// The profile's name for a linear layer.
fn name(fin: usize, fout: usize, relu: bool) -> String {
    format!("linear {fin}→{fout}{}", if relu { " + ReLU" } else { "" })
}

/// `y[b×fout] = x[b×fin]·wᵀ + bias`, then ReLU when `relu`.
pub(crate) fn forward(x: &[f32], w: &[f32], bias: &[f32], fin: usize, relu: bool) -> Vec<f32> {
    let fout = bias.len();
    let batch = x.len() / fin.max(1);
    let mut y = vec![0.0f32; batch * fout];
    if fout == 0 || batch == 0 {
        return y;
    }
    // wᵀ: element (k, n) is w[n·fin + k].
    let wt = MatRef {
        data: w,
        rs: 1,
        cs: fin,
    };
    let xm = MatRef {
        data: x,
        rs: fin,
        cs: 1,
    };
    sgemm_parallel((batch, fout, fin), &mut y, fout, false, xm, wt);
    y.par_chunks_mut(ROWS * fout).for_each(|yb| {
        for row in yb.chunks_exact_mut(fout) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
                if relu && *v < 0.0 {
                    *v = 0.0;
                }
            }
        }
    });
    y
}

/// Accumulates the gradients of [`forward`] for the output gradient `dy` (already masked by
/// the ReLU): `dw += dyᵀ·x`, `db += Σ_rows dy` and, when given, `dx += dy·w`.
pub(crate) fn backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    fin: usize,
    (dx, dw, db): (Option<&mut [f32]>, &mut [f32], &mut [f32]),
) {
    let fout = db.len();
    let batch = dy.len() / fout.max(1);
    if fout == 0 || batch == 0 {
        return;
    }
    if let Some(dx) = dx {
        let dym = MatRef {
            data: dy,
            rs: fout,
            cs: 1,
        };
        let wm = MatRef {
            data: w,
            rs: fin,
            cs: 1,
        };
        sgemm_parallel((batch, fin, fout), dx, fin, true, dym, wm);
    }
    // dyᵀ: element (o, i) is dy[i·fout + o].
    let dyt = MatRef {
        data: dy,
        rs: 1,
        cs: fout,
    };
    let xm = MatRef {
        data: x,
        rs: fin,
        cs: 1,
    };
    sgemm_parallel((fout, fin, batch), dw, fin, true, dyt, xm);
    for row in dy.chunks_exact(fout) {
        for (d, g) in db.iter_mut().zip(row) {
            *d += g;
        }
    }
}

/// A linear layer on a `batch × fin` activation with flat weights `fout·fin` (PyTorch's
/// order) and biases `fout`, then ReLU when `relu`; gradients flow to `weight`, `bias` and,
/// when `input_grad`, to `x`.
///
/// # Panics
/// If the shapes disagree (callers validate model shapes once at construction).
pub fn linear<T: Tape<f32, Cpu>>(
    x: Tensor<(usize, usize), f32, Cpu, T>,
    weight: &Tensor<(usize,), f32, Cpu>,
    bias: &Tensor<(usize,), f32, Cpu>,
    relu: bool,
    input_grad: bool,
) -> Tensor<(usize, usize), f32, Cpu, T> {
    let (b, fin) = *x.shape();
    let fout = bias.shape().0;
    assert_eq!(weight.shape().0, fin * fout, "linear: weight length");
    let (x, mut tape) = contiguous(x).split_tape();
    let (xv, wv, out) = timed(
        Phase::Forward,
        || name(fin, fout, relu),
        || {
            let xv = host_vec(&x);
            let wv = param_vec(weight);
            let y = forward(&xv, &wv, &param_vec(bias), fin, relu);
            (xv, wv, x.device().tensor_from_vec(y, (b, fout)))
        },
    );
    if T::OWNS_TAPE {
        let (x_g, w_g, b_g, out_g) = (x.clone(), weight.clone(), bias.clone(), out.clone());
        let y = relu.then(|| host_vec(&out));
        tape.add_backward_op(move |grads: &mut Grads| {
            let _span = Span::new(Phase::Backward, || name(fin, fout, relu));
            // The output's gradient is masked in place by the ReLU (the output is not read
            // again).
            let mut dy = take_grad(grads, &out_g)?;
            if let Some(y) = &y {
                for (d, &v) in dy.iter_mut().zip(y) {
                    if v <= 0.0 {
                        *d = 0.0;
                    }
                }
            }
            let mut dw = take_grad(grads, &w_g)?;
            let mut db = take_grad(grads, &b_g)?;
            let mut dx = if input_grad {
                Some(take_grad(grads, &x_g)?)
            } else {
                None
            };
            backward(&xv, &wv, &dy, fin, (dx.as_deref_mut(), &mut dw, &mut db));
            put_grad(grads, &w_g, dw)?;
            put_grad(grads, &b_g, db)?;
            if let Some(dx) = dx {
                put_grad(grads, &x_g, dx)?;
            }
            put_grad(grads, &out_g, dy)
        });
    }
    out.put_tape(tape)
}
