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
                for ox in 0..ow {
                    let c = [r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]];
                    let mut best = 0;
                    for (i, v) in c.iter().enumerate().skip(1) {
                        if *v > c[best] {
                            best = i;
                        }
                    }
                    yp[oy * ow + ox] = c[best];
                    ap[oy * ow + ox] = best as u8;
                }
            }
        });
    (y, arg)
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
