//! Convolution as im2col + GEMM, batch-parallel with rayon; backward through col2im.
//!
//! Per image: `y[c_out × P] = W[c_out × K] · col[K × P] + b`, with `K = c_in·k²` and `P` output
//! pixels. The backward pass recomputes `col` (cheaper than keeping `B·K·P` floats alive) or,
//! where that is faster, takes the weight gradient from shifted views of the image (see
//! [`ShiftedWeightGrad`]); it sums weight gradients over fixed groups of images in a fixed
//! order, so results do not depend on the number of threads.

use rayon::prelude::*;

use super::batchnorm::{plane_moments, Moments};
use super::gemm::{sgemm, MatRef};
use super::shifted_wgrad::ShiftedWeightGrad;
use crate::nn::geometry::Conv2dGeometry;

/// Images per backward work item (fixed, so the summation order is thread-count independent).
pub(crate) const GROUP: usize = 8;

/// Calls `f(k, oy, ox_range, src_start)` for every run of in-bounds patch reads: output pixels
/// `(oy, ox)` for `ox` in `ox_range` read image element `src_start + (ox - ox_range.start)`.
#[inline]
fn for_each_run(
    g: &Conv2dGeometry,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    mut f: impl FnMut(usize, usize, std::ops::Range<usize>, usize),
) {
    let kn = g.kernel;
    for ci in 0..g.c_in {
        for ky in 0..kn {
            for kx in 0..kn {
                let k = (ci * kn + ky) * kn + kx;
                let ox0 = g.pad.saturating_sub(kx);
                let ox1 = (w + g.pad).saturating_sub(kx).min(ow);
                if ox0 >= ox1 {
                    continue;
                }
                for oy in 0..oh {
                    let Some(iy) = (oy + ky).checked_sub(g.pad).filter(|&iy| iy < h) else {
                        continue;
                    };
                    let ix0 = ox0 + kx - g.pad;
                    f(k, oy, ox0..ox1, (ci * h + iy) * w + ix0);
                }
            }
        }
    }
}

/// Writes the in-bounds entries of the `K × P` patch matrix of one `c_in × h × w` image into
/// `col`.
///
/// Padding entries are left untouched: they sit at the same places for every image of a
/// geometry, so a buffer zeroed when it is allocated and only ever used for one geometry keeps
/// them zero (every caller's per-thread buffer is such a one). This saves a fill per row.
pub(crate) fn im2col(g: &Conv2dGeometry, (h, w): (usize, usize), img: &[f32], col: &mut [f32]) {
    let (oh, ow) = g.out_hw(h, w).expect("checked by the caller");
    let p = oh * ow;
    for_each_run(g, (h, w), (oh, ow), |k, oy, xs, src| {
        let at = k * p + oy * ow + xs.start;
        col[at..at + xs.len()].copy_from_slice(&img[src..src + xs.len()]);
    });
}

/// Adds the `K × P` patch-gradient matrix `col` back onto one image gradient (col2im).
pub(crate) fn col2im_add(g: &Conv2dGeometry, (h, w): (usize, usize), col: &[f32], img: &mut [f32]) {
    let (oh, ow) = g.out_hw(h, w).expect("checked by the caller");
    let p = oh * ow;
    for_each_run(g, (h, w), (oh, ow), |k, oy, xs, src| {
        let n = xs.len();
        let from = k * p + oy * ow + xs.start;
        img[src..src + n]
            .iter_mut()
            .zip(&col[from..from + n])
            .for_each(|(a, b)| *a += b);
    });
}

/// Forward convolution of a contiguous NCHW batch; returns the NCHW output.
pub(crate) fn forward(
    g: &Conv2dGeometry,
    hw: (usize, usize),
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
) -> Vec<f32> {
    forward_impl(g, hw, x, weight, bias, false).0
}

/// [`forward`], plus the [`Moments`] of every output plane (`batch × c_out`, image-major),
/// computed right after each image's product while it is still in cache.
pub(crate) fn forward_with_moments(
    g: &Conv2dGeometry,
    hw: (usize, usize),
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
) -> (Vec<f32>, Vec<Moments>) {
    forward_impl(g, hw, x, weight, bias, true)
}

/// One image's output `yi = bias + W · col` (`c_out × P`) from its patch matrix `col`
/// (`K × P`).
fn conv_from_col(
    g: &Conv2dGeometry,
    p: usize,
    col: &[f32],
    weight: &[f32],
    bias: &[f32],
    yi: &mut [f32],
) {
    for (co, row) in yi.chunks_mut(p).enumerate() {
        row.fill(bias[co]);
    }
    add_product(g, p, col, weight, yi);
}

/// `yi += W · col` for one image.
fn add_product(g: &Conv2dGeometry, p: usize, col: &[f32], weight: &[f32], yi: &mut [f32]) {
    let k = g.patch_len();
    let wv = MatRef {
        data: weight,
        rs: k,
        cs: 1,
    };
    let cv = MatRef {
        data: col,
        rs: p,
        cs: 1,
    };
    sgemm((g.c_out, p, k), yi, p, true, wv, cv);
}

