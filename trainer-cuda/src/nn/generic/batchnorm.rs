//! Batch normalisation over the channels of an NCHW batch from dfdx reductions and broadcasts.

use dfdx::prelude::*;

use crate::nn::geometry::Shape4;

/// The batch statistics of one train-mode forward pass, as detached device tensors.
#[derive(Clone, Debug)]
pub struct BnTensors<D: Device<f32>> {
    /// Per-channel mean.
    pub mean: Tensor<(usize,), f32, D>,
    /// Per-channel biased variance.
    pub var: Tensor<(usize,), f32, D>,
}

fn per_channel<D: Device<f32>, T: Tape<f32, D>>(
    v: Tensor<(usize,), f32, D, T>,
    shape: &Shape4,
) -> Tensor<Shape4, f32, D, T> {
    v.broadcast_like::<_, Axes3<0, 2, 3>>(shape)
}

/// Train-mode batch norm: normalise with the batch's own mean and biased variance, then
/// `γ·x̂ + β`. Returns the output and the detached statistics.
pub fn batch_norm2d_train<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<Shape4, f32, D, T>,
    gamma: &Tensor<(usize,), f32, D>,
    beta: &Tensor<(usize,), f32, D>,
    eps: f32,
) -> (Tensor<Shape4, f32, D, T>, BnTensors<D>) {
    let shape = *x.shape();
    let mean = x.retaped::<T>().mean::<(usize,), Axes3<0, 2, 3>>();
    let mean_d = mean.retaped::<NoneTape>();
    let centered = x - per_channel(mean, &shape);
    let var = centered
        .retaped::<T>()
        .square()
        .mean::<(usize,), Axes3<0, 2, 3>>();
    let var_d = var.retaped::<NoneTape>();
    let inv_std = (var + eps).sqrt().recip();
    let xhat = centered * per_channel(inv_std, &shape);
    let y =
        xhat * per_channel(gamma.retaped::<T>(), &shape) + per_channel(beta.retaped::<T>(), &shape);
    (
        y,
        BnTensors {
            mean: mean_d,
            var: var_d,
        },
    )
}

/// Eval-mode batch norm with running statistics: `γ·(x − μ)/sqrt(σ² + eps) + β`.
pub fn batch_norm2d_eval<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<Shape4, f32, D, T>,
    gamma: &Tensor<(usize,), f32, D>,
    beta: &Tensor<(usize,), f32, D>,
    running_mean: &Tensor<(usize,), f32, D>,
    running_var: &Tensor<(usize,), f32, D>,
    eps: f32,
) -> Tensor<Shape4, f32, D, T> {
    let shape = *x.shape();
    let scale = gamma.clone() * (running_var.clone() + eps).sqrt().recip();
    let shift = beta.clone() - running_mean.clone() * scale.clone();
    // scale/shift are derived from parameters without a tape: eval mode is for inference only.
    x * per_channel(scale.retaped::<T>(), &shape) + per_channel(shift.retaped::<T>(), &shape)
}
