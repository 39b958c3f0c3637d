//! A convolution's weight gradient through shifted views of a channel-last copy of the image,
//! without a patch matrix.
//!
//! With the image zero-padded and stored channel-last (`x̂[pixel][c_in]`, pixels of the padded
//! `H' × W'` grid in row-major order) and the output gradient spread onto rows of `W'` pixels
//! (`dŷ[c_out][oy·W' + ox]`, zero in the `W' − ow` columns past each row), the weight gradient
//! for kernel row `ky` is one product:
//!
//! `dW[:, ky, kx, ci] += Σ_r dŷ[:, r] · x̂[(r + ky·W') + kx][ci]`
//!
//! Its right-hand side, row `r` = the `k·c_in` values that start at pixel `r + ky·W'`, is a
//! strided view of `x̂` (row stride `c_in`, rows overlapping): `gemm` packs it row by row. The
//! patch-matrix route reads `colᵀ` column-major instead, which `gemm` packs several times more
//! slowly; for 16 channels at 32×32 that product was most of the backward pass (measured: about
//! 28 against 115 GFLOP/s on one thread). The zero columns of `dŷ` make the products for the
//! padded grid's extra pixels add nothing.

use super::gemm::{sgemm, MatRef};
use crate::nn::geometry::Conv2dGeometry;

/// Per-thread buffers of the shifted-view weight gradient for one geometry and input size.
pub(crate) struct ShiftedWeightGrad {
    g: Conv2dGeometry,
    hw: (usize, usize),
    out: (usize, usize),
    /// The padded image, channel-last, plus `k − 1` zero pixels that the last rows' views
    /// reach past the grid. Padding pixels are never written, so they stay zero.
    x_hat: Vec<f32>,
    /// The output gradient on rows of `W'` pixels; the extra columns are never written.
    dy_hat: Vec<f32>,
    /// The weight gradient so far, laid out `[c_out][ky][kx][c_in]`.
    dw_hat: Vec<f32>,
}

impl ShiftedWeightGrad {
    /// Whether this route is the faster one for a geometry with `(oh, ow)` outputs: at least 8
    /// input channels and 256 output pixels (measured on one thread: 16→16 channels at 32×32
    /// about 4× faster, 32→32 at 16×16 about 2×; 64→64 at 8×8 and 3 input channels slower).
    /// A speed choice only: both routes give the same gradient up to rounding.
    pub(crate) fn suits(g: &Conv2dGeometry, (oh, ow): (usize, usize)) -> bool {
        g.kernel >= 1 && g.c_in >= 8 && oh * ow >= 256
    }

    pub(crate) fn new(g: &Conv2dGeometry, (h, w): (usize, usize)) -> Self {
        let out = g.out_hw(h, w).expect("checked by the caller");
        let (hp, wp) = (h + 2 * g.pad, w + 2 * g.pad);
        Self {
            g: *g,
            hw: (h, w),
            out,
            x_hat: vec![0.0; (hp * wp + g.kernel - 1) * g.c_in],
            dy_hat: vec![0.0; g.c_out * out.0 * wp],
            dw_hat: vec![0.0; g.weight_len()],
        }
    }

    /// Adds one image's weight gradient (`xi`: `c_in × h × w`, `dyi`: `c_out × oh × ow`).
    pub(crate) fn add_image(&mut self, xi: &[f32], dyi: &[f32]) {
        let Self {
            g,
            hw: (h, w),
            out: (oh, ow),
            ..
        } = *self;
        let (ci, kn, pad) = (g.c_in, g.kernel, g.pad);
        let wp = w + 2 * pad;
        for (c, plane) in xi.chunks_exact(h * w).enumerate() {
            for (iy, row) in plane.chunks_exact(w).enumerate() {
                let first = ((iy + pad) * wp + pad) * ci + c;
                let dst = self.x_hat[first..].iter_mut().step_by(ci);
                dst.zip(row).for_each(|(d, v)| *d = *v);
            }
        }
        for (dst, src) in self.dy_hat.chunks_exact_mut(wp).zip(dyi.chunks_exact(ow)) {
            dst[..ow].copy_from_slice(src);
        }
        let rows = oh * wp;
        let dy = MatRef {
            data: &self.dy_hat,
            rs: rows,
            cs: 1,
        };
        let k = g.patch_len();
        for ky in 0..kn {
            let view = MatRef {
                data: &self.x_hat[ky * wp * ci..],
                rs: ci,
                cs: 1,
            };
            let dst = &mut self.dw_hat[ky * kn * ci..];
            sgemm((g.c_out, kn * ci, rows), dst, k, true, dy, view);
        }
    }

