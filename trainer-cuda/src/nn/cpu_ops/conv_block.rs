//! A CNN block in one op: convolution → batch norm (→ ReLU) (→ 2×2 max-pool), in training and
//! in evaluation. The conv output never becomes a dfdx tensor: no host copy of it, no gradient
//! buffer for it; the batch-norm statistics come from each image's plane moments, computed
//! right after its convolution while it is in cache. With the pool, the normalised activation
//! is never stored whole either (in evaluation, not even the conv output).

use dfdx::prelude::*;

use super::{
    batchnorm, bn_name, bn_relu_pool, contiguous, conv_name, eval_affine, host_vec, im2col_conv,
    maxpool, param_vec, put_grad, take_grad, BnBatchStats, ConvSaved, ParamPair,
};
use crate::nn::geometry::{Conv2dGeometry, Shape4};
use crate::nn::profile::{Phase, Span};

fn block_name(g: &Conv2dGeometry, (h, w): (usize, usize), bn: &str, pool: bool) -> String {
    let tail = if pool { " + pool" } else { "" };
    format!("{} + {bn}{tail}", conv_name(g, (h, w)))
}

/// An eval-mode CNN block in one op: convolution → batch norm with running statistics
/// `(mean, var)` → optional ReLU → optional 2×2 max-pool, image by image (with the pool, the
/// conv output is never stored whole). Equal to [`conv2d`](super::conv2d),
/// [`batch_norm2d_eval`](super::batch_norm2d_eval) and [`max_pool2`](super::max_pool2) in
/// sequence (the same arithmetic). Records no backward pass (for inference: callers use it
/// without a tape).
///
/// # Panics
/// If the shapes disagree with `g` or the parameters (callers validate model shapes once).
#[allow(clippy::too_many_arguments)]
pub fn conv_bn_block_eval<T: Tape<f32, Cpu>>(
    x: Tensor<Shape4, f32, Cpu, T>,
    (weight, bias): ParamPair<'_>,
    g: &Conv2dGeometry,
    (gamma, beta): ParamPair<'_>,
    (mean, var): ParamPair<'_>,
    eps: f32,
    relu: bool,
    pool: bool,
) -> Tensor<Shape4, f32, Cpu, T> {
    let (b, c, h, w) = *x.shape();
    assert_eq!(c, g.c_in, "conv_bn_block_eval: input channels");
    let (oh, ow) = g
        .out_hw(h, w)
        .expect("conv_bn_block_eval: kernel larger than padded input");
    let geometry = *g;
    let name = move || {
        let bn = format!("{} (eval)", bn_name(relu));
        block_name(&geometry, (h, w), &bn, pool)
    };
    let _span = Span::new(Phase::Forward, name);
    let (x, tape) = contiguous(x).split_tape();
    let (scale, shift) = eval_affine((gamma, beta), (mean, var), eps);
    let (wv, bv) = (param_vec(weight), param_vec(bias));
    let (ph, pw) = if pool { (oh / 2, ow / 2) } else { (oh, ow) };
    let xv = host_vec(&x);
    let out_len = g.c_out * ph * pw;
    let y = im2col_conv::map_outputs(g, (h, w), &xv, (&wv, &bv), out_len, |y, out| {
        batchnorm::scale_shift_in_place_planes(y, oh * ow, &scale, &shift, relu);
        if pool {
            maxpool::pool_image(y, (oh, ow), out);
        } else {
            out.copy_from_slice(y);
        }
    });
    x.device()
        .tensor_from_vec(y, (b, g.c_out, ph, pw))
        .put_tape(tape)
}