/// Initialises an uninitialised image output with its biases (row `co` of `p` values gets
/// `bias[co]`) and returns it as initialised values: the output never needs zeroing first.
fn bias_rows<'a>(
    yi: &'a mut [std::mem::MaybeUninit<f32>],
    bias: &[f32],
    p: usize,
) -> &'a mut [f32] {
    for (co, row) in yi.chunks_mut(p).enumerate() {
        row.fill(std::mem::MaybeUninit::new(bias[co]));
    }
    // SAFETY: every element of `yi` was written just above (the rows tile the slice), and
    // `MaybeUninit<f32>` has the layout of `f32`.
    unsafe { &mut *(std::ptr::from_mut(yi) as *mut [f32]) }
}

fn forward_impl(
    g: &Conv2dGeometry,
    (h, w): (usize, usize),
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    moments: bool,
) -> (Vec<f32>, Vec<Moments>) {
    let (oh, ow) = g.out_hw(h, w).expect("checked by the caller");
    let (p, k) = (oh * ow, g.patch_len());
    let batch = x.len() / (g.c_in * h * w);
    let len = batch * g.c_out * p;
    let mut y: Vec<f32> = Vec::with_capacity(len);
    let per_image: Vec<Vec<Moments>> = y.spare_capacity_mut()[..len]
        .par_chunks_mut((g.c_out * p).max(1))
        .zip(x.par_chunks(g.c_in * h * w))
        .map_init(
            || vec![0.0f32; k * p],
            |col, (yi, xi)| {
                im2col(g, (h, w), xi, col);
                let yi = bias_rows(yi, bias, p);
                add_product(g, p, col, weight, yi);
                if moments {
                    yi.chunks(p).map(plane_moments).collect()
                } else {
                    Vec::new()
                }
            },
        )
        .collect();
    // SAFETY: the chunks above tile `y`'s first `len` values and each was initialised by
    // `bias_rows` (the zip stops at the shorter side only when `x` holds fewer whole images
    // than `batch`, which `batch = x.len() / image_len` rules out).
    unsafe { y.set_len(len) };
    (y, per_image.into_iter().flatten().collect())
}

/// Convolves each image into a per-thread buffer and lets `f(y_i, out_i)` turn it (in place if
/// it likes) into the
/// image's `out_len` outputs: the convolution output is never stored whole (eval-mode blocks
/// that pool it at once). Returns the `batch × out_len` outputs.
pub(crate) fn map_outputs(
    g: &Conv2dGeometry,
    (h, w): (usize, usize),
    x: &[f32],
    (weight, bias): (&[f32], &[f32]),
    out_len: usize,
    f: impl Fn(&mut [f32], &mut [f32]) + Sync,
) -> Vec<f32> {
    let (oh, ow) = g.out_hw(h, w).expect("checked by the caller");
    let (p, k) = (oh * ow, g.patch_len());
    let batch = x.len() / (g.c_in * h * w);
    let mut out = vec![0.0f32; batch * out_len];
    out.par_chunks_mut(out_len.max(1))
        .zip(x.par_chunks(g.c_in * h * w))
        .for_each_init(
            || (vec![0.0f32; k * p], vec![0.0f32; g.c_out * p]),
            |(col, yi), (oi, xi)| {
                im2col(g, (h, w), xi, col);
                conv_from_col(g, p, col, weight, bias, yi);
                f(yi, oi);
            },
        );
    out
}

/// Where a backward work item builds its images' weight gradients: a patch matrix per image,
/// or the shifted views of [`ShiftedWeightGrad`] (chosen per geometry by its `suits`).
enum WeightGradBuf {
    Patches(Vec<f32>),
    Shifted(ShiftedWeightGrad),
}