    /// Adds the gradient so far into `dw` (laid out `[c_out][c_in][ky][kx]`) and starts again
    /// from zero.
    pub(crate) fn drain_into(&mut self, dw: &mut [f32]) {
        let (ci, kn) = (self.g.c_in, self.g.kernel);
        for (hat, out) in self
            .dw_hat
            .chunks_exact(ci * kn * kn)
            .zip(dw.chunks_exact_mut(ci * kn * kn))
        {
            for (tap, vals) in hat.chunks_exact(ci).enumerate() {
                for (c, v) in vals.iter().enumerate() {
                    out[c * kn * kn + tap] += v;
                }
            }
        }
        self.dw_hat.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive f64 weight gradient `dW[co][ci][ky][kx] = Σ dy[co][oy][ox]·x[ci][oy+ky−pad][ox+kx−pad]`.
    fn naive(g: &Conv2dGeometry, (h, w): (usize, usize), x: &[f32], dy: &[f32]) -> Vec<f64> {
        let (oh, ow) = g.out_hw(h, w).unwrap();
        let kn = g.kernel;
        let mut dw = vec![0.0f64; g.weight_len()];
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                for ky in 0..kn {
                    for kx in 0..kn {
                        let mut s = 0.0;
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let (iy, ix) = (oy + ky, ox + kx);
                                if iy < g.pad || ix < g.pad || iy - g.pad >= h || ix - g.pad >= w {
                                    continue;
                                }
                                let xv = x[(ci * h + iy - g.pad) * w + ix - g.pad];
                                s += f64::from(dy[(co * oh + oy) * ow + ox]) * f64::from(xv);
                            }
                        }
                        dw[((co * g.c_in + ci) * kn + ky) * kn + kx] = s;
                    }
                }
            }
        }
        dw
    }

    #[test]
    fn equals_the_naive_weight_gradient_summed_over_images() {
        // Odd sizes, 5×5 kernels with and without padding, no padding, a 1×1 kernel, and more
        // than one image per drain.
        for (c_in, c_out, kernel, pad, (h, w)) in [
            (3, 4, 3, 1, (5, 7)),
            (2, 3, 5, 2, (6, 4)),
            (4, 2, 3, 0, (5, 6)),
            (2, 2, 5, 0, (7, 6)),
            (3, 2, 1, 0, (4, 5)),
        ] {
            let g = Conv2dGeometry {
                c_in,
                c_out,
                kernel,
                pad,
            };
            let (oh, ow) = g.out_hw(h, w).unwrap();
            let val = |i: usize, m: usize| ((i * 7919) % m) as f32 / m as f32 - 0.5;
            let xs: Vec<f32> = (0..2 * c_in * h * w).map(|i| val(i, 97)).collect();
            let dys: Vec<f32> = (0..2 * c_out * oh * ow).map(|i| val(i, 89)).collect();
            let mut sw = ShiftedWeightGrad::new(&g, (h, w));
            for (xi, dyi) in xs.chunks(c_in * h * w).zip(dys.chunks(c_out * oh * ow)) {
                sw.add_image(xi, dyi);
            }
            let mut dw = vec![1.0f32; g.weight_len()];
            sw.drain_into(&mut dw);
            let (a, b) = xs.split_at(c_in * h * w);
            let (da, db) = dys.split_at(c_out * oh * ow);
            let want: Vec<f64> = naive(&g, (h, w), a, da)
                .iter()
                .zip(naive(&g, (h, w), b, db))
                .map(|(p, q)| 1.0 + p + q)
                .collect();
            for (i, (got, want)) in dw.iter().zip(&want).enumerate() {
                assert!(
                    (f64::from(*got) - want).abs() < 1e-4,
                    "{g:?} dw[{i}]: {got} vs {want}"
                );
            }
            assert!(sw.dw_hat.iter().all(|&v| v == 0.0), "drained");
        }
    }
}