/// A whole CNN block in one op: convolution (as [`conv2d`](super::conv2d)) → train-mode batch
/// norm → optional ReLU → optional 2×2 max-pool (as [`max_pool2`](super::max_pool2)). Equal to
/// the ops in sequence (the same arithmetic), but the conv output never becomes a dfdx tensor
/// and its statistics come from the convolution's pass; with the pool, the normalised
/// activation is never stored either. Returns the output and the batch statistics (for the
/// caller's running averages).
///
/// # Panics
/// If the shapes disagree with `g` or the parameters (callers validate model shapes once).
#[allow(clippy::too_many_arguments)]
pub fn conv_bn_block<T: Tape<f32, Cpu>>(
    x: Tensor<Shape4, f32, Cpu, T>,
    (weight, bias): ParamPair<'_>,
    g: &Conv2dGeometry,
    input_grad: bool,
    (gamma, beta): ParamPair<'_>,
    eps: f32,
    relu: bool,
    pool: bool,
) -> (Tensor<Shape4, f32, Cpu, T>, BnBatchStats) {
    let (b, c, h, w) = *x.shape();
    assert_eq!(c, g.c_in, "conv_bn_block: input channels");
    assert_eq!(
        weight.shape().0,
        g.weight_len(),
        "conv_bn_block: weight length"
    );
    assert_eq!(bias.shape().0, g.c_out, "conv_bn_block: bias length");
    assert_eq!(gamma.shape().0, g.c_out, "conv_bn_block: gamma length");
    assert_eq!(beta.shape().0, g.c_out, "conv_bn_block: beta length");
    let (oh, ow) = g
        .out_hw(h, w)
        .expect("conv_bn_block: kernel larger than padded input");
    let geometry = *g;
    let name = move || block_name(&geometry, (h, w), bn_name(relu), pool);
    let _span = Span::new(Phase::Forward, name);
    let (x, mut tape) = contiguous(x).split_tape();
    let xv = host_vec(&x);
    let wv = param_vec(weight);
    let (mut yc, moments) =
        im2col_conv::forward_with_moments(g, (h, w), &xv, &wv, &param_vec(bias));
    let (gv, bv) = (param_vec(gamma), param_vec(beta));
    let stats = batchnorm::stats_from_planes(&moments, (g.c_out, oh * ow), eps);
    let (y, winners) = if pool {
        let (pooled, winners) =
            bn_relu_pool::forward(&yc, (g.c_out, oh, ow), &stats, &gv, &bv, relu);
        (pooled, Some(winners))
    } else {
        let (scale, shift) = batchnorm::scale_shift(&stats.mean, &stats.inv_std, &gv, &bv);
        let mut y = yc.clone();
        batchnorm::scale_shift_in_place(&mut y, oh * ow, &scale, &shift, relu);
        (y, None)
    };
    let (ph, pw) = if pool { (oh / 2, ow / 2) } else { (oh, ow) };
    let out = x.device().tensor_from_vec(y, (b, g.c_out, ph, pw));
    let public = BnBatchStats {
        mean: stats.mean.clone(),
        var: stats.var.clone(),
    };
    if T::OWNS_TAPE {
        let saved = ConvSaved::new(&x, (weight, bias), g, (xv, wv), input_grad);
        let out_g = out.clone();
        let (gm_g, bt_g) = (gamma.clone(), beta.clone());
        tape.add_backward_op(move |grads| {
            let _span = Span::new(Phase::Backward, name);
            let dy = take_grad(grads, &out_g)?;
            let mut dgm = take_grad(grads, &gm_g)?;
            let mut dbt = take_grad(grads, &bt_g)?;
            let dyc = if let Some(winners) = &winners {
                // The conv output becomes its own gradient (`yc` is ours alone from here on).
                bn_relu_pool::backward_in_place(
                    &mut yc,
                    (saved.g.c_out, oh, ow),
                    &gv,
                    &bv,
                    &stats,
                    relu,
                    winners,
                    &dy,
                    &mut dgm,
                    &mut dbt,
                );
                yc
            } else {
                let mut dyc = vec![0.0f32; yc.len()];
                batchnorm::backward(
                    &yc,
                    (saved.g.c_out, oh * ow),
                    &gv,
                    &bv,
                    &stats,
                    relu,
                    &dy,
                    Some(&mut dyc),
                    &mut dgm,
                    &mut dbt,
                );
                dyc
            };
            put_grad(grads, &gm_g, dgm)?;
            put_grad(grads, &bt_g, dbt)?;
            put_grad(grads, &out_g, dy)?;
            saved.backward(grads, &dyc)
        });
    }
    (out.put_tape(tape), public)
}

#[cfg(test)]
mod tests {
    use super::super::{batch_norm2d_eval, batch_norm2d_train, conv2d, max_pool2};
    use super::*;

    /// Deterministic values in [-1, 1) (xorshift).
    fn values(seed: u32, n: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 2000) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    struct Run {
        y: Vec<f32>,
        mean: Vec<f32>,
        var: Vec<f32>,
        grads: Vec<Vec<f32>>,
    }

