//! A linear layer as a dfdx `matmul` plus a broadcast bias.

use dfdx::prelude::*;

/// `x·Wᵀ + b` on a `batch × fin` activation, `W` flat in PyTorch's `fout × fin` order, then
/// ReLU when `relu`.
///
/// # Panics
/// If the weight's length is not `fin · fout` (models validate shapes once at construction).
pub fn linear<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<(usize, usize), f32, D, T>,
    weight: &Tensor<(usize,), f32, D>,
    bias: &Tensor<(usize,), f32, D>,
    relu: bool,
) -> Tensor<(usize, usize), f32, D, T> {
    let (bsz, fin) = *x.shape();
    let fout = bias.shape().0;
    assert_eq!(weight.shape().0, fin * fout, "linear: weight length");
    let wm = weight
        .retaped::<T>()
        .reshape_like(&(fout, fin))
        .permute::<(usize, usize), Axes2<1, 0>>();
    let b = bias
        .retaped::<T>()
        .broadcast_like::<_, Axis<0>>(&(bsz, fout));
    let y = x.matmul(wm) + b;
    if relu {
        y.relu()
    } else {
        y
    }
}
