//! Train-mode batch norm → optional ReLU → 2×2 max-pool, fused over a conv output.
//!
//! The forward pass never materialises the normalised activation: each pooling window is
//! normalised on the fly and only the pooled value and its winner are kept. The backward pass
//! writes the dense batch-norm input gradient in one pass (every element written once, so the
//! destination needs no zeroing), with the same per-element formula as [`super::batchnorm`].

use rayon::prelude::*;

use super::batchnorm::{scale_shift, BatchStats};
use super::maxpool::max4;

/// Index inside an `h × w` plane (row length `w`) of window `(oy, ox)`'s winner `a` (0..4).
#[inline]
fn winner(oy: usize, ox: usize, a: u8, w: usize) -> usize {
    let a = usize::from(a);
    (2 * oy + a / 2) * w + 2 * ox + a % 2
}

/// Forward: pooled `relu?(x·scale + shift)` per plane of `x` (`batch × c × h × w`), and the
/// winners (0..4, row-major in the window, first on ties).
pub(crate) fn forward(
    x: &[f32],
    (c, h, w): (usize, usize, usize),
    stats: &BatchStats,
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
) -> (Vec<f32>, Vec<u8>) {
    let (scale, shift) = scale_shift(&stats.mean, &stats.inv_std, gamma, beta);
    let (oh, ow) = (h / 2, w / 2);
    let planes = x.len() / (h * w);
    let mut out = vec![0.0f32; planes * oh * ow];
    let mut arg = vec![0u8; planes * oh * ow];
    out.par_chunks_mut(oh * ow)
        .zip(arg.par_chunks_mut(oh * ow))
        .zip(x.par_chunks(h * w))
        .enumerate()
        .for_each(|(pi, ((op, ap), xp))| {
            let (s, t) = (scale[pi % c], shift[pi % c]);
            let f = |v: f32| {
                let z = v * s + t;
                if relu {
                    z.max(0.0)
                } else {
                    z
                }
            };
            for oy in 0..oh {
                let r0 = &xp[2 * oy * w..(2 * oy + 1) * w];
                let r1 = &xp[(2 * oy + 1) * w..(2 * oy + 2) * w];
                let orow = &mut op[oy * ow..(oy + 1) * ow];
                let arow = &mut ap[oy * ow..(oy + 1) * ow];
                for (ox, (o, a)) in orow.iter_mut().zip(arow.iter_mut()).enumerate() {
                    let (v, i) = max4(
                        f(r0[2 * ox]),
                        f(r0[2 * ox + 1]),
                        f(r1[2 * ox]),
                        f(r1[2 * ox + 1]),
                    );
                    *o = v;
                    *a = i;
                }
            }
        });
    (out, arg)
}

/// Backward: writes `dL/dx` into every element of `dx`, and adds `dL/dγ`, `dL/dβ` into
/// `dgamma`, `dbeta`, given the pooled-output gradient `dy` and the forward's winners `arg`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    x: &[f32],
    (c, h, w): (usize, usize, usize),
    gamma: &[f32],
    beta: &[f32],
    stats: &BatchStats,
    relu: bool,
    arg: &[u8],
    dy: &[f32],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let (scale, shift) = scale_shift(&stats.mean, &stats.inv_std, gamma, beta);
    let (oh, ow) = (h / 2, w / 2);
    let (hw, pp) = (h * w, oh * ow);
    let planes = x.len() / hw;
    let n = (x.len() / c) as f64;
    // Only winners whose ReLU is open carry gradient: Σ dz and Σ dz·x̂ per channel, summed per
    // plane in f32 and across planes in f64, in a fixed order.
    let active = |v: f32, ch: usize| !(relu && v * scale[ch] + shift[ch] <= 0.0);
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let (m, is) = (stats.mean[ch], stats.inv_std[ch]);
            let mut acc = (0.0f64, 0.0f64);
            for pi in (ch..planes).step_by(c) {
                let xp = &x[pi * hw..(pi + 1) * hw];
                let (ap, dp) = (&arg[pi * pp..(pi + 1) * pp], &dy[pi * pp..(pi + 1) * pp]);
                let (mut sd, mut sdx) = (0.0f32, 0.0f32);
                for oy in 0..oh {
                    for ox in 0..ow {
                        let v = xp[winner(oy, ox, ap[oy * ow + ox], w)];
                        if active(v, ch) {
                            let d = dp[oy * ow + ox];
                            sd += d;
                            sdx += d * ((v - m) * is);
                        }
                    }
                }
                acc.0 += f64::from(sd);
                acc.1 += f64::from(sdx);
            }
            acc
        })
        .collect();
    for (ch, &(sd, sdx)) in sums.iter().enumerate() {
        dbeta[ch] += sd as f32;
        dgamma[ch] += sdx as f32;
    }
    let mean_d: Vec<f32> = sums.iter().map(|s| (s.0 / n) as f32).collect();
    let mean_dx: Vec<f32> = sums.iter().map(|s| (s.1 / n) as f32).collect();
    dx.par_chunks_mut(hw)
        .zip(x.par_chunks(hw))
        .enumerate()
        .for_each(|(pi, (dxp, xp))| {
            let ch = pi % c;
            let (m, is, s) = (stats.mean[ch], stats.inv_std[ch], scale[ch]);
            let (md, mdx) = (mean_d[ch], mean_dx[ch]);
            let grad = |d: f32, v: f32| s * (d - md - (v - m) * is * mdx);
            // Non-winners (and closed ReLUs) get dz = 0 ...
            for (o, &v) in dxp.iter_mut().zip(xp) {
                *o = grad(0.0, v);
            }
            // ... and each open winner its window's gradient.
            let (ap, dp) = (&arg[pi * pp..(pi + 1) * pp], &dy[pi * pp..(pi + 1) * pp]);
            for oy in 0..oh {
                for ox in 0..ow {
                    let idx = winner(oy, ox, ap[oy * ow + ox], w);
                    let v = xp[idx];
                    if active(v, ch) {
                        dxp[idx] = grad(dp[oy * ow + ox], v);
                    }
                }
            }
        });
}
