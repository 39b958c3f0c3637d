//! 2×2, stride-2 max-pooling that remembers which of the four inputs won (argmax).
//!
//! Ties go to the first maximum in row-major window order. Odd trailing rows/columns are dropped.

use rayon::prelude::*;

/// Forward pass over `planes` planes of `h × w`; returns the pooled values and the winners
/// (0..4: top-left, top-right, bottom-left, bottom-right).
pub(crate) fn forward(x: &[f32], (h, w): (usize, usize)) -> (Vec<f32>, Vec<u8>) {
    let (oh, ow) = (h / 2, w / 2);
    let planes = x.len() / (h * w);
    let mut y = vec![0.0f32; planes * oh * ow];
    let mut arg = vec![0u8; planes * oh * ow];
    y.par_chunks_mut(oh * ow)
        .zip(arg.par_chunks_mut(oh * ow))
        .zip(x.par_chunks(h * w))
        .for_each(|((yp, ap), xp)| {
            for oy in 0..oh {
                let r0 = &xp[2 * oy * w..];
                let r1 = &xp[(2 * oy + 1) * w..];
                let (yr, ar) = (
                    &mut yp[oy * ow..(oy + 1) * ow],
                    &mut ap[oy * ow..(oy + 1) * ow],
                );
                for (ox, (o, a)) in yr.iter_mut().zip(ar.iter_mut()).enumerate() {
                    let (v, i) = max4(r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]);
                    *o = v;
                    *a = i;
                }
            }
        });
    (y, arg)
}

/// Pools one image's planes of `h × w` (`x`) into `out` (planes of `h/2 × w/2`), values only.
pub(crate) fn pool_image(x: &[f32], (h, w): (usize, usize), out: &mut [f32]) {
    let (oh, ow) = (h / 2, w / 2);
    for (xp, yp) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
        for oy in 0..oh {
            let (r0, r1) = (&xp[2 * oy * w..], &xp[(2 * oy + 1) * w..]);
            for (ox, o) in yp[oy * ow..(oy + 1) * ow].iter_mut().enumerate() {
                *o = max4(r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]).0;
            }
        }
    }
}

/// The maximum of a 2×2 window in row-major order and its index, the first one on ties
/// (a branch-free tournament: each comparison is strict, so the earlier candidate wins ties).
#[inline]
pub(crate) fn max4(c0: f32, c1: f32, c2: f32, c3: f32) -> (f32, u8) {
    let (m01, i01) = if c1 > c0 { (c1, 1) } else { (c0, 0) };
    let (m23, i23) = if c3 > c2 { (c3, 3) } else { (c2, 2) };
    if m23 > m01 {
        (m23, i23)
    } else {
        (m01, i01)
    }
}

/// Backward pass: adds each output gradient onto its winning input in `dx`.
pub(crate) fn backward(dy: &[f32], arg: &[u8], (h, w): (usize, usize), dx: &mut [f32]) {
    let (oh, ow) = (h / 2, w / 2);
    dx.par_chunks_mut(h * w)
        .zip(dy.par_chunks(oh * ow))
        .zip(arg.par_chunks(oh * ow))
        .for_each(|((dxp, dyp), ap)| {
            for oy in 0..oh {
                for ox in 0..ow {
                    let a = usize::from(ap[oy * ow + ox]);
                    let (ry, rx) = (a / 2, a % 2);
                    dxp[(2 * oy + ry) * w + 2 * ox + rx] += dyp[oy * ow + ox];
                }
            }
        });
}