/// Backward convolution: adds `dL/dW`, `dL/db` and (if given) `dL/dx` into the buffers.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    g: &Conv2dGeometry,
    (h, w): (usize, usize),
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dweight: &mut [f32],
    dbias: &mut [f32],
) {
    let (oh, ow) = g.out_hw(h, w).expect("checked by the caller");
    let (p, k, img) = (oh * ow, g.patch_len(), g.c_in * h * w);
    let batch = x.len() / img;
    let groups = batch.div_ceil(GROUP);
    let shifted = ShiftedWeightGrad::suits(g, (oh, ow));
    let dx_wanted = dx.is_some();
    let dx_chunks: Vec<Option<&mut [f32]>> = match dx {
        Some(d) => d.chunks_mut(GROUP * img).map(Some).collect(),
        None => (0..groups).map(|_| None).collect(),
    };
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx_chunks
        .into_par_iter()
        .enumerate()
        .map_init(
            || {
                let wgrad = if shifted {
                    WeightGradBuf::Shifted(ShiftedWeightGrad::new(g, (h, w)))
                } else {
                    WeightGradBuf::Patches(vec![0.0f32; k * p])
                };
                let dcol = if dx_wanted {
                    vec![0.0f32; k * p]
                } else {
                    Vec::new()
                };
                (wgrad, dcol)
            },
            |(wgrad, dcol), (gi, mut dxc)| {
                let mut dw = vec![0.0f32; g.weight_len()];
                let mut db = vec![0.0f32; g.c_out];
                let end = ((gi + 1) * GROUP).min(batch);
                for (local, bi) in (gi * GROUP..end).enumerate() {
                    let xi = &x[bi * img..(bi + 1) * img];
                    let dyi = &dy[bi * g.c_out * p..(bi + 1) * g.c_out * p];
                    let dyv = MatRef {
                        data: dyi,
                        rs: p,
                        cs: 1,
                    };
                    match wgrad {
                        WeightGradBuf::Shifted(sw) => sw.add_image(xi, dyi),
                        WeightGradBuf::Patches(col) => {
                            im2col(g, (h, w), xi, col);
                            // dW[c_out × K] += dy[c_out × P] · colᵀ[P × K]
                            let colt = MatRef {
                                data: col,
                                rs: 1,
                                cs: p,
                            };
                            sgemm((g.c_out, k, p), &mut dw, k, true, dyv, colt);
                        }
                    }
                    for (co, row) in dyi.chunks(p).enumerate() {
                        db[co] += row.iter().sum::<f32>();
                    }
                    if let Some(dxc) = dxc.as_deref_mut() {
                        // dcol[K × P] = Wᵀ[K × c_out] · dy[c_out × P]
                        let wt = MatRef {
                            data: weight,
                            rs: 1,
                            cs: k,
                        };
                        sgemm((k, p, g.c_out), dcol, p, false, wt, dyv);
                        col2im_add(g, (h, w), dcol, &mut dxc[local * img..(local + 1) * img]);
                    }
                }
                if let WeightGradBuf::Shifted(sw) = wgrad {
                    sw.drain_into(&mut dw);
                }
                (dw, db)
            },
        )
        .collect();
    for (dw, db) in partials {
        dweight.iter_mut().zip(&dw).for_each(|(a, b)| *a += b);
        dbias.iter_mut().zip(&db).for_each(|(a, b)| *a += b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backward_takes_the_shifted_route_where_it_suits_and_agrees_with_the_patch_route() {
        let g = Conv2dGeometry {
            c_in: 8,
            c_out: 3,
            kernel: 3,
            pad: 1,
        };
        let (h, w, batch) = (16, 16, GROUP + 3);
        assert!(ShiftedWeightGrad::suits(&g, g.out_hw(h, w).unwrap()));
        let val = |i: usize, m: usize| ((i * 7919) % m) as f32 / m as f32 - 0.5;
        let x: Vec<f32> = (0..batch * 8 * h * w).map(|i| val(i, 97)).collect();
        let dy: Vec<f32> = (0..batch * 3 * h * w).map(|i| val(i, 89)).collect();
        let weight: Vec<f32> = (0..g.weight_len()).map(|i| val(i, 83)).collect();
        let (mut dw, mut db) = (vec![0.0; g.weight_len()], vec![0.0; 3]);
        backward(&g, (h, w), &x, &weight, &dy, None, &mut dw, &mut db);
        // The patch route, one image at a time.
        let (k, p) = (g.patch_len(), h * w);
        let mut want = vec![0.0f32; g.weight_len()];
        let mut col = vec![0.0f32; k * p];
        for (xi, dyi) in x.chunks(8 * h * w).zip(dy.chunks(3 * p)) {
            im2col(&g, (h, w), xi, &mut col);
            let dyv = MatRef {
                data: dyi,
                rs: p,
                cs: 1,
            };
            let colt = MatRef {
                data: &col,
                rs: 1,
                cs: p,
            };
            sgemm((3, k, p), &mut want, k, true, dyv, colt);
        }
        for (i, (a, b)) in dw.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                "dw[{i}]: {a} vs {b}"
            );
        }
    }

    #[test]
    fn backward_gives_the_same_bits_on_any_thread_count() {
        // Both weight-gradient routes: 8 channels at 16×16 (shifted), 3 channels (patches).
        for c_in in [8, 3] {
            let g = Conv2dGeometry {
                c_in,
                c_out: 4,
                kernel: 3,
                pad: 1,
            };
            let (h, w, batch) = (16, 16, 2 * GROUP + 1);
            let val = |i: usize, m: usize| ((i * 7919) % m) as f32 / m as f32 - 0.5;
            let x: Vec<f32> = (0..batch * c_in * h * w).map(|i| val(i, 97)).collect();
            let dy: Vec<f32> = (0..batch * 4 * h * w).map(|i| val(i, 89)).collect();
            let weight: Vec<f32> = (0..g.weight_len()).map(|i| val(i, 83)).collect();
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut dx = vec![0.0f32; x.len()];
                let (mut dw, mut db) = (vec![0.0f32; g.weight_len()], vec![0.0f32; 4]);
                pool.install(|| {
                    backward(
                        &g,
                        (h, w),
                        &x,
                        &weight,
                        &dy,
                        Some(&mut dx),
                        &mut dw,
                        &mut db,
                    );
                });
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                (bits(&dx), bits(&dw), bits(&db))
            };
            assert_eq!(run(1), run(3), "c_in {c_in}");
        }
    }
}