    /// The block on a 2×3×h×w batch (3→4 channels), fused or chained, with loss `Σ y·r`.
    fn run(fused: bool, relu: bool, pool: bool, (h, w): (usize, usize)) -> Run {
        let dev = Cpu::default();
        let g = Conv2dGeometry {
            c_in: 3,
            c_out: 4,
            kernel: 3,
            pad: 1,
        };
        let shape = (2, 3, h, w);
        let x = dev.tensor_from_vec(values(1, 2 * 3 * h * w), shape);
        let p = |seed, n| dev.tensor_from_vec(values(seed, n), (n,));
        let (w, b) = (p(2, g.weight_len()), p(3, 4));
        let gamma = dev.tensor_from_vec(values(4, 4).iter().map(|v| v + 1.5).collect(), (4,));
        let beta = p(5, 4);
        let traced = x.clone().traced(Gradients::leaky());
        let (y, s) = if fused {
            conv_bn_block(
                traced,
                (&w, &b),
                &g,
                true,
                (&gamma, &beta),
                1e-5,
                relu,
                pool,
            )
        } else {
            let y = conv2d(traced, &w, &b, &g, true);
            let (y, s) = batch_norm2d_train(y, &gamma, &beta, 1e-5, relu);
            (if pool { max_pool2(y) } else { y }, s)
        };
        let yv = y.retaped::<NoneTape>().as_vec();
        let r = dev.tensor_from_vec(values(6, yv.len()), *y.shape());
        let grads = (y * r).sum::<(), _>().backward();
        Run {
            y: yv,
            mean: s.mean,
            var: s.var,
            grads: vec![
                grads.get(&x).as_vec(),
                grads.get(&w).as_vec(),
                grads.get(&b).as_vec(),
                grads.get(&gamma).as_vec(),
                grads.get(&beta).as_vec(),
            ],
        }
    }

    fn assert_close(what: &str, a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len(), "{what}: length");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                "{what}[{i}]: fused {x} vs chained {y}"
            );
        }
    }

    #[test]
    fn fused_block_equals_conv_then_batch_norm_then_pool() {
        // 5×7 has an odd last row and column, outside every pooling window.
        for (relu, pool, hw) in [
            (true, true, (6, 6)),
            (false, true, (6, 6)),
            (true, true, (5, 7)),
            (true, false, (5, 7)),
            (false, false, (6, 6)),
        ] {
            let (f, c) = (run(true, relu, pool, hw), run(false, relu, pool, hw));
            let (ph, pw) = if pool { (hw.0 / 2, hw.1 / 2) } else { hw };
            assert_eq!(f.y.len(), 2 * 4 * ph * pw);
            assert_eq!(f.y, c.y, "forward output (same arithmetic, so bit-equal)");
            assert_eq!(f.mean, c.mean);
            assert_eq!(f.var, c.var);
            for (name, (a, b)) in ["dx", "dw", "db", "dgamma", "dbeta"]
                .iter()
                .zip(f.grads.iter().zip(&c.grads))
            {
                assert!(b.iter().any(|&v| v != 0.0), "{name}: gradient is all zero");
                assert_close(name, a, b);
            }
        }
    }

    #[test]
    fn fused_eval_block_equals_conv_then_eval_batch_norm_then_pool() {
        let dev = Cpu::default();
        let g = Conv2dGeometry {
            c_in: 3,
            c_out: 4,
            kernel: 3,
            pad: 1,
        };
        let x = dev.tensor_from_vec(values(11, 2 * 3 * 6 * 8), (2, 3, 6, 8));
        let p = |seed, n| dev.tensor_from_vec(values(seed, n), (n,));
        let (w, b, beta, mean) = (p(12, g.weight_len()), p(13, 4), p(14, 4), p(15, 4));
        let plus = |seed, by: f32| {
            let v: Vec<f32> = values(seed, 4).iter().map(|v| v + by).collect();
            dev.tensor_from_vec(v, (4,))
        };
        let (gamma, var) = (plus(16, 1.5), plus(17, 1.2));
        for (relu, pool) in [(true, true), (false, true), (true, false), (false, false)] {
            let fused = conv_bn_block_eval(
                x.clone(),
                (&w, &b),
                &g,
                (&gamma, &beta),
                (&mean, &var),
                1e-5,
                relu,
                pool,
            );
            let y = conv2d(x.clone(), &w, &b, &g, false);
            let y = batch_norm2d_eval(y, (&gamma, &beta), (&mean, &var), 1e-5, relu);
            let chained = if pool { max_pool2(y) } else { y };
            let want = if pool { (2, 4, 3, 4) } else { (2, 4, 6, 8) };
            assert_eq!(fused.shape(), &want);
            assert_eq!(
                fused.as_vec(),
                chained.as_vec(),
                "same arithmetic, so bit-equal"
            );
            // And against the generic layers (dfdx ops, another summation order).
            let gy = crate::nn::generic::conv2d(x.clone(), &w, &b, &g);
            let gy = crate::nn::generic::batch_norm2d_eval(gy, &gamma, &beta, &mean, &var, 1e-5);
            let gy = if relu { gy.relu() } else { gy };
            let gy = if pool {
                crate::nn::generic::max_pool2(gy)
            } else {
                gy
            };
            assert_close("generic eval block", &fused.as_vec(), &gy.as_vec());
        }
    }
}
