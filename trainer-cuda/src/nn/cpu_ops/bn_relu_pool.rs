//! Train-mode batch norm → optional ReLU → 2×2 max-pool, fused over a conv output.
//!
//! The forward pass never materialises the normalised activation: each pooling window is
//! normalised on the fly and only the pooled value and its winner (position and input value) are
//! kept. The backward pass overwrites the saved conv output with the dense batch-norm input
//! gradient in one pass (each element read and written once, in place), with the same
//! per-element formula as [`super::batchnorm`].

use rayon::prelude::*;

use super::batchnorm::{scale_shift, BatchStats};
use super::maxpool::max4;

/// What the forward pass keeps for the backward pass, one entry per pooled output.
pub(crate) struct Winners {
    /// Which of the window's four inputs won (0..4, row-major in the window, first on ties).
    pub arg: Vec<u8>,
    /// The winner's input value (before normalisation), so the backward pass's per-channel
    /// sums read it contiguously instead of gathering it from the input.
    pub value: Vec<f32>,
}

/// Forward: pooled `relu?(x·scale + shift)` per plane of `x` (`batch × c × h × w`), and the
/// winners.
pub(crate) fn forward(
    x: &[f32],
    (c, h, w): (usize, usize, usize),
    stats: &BatchStats,
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
) -> (Vec<f32>, Winners) {
    let (scale, shift) = scale_shift(&stats.mean, &stats.inv_std, gamma, beta);
    let (oh, ow) = (h / 2, w / 2);
    let planes = x.len() / (h * w);
    let mut out = vec![0.0f32; planes * oh * ow];
    let mut arg = vec![0u8; planes * oh * ow];
    let mut value = vec![0.0f32; planes * oh * ow];
    out.par_chunks_mut(oh * ow)
        .zip(arg.par_chunks_mut(oh * ow))
        .zip(value.par_chunks_mut(oh * ow))
        .zip(x.par_chunks(h * w))
        .enumerate()
        .for_each(|(pi, (((op, ap), vp), xp))| {
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
                let range = oy * ow..(oy + 1) * ow;
                let (orow, arow) = (&mut op[range.clone()], &mut ap[range.clone()]);
                for (ox, ((o, a), wv)) in orow
                    .iter_mut()
                    .zip(arow.iter_mut())
                    .zip(&mut vp[range])
                    .enumerate()
                {
                    let inputs = [r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]];
                    let (v, i) = max4(f(inputs[0]), f(inputs[1]), f(inputs[2]), f(inputs[3]));
                    *o = v;
                    *a = i;
                    *wv = inputs[usize::from(i)];
                }
            }
        });
    (out, Winners { arg, value })
}

/// Backward, in place: on entry `x` holds the forward's input, on return `dL/dx` (every
/// element written once); adds `dL/dγ`, `dL/dβ` into `dgamma`, `dbeta`, given the
/// pooled-output gradient `dy` and the forward's winners.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_in_place(
    x: &mut [f32],
    (c, h, w): (usize, usize, usize),
    gamma: &[f32],
    beta: &[f32],
    stats: &BatchStats,
    relu: bool,
    winners: &Winners,
    dy: &[f32],
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
            let (m, is, s, t) = (stats.mean[ch], stats.inv_std[ch], scale[ch], shift[ch]);
            let mut acc = (0.0f64, 0.0f64);
            for pi in (ch..planes).step_by(c) {
                let range = pi * pp..(pi + 1) * pp;
                let (mut sd, mut sdx) = (0.0f32, 0.0f32);
                for (&v, &d) in winners.value[range.clone()].iter().zip(&dy[range]) {
                    // A select, not a branch: no mispredicted jumps on the ReLU mask.
                    let d = if relu && v * s + t <= 0.0 { 0.0 } else { d };
                    sd += d;
                    sdx += d * ((v - m) * is);
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
    x.par_chunks_mut(hw).enumerate().for_each(|(pi, xp)| {
        let ch = pi % c;
        let (m, is, s) = (stats.mean[ch], stats.inv_std[ch], scale[ch]);
        let (md, mdx) = (mean_d[ch], mean_dx[ch]);
        let grad = |d: f32, v: f32| s * (d - md - (v - m) * is * mdx);
        // Every input as if it lost its window (dz = 0), in one vectorised pass ...
        for v in xp.iter_mut() {
            *v = grad(0.0, *v);
        }
        // ... then each open winner gets its window's gradient, from its saved input value.
        let range = pi * pp..(pi + 1) * pp;
        let (ap, vp, dp) = (
            &winners.arg[range.clone()],
            &winners.value[range.clone()],
            &dy[range],
        );
        for oy in 0..oh {
            for ox in 0..ow {
                let i = oy * ow + ox;
                if active(vp[i], ch) {
                    let a = usize::from(ap[i]);
                    xp[(2 * oy + a / 2) * w + 2 * ox + a % 2] = grad(dp[i], vp[i]);
                }
            }
        }
    });
}
