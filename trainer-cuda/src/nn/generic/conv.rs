//! Convolution as an im2col `gather` followed by one `matmul`.

use dfdx::prelude::*;

use crate::nn::geometry::{Conv2dGeometry, Shape4};

/// The gather indices of im2col for one `c_in × h × w` image laid out as a column of length
/// `c_in·h·w + 1` whose last element is zero: entry `p·K + k` is the source of patch element `k`
/// of output pixel `p` (padding reads the zero).
///
/// ```
/// use trainer_cuda::nn::{generic::im2col_indices, Conv2dGeometry};
/// let g = Conv2dGeometry { c_in: 1, c_out: 1, kernel: 3, pad: 1 };
/// let idx = im2col_indices(&g, (2, 2));
/// // output pixel (0,0): the 3×3 window centred on it; 4 is the zero slot
/// assert_eq!(&idx[..9], &[4, 4, 4, 4, 0, 1, 4, 2, 3]);
/// ```
#[must_use]
pub fn im2col_indices(g: &Conv2dGeometry, (h, w): (usize, usize)) -> Vec<usize> {
    let zero = g.c_in * h * w;
    let Some((oh, ow)) = g.out_hw(h, w) else {
        return Vec::new();
    };
    let k = g.patch_len();
    let mut idx = Vec::with_capacity(oh * ow * k);
    for oy in 0..oh {
        for ox in 0..ow {
            idx.extend((0..k).map(|kk| g.source_index((h, w), kk, oy, ox).unwrap_or(zero)));
        }
    }
    idx
}

/// Stride-1 zero-padded convolution of an NCHW batch with flat weights `c_out·c_in·k²` and
/// biases `c_out`, built from dfdx ops (gradients flow to the input and both parameters).
///
/// # Panics
/// If the shapes disagree with `g` (models validate shapes once at construction).
pub fn conv2d<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<Shape4, f32, D, T>,
    weight: &Tensor<(usize,), f32, D>,
    bias: &Tensor<(usize,), f32, D>,
    g: &Conv2dGeometry,
) -> Tensor<Shape4, f32, D, T> {
    let (b, c, h, w) = *x.shape();
    assert_eq!(c, g.c_in, "conv2d: input channels");
    let (oh, ow) = g
        .out_hw(h, w)
        .expect("conv2d: kernel larger than padded input");
    let (p, k, chw) = (oh * ow, g.patch_len(), c * h * w);
    let dev = x.device().clone();
    let idx = dev.tensor_from_vec(im2col_indices(g, (h, w)), (p * k,));
    // (B, CHW) -> (CHW, B), append a zero row for the padding reads.
    let cols = x
        .reshape_like(&(b, chw))
        .permute::<(usize, usize), Axes2<1, 0>>();
    let zeros: Tensor<(usize, usize), f32, D> = dev.zeros_like(&(1, b));
    let padded: Tensor<(usize, usize), f32, D, T> = (cols, zeros).concat_along(Axis::<0>);
    let patches = padded.gather(idx); // (P·K, B)
    let patches = patches
        .permute::<(usize, usize), Axes2<1, 0>>()
        .reshape_like(&(b * p, k));
    let wmat = weight
        .retaped::<T>()
        .reshape_like(&(g.c_out, k))
        .permute::<(usize, usize), Axes2<1, 0>>();
    let y = patches.matmul(wmat); // (B·P, C_out)
    let y = y + bias
        .retaped::<T>()
        .broadcast_like::<_, Axis<0>>(&(b * p, g.c_out));
    y.reshape_like(&(b, p, g.c_out))
        .permute::<(usize, usize, usize), Axes3<0, 2, 1>>()
        .reshape_like(&(b, g.c_out, oh, ow))
}
