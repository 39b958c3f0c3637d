//! Train-mode batch normalisation over NCHW, fused with an optional ReLU.
//!
//! Statistics are per channel over batch and pixels, accumulated in f64 (two passes). The
//! backward pass recomputes `x̂` and the ReLU mask from the saved input instead of keeping them.

use rayon::prelude::*;

/// Per-channel batch statistics from the forward pass.
#[derive(Clone, Debug)]
pub(crate) struct BatchStats {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Biased variance per channel (divided by `N`).
    pub var: Vec<f32>,
    /// `1 / sqrt(var + eps)` per channel.
    pub inv_std: Vec<f32>,
}

fn channel_iter(x: &[f32], c: usize, hw: usize, ch: usize) -> impl Iterator<Item = &[f32]> {
    x.chunks(c * hw)
        .map(move |img| &img[ch * hw..(ch + 1) * hw])
}

/// Normalises `x` (shape `batch × c × hw`), scales by `gamma`, shifts by `beta`, optionally ReLU.
pub(crate) fn forward(
    x: &[f32],
    (c, hw): (usize, usize),
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    relu: bool,
) -> (Vec<f32>, BatchStats) {
    let n = (x.len() / c) as f64;
    let (mean, var): (Vec<f32>, Vec<f32>) = (0..c)
        .into_par_iter()
        .map(|ch| {
            let s: f64 = channel_iter(x, c, hw, ch)
                .map(|r| r.iter().map(|&v| f64::from(v)).sum::<f64>())
                .sum();
            let m = s / n;
            let ss: f64 = channel_iter(x, c, hw, ch)
                .map(|r| r.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>())
                .sum();
            (m as f32, (ss / n) as f32)
        })
        .unzip();
    let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let (scale, shift) = scale_shift(&mean, &inv_std, gamma, beta);
    let mut y = vec![0.0f32; x.len()];
    y.par_chunks_mut(c * hw)
        .zip(x.par_chunks(c * hw))
        .for_each(|(yi, xi)| {
            for ch in 0..c {
                let (s, t) = (scale[ch], shift[ch]);
                let ys = &mut yi[ch * hw..(ch + 1) * hw];
                for (o, &v) in ys.iter_mut().zip(&xi[ch * hw..(ch + 1) * hw]) {
                    let z = v * s + t;
                    *o = if relu { z.max(0.0) } else { z };
                }
            }
        });
    (y, BatchStats { mean, var, inv_std })
}

fn scale_shift(mean: &[f32], inv_std: &[f32], gamma: &[f32], beta: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let scale: Vec<f32> = gamma.iter().zip(inv_std).map(|(g, s)| g * s).collect();
    let shift = beta
        .iter()
        .zip(mean)
        .zip(&scale)
        .map(|((b, m), s)| b - m * s)
        .collect();
    (scale, shift)
}

/// Backward pass: adds `dL/dx` into `dx`, `dL/dγ` into `dgamma` and `dL/dβ` into `dbeta`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    x: &[f32],
    (c, hw): (usize, usize),
    gamma: &[f32],
    beta: &[f32],
    stats: &BatchStats,
    relu: bool,
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let n = (x.len() / c) as f64;
    let (scale, shift) = scale_shift(&stats.mean, &stats.inv_std, gamma, beta);
    // Σ dz and Σ dz·x̂ per channel, where dz is dy through the ReLU mask.
    let sums: Vec<(f64, f64)> = (0..c)
        .into_par_iter()
        .map(|ch| {
            let (m, is) = (stats.mean[ch], stats.inv_std[ch]);
            let (s, t) = (scale[ch], shift[ch]);
            let mut sd = 0.0f64;
            let mut sdx = 0.0f64;
            for (xr, dr) in channel_iter(x, c, hw, ch).zip(channel_iter(dy, c, hw, ch)) {
                for (&v, &d) in xr.iter().zip(dr) {
                    let d = if relu && v * s + t <= 0.0 { 0.0 } else { d };
                    sd += f64::from(d);
                    sdx += f64::from(d) * f64::from((v - m) * is);
                }
            }
            (sd, sdx)
        })
        .collect();
    for (ch, &(sd, sdx)) in sums.iter().enumerate() {
        dbeta[ch] += sd as f32;
        dgamma[ch] += sdx as f32;
    }
    let Some(dx) = dx else { return };
    let mean_d: Vec<f32> = sums.iter().map(|s| (s.0 / n) as f32).collect();
    let mean_dx: Vec<f32> = sums.iter().map(|s| (s.1 / n) as f32).collect();
    dx.par_chunks_mut(c * hw)
        .zip(x.par_chunks(c * hw))
        .zip(dy.par_chunks(c * hw))
        .for_each(|((dxi, xi), dyi)| {
            for ch in 0..c {
                let (m, is) = (stats.mean[ch], stats.inv_std[ch]);
                let (s, t) = (scale[ch], shift[ch]);
                let r = ch * hw..(ch + 1) * hw;
                for ((o, &v), &d) in dxi[r.clone()].iter_mut().zip(&xi[r.clone()]).zip(&dyi[r]) {
                    let d = if relu && v * s + t <= 0.0 { 0.0 } else { d };
                    let xhat = (v - m) * is;
                    *o += s * (d - mean_d[ch] - xhat * mean_dx[ch]);
                }
            }
        });
}
