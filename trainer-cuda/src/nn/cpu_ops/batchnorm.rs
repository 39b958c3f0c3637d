//! Train-mode batch normalisation over NCHW, fused with an optional ReLU.
//!
//! Statistics are per channel over batch and pixels: each image's plane gets its mean and
//! squared deviations in two passes over it (in [`LANES`] f32 partial sums, vectorisable, added
//! in f64), and the planes' moments are merged per channel in f64, always in the same order, so
//! results do not depend on the thread count. The fused conv block computes the plane moments
//! right after each image's convolution, while its output is in cache. The backward pass recomputes `x̂` and the ReLU mask from the saved input instead
//! of keeping them.

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

/// Independent f32 partial sums per plane: enough for the compiler to vectorise.
const LANES: usize = 8;

/// `Σ f(v)` over one plane: `LANES` f32 partial sums, combined in f64 in a fixed order.
#[inline]
fn plane_sum(r: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = r.chunks_exact(LANES);
    for ch in &mut chunks {
        let ch: &[f32; LANES] = ch.try_into().expect("exact chunk");
        for (a, &v) in acc.iter_mut().zip(ch) {
            *a += f(v);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
    acc.iter().map(|&a| f64::from(a)).sum::<f64>() + f64::from(tail)
}

/// `(Σ g(x, d), Σ g(x, d)·x̂)`-style pair sums over one plane of `x` and `dy`, like [`plane_sum`].
#[inline]
fn plane_sum2(x: &[f32], dy: &[f32], f: impl Fn(f32, f32) -> (f32, f32)) -> (f64, f64) {
    let mut a0 = [0.0f32; LANES];
    let mut a1 = [0.0f32; LANES];
    let mut xc = x.chunks_exact(LANES);
    let mut dc = dy.chunks_exact(LANES);
    for (xs, ds) in (&mut xc).zip(&mut dc) {
        let xs: &[f32; LANES] = xs.try_into().expect("exact chunk");
        let ds: &[f32; LANES] = ds.try_into().expect("exact chunk");
        for i in 0..LANES {
            let (u, v) = f(xs[i], ds[i]);
            a0[i] += u;
            a1[i] += v;
        }
    }
    let (mut t0, mut t1) = (0.0f32, 0.0f32);
    for (&v, &d) in xc.remainder().iter().zip(dc.remainder()) {
        let (u, w) = f(v, d);
        t0 += u;
        t1 += w;
    }
    let s0 = a0.iter().map(|&a| f64::from(a)).sum::<f64>() + f64::from(t0);
    let s1 = a1.iter().map(|&a| f64::from(a)).sum::<f64>() + f64::from(t1);
    (s0, s1)
}

fn channel_iter(x: &[f32], c: usize, hw: usize, ch: usize) -> impl Iterator<Item = &[f32]> {
    x.chunks(c * hw)
        .map(move |img| &img[ch * hw..(ch + 1) * hw])
}

/// Moments of one plane: its mean and `Σ(v − mean)²`, in f64.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Moments {
    mean: f64,
    m2: f64,
}

/// The [`Moments`] of one plane, in two passes over it (it is small enough to stay in cache:
/// callers run this right after writing the plane).
pub(crate) fn plane_moments(r: &[f32]) -> Moments {
    let n = r.len().max(1) as f64;
    let mean = plane_sum(r, |v| v) / n;
    let mf = mean as f32;
    // Deviations from the f32 mean; the f64 correction `(Σ(x − m̃))²/n` removes the rounding
    // of `m̃`, so the result is exact to f32 precision.
    let (sd, ss) = plane_sum2(r, r, |v, _| {
        let d = v - mf;
        (d, d * d)
    });
    Moments {
        mean,
        m2: (ss - sd * sd / n).max(0.0),
    }
}

/// The moments of every plane of `x` (shape `batch × c × hw`), in order.
pub(crate) fn planes_moments(x: &[f32], hw: usize) -> Vec<Moments> {
    x.par_chunks(hw).map(plane_moments).collect()
}

/// Per-channel batch statistics from the moments of every plane (`batch × c`, image-major),
/// each plane holding `hw` values: planes are merged per channel in image order (Chan et al.'s
/// pairwise update, in f64), so the result does not depend on the thread count.
pub(crate) fn stats_from_planes(
    planes: &[Moments],
    (c, hw): (usize, usize),
    eps: f32,
) -> BatchStats {
    let per = hw as f64;
    let (mean, var): (Vec<f32>, Vec<f32>) = (0..c)
        .map(|ch| {
            let (mut n, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
            for p in planes.iter().skip(ch).step_by(c.max(1)) {
                let total = n + per;
                if total == 0.0 {
                    continue;
                }
                let delta = p.mean - mean;
                mean += delta * per / total;
                m2 += p.m2 + delta * delta * n * per / total;
                n = total;
            }
            (mean as f32, (m2 / n.max(1.0)) as f32)
        })
        .unzip();
    let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    BatchStats { mean, var, inv_std }
}

/// Per-channel batch statistics of `x` (shape `batch × c × hw`).
pub(crate) fn stats(x: &[f32], (c, hw): (usize, usize), eps: f32) -> BatchStats {
    stats_from_planes(&planes_moments(x, hw), (c, hw), eps)
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
    let BatchStats { mean, var, inv_std } = stats(x, (c, hw), eps);
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

/// `v ↦ relu?(v·scale[c] + shift[c])` over every plane (of `hw` values) of a
/// `batch × c × hw` array, in place.
pub(crate) fn scale_shift_in_place(
    x: &mut [f32],
    hw: usize,
    scale: &[f32],
    shift: &[f32],
    relu: bool,
) {
    let c = scale.len();
    x.par_chunks_mut(c * hw.max(1))
        .for_each(|img| scale_shift_in_place_planes(img, hw, scale, shift, relu));
}

/// [`scale_shift_in_place`] over one image (`c` planes of `hw` values), on the calling thread.
pub(crate) fn scale_shift_in_place_planes(
    img: &mut [f32],
    hw: usize,
    scale: &[f32],
    shift: &[f32],
    relu: bool,
) {
    for ((plane, &s), &t) in img.chunks_mut(hw.max(1)).zip(scale).zip(shift) {
        for v in plane {
            let z = *v * s + t;
            *v = if relu { z.max(0.0) } else { z };
        }
    }
}

pub(crate) fn scale_shift(
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
) -> (Vec<f32>, Vec<f32>) {
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
            channel_iter(x, c, hw, ch)
                .zip(channel_iter(dy, c, hw, ch))
                .map(|(xr, dr)| {
                    plane_sum2(xr, dr, |v, d| {
                        let d = if relu && v * s + t <= 0.0 { 0.0 } else { d };
                        (d, d * ((v - m) * is))
                    })
                })
                .fold((0.0f64, 0.0f64), |a, b| (a.0 + b.0, a.1 + b.1))
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
                let r = ch * hw..(ch + 1) * hw;
                let k = DxConsts {
                    mean: stats.mean[ch],
                    inv_std: stats.inv_std[ch],
                    scale: scale[ch],
                    shift: shift[ch],
                    mean_d: mean_d[ch],
                    mean_dx: mean_dx[ch],
                };
                if relu {
                    dx_plane::<true>(&mut dxi[r.clone()], &xi[r.clone()], &dyi[r], &k);
                } else {
                    dx_plane::<false>(&mut dxi[r.clone()], &xi[r.clone()], &dyi[r], &k);
                }
            }
        });
}

/// Per-channel constants of the input-gradient pass.
struct DxConsts {
    mean: f32,
    inv_std: f32,
    scale: f32,
    shift: f32,
    mean_d: f32,
    mean_dx: f32,
}

/// `dx += γ·σ⁻¹·(dz − mean(dz) − x̂·mean(dz·x̂))` over one plane, `dz` being `dy` through the
/// ReLU mask when `RELU`.
#[inline]
fn dx_plane<const RELU: bool>(dx: &mut [f32], x: &[f32], dy: &[f32], k: &DxConsts) {
    for ((o, &v), &d) in dx.iter_mut().zip(x).zip(dy) {
        let d = if RELU && v * k.scale + k.shift <= 0.0 {
            0.0
        } else {
            d
        };
        let xhat = (v - k.mean) * k.inv_std;
        *o += k.scale * (d - k.mean_d - xhat * k.mean_dx);
    }
}
