//! Fast CPU custom ops for dfdx's [`Cpu`] device, recorded on dfdx's public tape API.
//!
//! Each op copies its input out of the tensor (`copy_into`: dfdx offers no public borrow),
//! runs a rayon-parallel kernel, wraps the result with `tensor_from_vec` and records its backward
//! pass with [`Tape::add_backward_op`]. In the backward pass the output gradient is moved out of
//! [`Gradients`] (and put back afterwards) instead of being cloned.

mod batchnorm;
mod bn_relu_pool;
mod conv_block;
mod gemm;
mod im2col_conv;
mod linear;
mod maxpool;
mod residual;
mod shifted_wgrad;

use dfdx::prelude::*;

pub use conv_block::{conv_bn_block, conv_bn_block_eval};
pub use linear::linear;
pub use residual::add_relu;

use super::geometry::{Conv2dGeometry, Shape4};
use super::profile::{timed, Phase, Span};

/// Profile names of the ops (with their shapes).
fn conv_name(g: &Conv2dGeometry, (h, w): (usize, usize)) -> String {
    format!("conv {}→{} {h}×{w}", g.c_in, g.c_out)
}

fn bn_name(relu: bool) -> &'static str {
    if relu {
        "BN + ReLU"
    } else {
        "BN"
    }
}

/// The machine's f32 matrix-multiply rate in GFLOP/s: median of `runs` square `n×n` products
/// with the `gemm` crate's parallel kernel on the current rayon threads (the throughput bench's
/// reference; `n = 2048` is a large, cache-friendly size).
#[must_use]
pub fn sgemm_rate_gflops(n: usize, runs: usize) -> f64 {
    gemm::square_rate_gflops(n, runs)
}

/// Batch-norm statistics returned by [`batch_norm2d_train`] and [`conv_bn_block`]: per-channel
/// mean and biased variance.
#[derive(Clone, Debug, PartialEq)]
pub struct BnBatchStats {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Biased (divide-by-N) variance per channel.
    pub var: Vec<f32>,
}

/// Copies a contiguous tensor's contents into a new `Vec` (a memcpy).
pub(crate) fn host_vec<S: Shape>(t: &Tensor<S, f32, Cpu>) -> Vec<f32> {
    let mut v = vec![0.0f32; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// Makes `t` contiguous: free for a contiguous tensor (same data, same id), a recorded copy for a
/// strided view, so `copy_into` below always sees the logical order.
fn contiguous<S: Shape, T: Tape<f32, Cpu>>(t: Tensor<S, f32, Cpu, T>) -> Tensor<S, f32, Cpu, T> {
    let shape = *t.shape();
    t.reshape_like(&shape)
}

/// A contiguous host copy of a parameter.
fn param_vec(t: &Tensor<(usize,), f32, Cpu>) -> Vec<f32> {
    host_vec(&contiguous(t.clone()))
}

type Grads = Gradients<f32, Cpu>;

fn take_grad<S: Shape>(grads: &mut Grads, t: &Tensor<S, f32, Cpu>) -> Result<Vec<f32>, CpuError> {
    Ok(std::mem::take(&mut **grads.get_or_alloc_mut(t)?))
}

fn put_grad<S: Shape>(
    grads: &mut Grads,
    t: &Tensor<S, f32, Cpu>,
    v: Vec<f32>,
) -> Result<(), CpuError> {
    **grads.get_or_alloc_mut(t)? = v;
    Ok(())
}

/// What a convolution's backward pass keeps from its forward pass: host copies of the input
/// and weights, and the tensors whose gradients it accumulates.
struct ConvSaved {
    g: Conv2dGeometry,
    hw: (usize, usize),
    x: Vec<f32>,
    weight: Vec<f32>,
    x_tensor: Tensor<Shape4, f32, Cpu>,
    weight_tensor: Tensor<(usize,), f32, Cpu>,
    bias_tensor: Tensor<(usize,), f32, Cpu>,
    /// Whether the input gradient is wanted (not for a first layer).
    input_grad: bool,
}

impl ConvSaved {
    /// Keeps the forward pass's host copies `xv` (of `x`) and `wv` (of `weight`) for
    /// [`ConvSaved::backward`].
    fn new(
        x: &Tensor<Shape4, f32, Cpu>,
        (weight, bias): ParamPair<'_>,
        g: &Conv2dGeometry,
        (xv, wv): (Vec<f32>, Vec<f32>),
        input_grad: bool,
    ) -> Self {
        let (_, _, h, w) = *x.shape();
        Self {
            g: *g,
            hw: (h, w),
            x: xv,
            weight: wv,
            x_tensor: x.clone(),
            weight_tensor: weight.clone(),
            bias_tensor: bias.clone(),
            input_grad,
        }
    }

    /// Accumulates the weight, bias and (when wanted) input gradients for the output gradient
    /// `dy` into `grads`: the backward half shared by [`conv2d`] and [`conv_bn_block`].
    fn backward(&self, grads: &mut Grads, dy: &[f32]) -> Result<(), CpuError> {
        let mut dw = take_grad(grads, &self.weight_tensor)?;
        let mut db = take_grad(grads, &self.bias_tensor)?;
        let mut dx = if self.input_grad {
            Some(take_grad(grads, &self.x_tensor)?)
        } else {
            None
        };
        im2col_conv::backward(
            &self.g,
            self.hw,
            &self.x,
            &self.weight,
            dy,
            dx.as_deref_mut(),
            &mut dw,
            &mut db,
        );
        put_grad(grads, &self.weight_tensor, dw)?;
        put_grad(grads, &self.bias_tensor, db)?;
        if let Some(dx) = dx {
            put_grad(grads, &self.x_tensor, dx)?;
        }
        Ok(())
    }
}

/// Convolution (stride 1, zero padding) of an NCHW batch with flat weights `c_out·c_in·k²` and
/// biases `c_out`; gradients flow to `weight`, `bias` and, when `input_grad`, to `x`.
///
/// # Panics
/// If the shapes disagree with `g` (callers validate model shapes once at construction).
pub fn conv2d<T: Tape<f32, Cpu>>(
    x: Tensor<Shape4, f32, Cpu, T>,
    weight: &Tensor<(usize,), f32, Cpu>,
    bias: &Tensor<(usize,), f32, Cpu>,
    g: &Conv2dGeometry,
    input_grad: bool,
) -> Tensor<Shape4, f32, Cpu, T> {
    let (b, c, h, w) = *x.shape();
    assert_eq!(c, g.c_in, "conv2d: input channels");
    assert_eq!(weight.shape().0, g.weight_len(), "conv2d: weight length");
    assert_eq!(bias.shape().0, g.c_out, "conv2d: bias length");
    let (oh, ow) = g
        .out_hw(h, w)
        .expect("conv2d: kernel larger than padded input");
    let (x, mut tape) = contiguous(x).split_tape();
    let (xv, wv, out) = timed(
        Phase::Forward,
        || conv_name(g, (h, w)),
        || {
            let xv = host_vec(&x);
            let wv = param_vec(weight);
            let y = im2col_conv::forward(g, (h, w), &xv, &wv, &param_vec(bias));
            (xv, wv, x.device().tensor_from_vec(y, (b, g.c_out, oh, ow)))
        },
    );
    if T::OWNS_TAPE {
        let saved = ConvSaved::new(&x, (weight, bias), g, (xv, wv), input_grad);
        let out_g = out.clone();
        tape.add_backward_op(move |grads| {
            let _span = Span::new(Phase::Backward, || conv_name(&saved.g, saved.hw));
            let dy = take_grad(grads, &out_g)?;
            saved.backward(grads, &dy)?;
            put_grad(grads, &out_g, dy)
        });
    }
    out.put_tape(tape)
}

/// 2×2 max-pooling with stride 2 (ties go to the first maximum; odd edges are dropped).
pub fn max_pool2<T: Tape<f32, Cpu>>(x: Tensor<Shape4, f32, Cpu, T>) -> Tensor<Shape4, f32, Cpu, T> {
    let (b, c, h, w) = *x.shape();
    let name = move || format!("max-pool {c}×{h}×{w}");
    let _span = Span::new(Phase::Forward, name);
    let (x, mut tape) = contiguous(x).split_tape();
    let (y, arg) = maxpool::forward(&host_vec(&x), (h, w));
    let out = x.device().tensor_from_vec(y, (b, c, h / 2, w / 2));
    if T::OWNS_TAPE {
        let (x_g, out_g) = (x.clone(), out.clone());
        tape.add_backward_op(move |grads| {
            let _span = Span::new(Phase::Backward, name);
            let dy = take_grad(grads, &out_g)?;
            let mut dx = take_grad(grads, &x_g)?;
            maxpool::backward(&dy, &arg, (h, w), &mut dx);
            put_grad(grads, &x_g, dx)?;
            put_grad(grads, &out_g, dy)
        });
    }
    out.put_tape(tape)
}

/// Train-mode batch normalisation over the channels of an NCHW batch with per-channel `gamma`
/// and `beta`, optionally fused with a ReLU; returns the output and the batch statistics (for
/// the caller's running averages).
pub fn batch_norm2d_train<T: Tape<f32, Cpu>>(
    x: Tensor<Shape4, f32, Cpu, T>,
    gamma: &Tensor<(usize,), f32, Cpu>,
    beta: &Tensor<(usize,), f32, Cpu>,
    eps: f32,
    relu: bool,
) -> (Tensor<Shape4, f32, Cpu, T>, BnBatchStats) {
    let shape = *x.shape();
    let (_, c, h, w) = shape;
    assert_eq!(gamma.shape().0, c, "batch_norm2d: gamma length");
    assert_eq!(beta.shape().0, c, "batch_norm2d: beta length");
    let name = move || format!("{} {c}×{h}×{w}", bn_name(relu));
    let _span = Span::new(Phase::Forward, name);
    let (x, mut tape) = contiguous(x).split_tape();
    let xv = host_vec(&x);
    let (gv, bv) = (param_vec(gamma), param_vec(beta));
    let (y, stats) = batchnorm::forward(&xv, (c, h * w), &gv, &bv, eps, relu);
    let out = x.device().tensor_from_vec(y, shape);
    let public = BnBatchStats {
        mean: stats.mean.clone(),
        var: stats.var.clone(),
    };
    if T::OWNS_TAPE {
        let (x_g, g_g, b_g, out_g) = (x.clone(), gamma.clone(), beta.clone(), out.clone());
        tape.add_backward_op(move |grads| {
            let _span = Span::new(Phase::Backward, name);
            let dy = take_grad(grads, &out_g)?;
            let mut dg = take_grad(grads, &g_g)?;
            let mut db = take_grad(grads, &b_g)?;
            let mut dx = take_grad(grads, &x_g)?;
            batchnorm::backward(
                &xv,
                (c, h * w),
                &gv,
                &bv,
                &stats,
                relu,
                &dy,
                Some(&mut dx),
                &mut dg,
                &mut db,
            );
            put_grad(grads, &g_g, dg)?;
            put_grad(grads, &b_g, db)?;
            put_grad(grads, &x_g, dx)?;
            put_grad(grads, &out_g, dy)
        });
    }
    (out.put_tape(tape), public)
}

/// Eval-mode batch normalisation with running statistics `(mean, var)`, optionally fused with
/// a ReLU: `relu?(x·s + t)` with `s = γ / sqrt(var + ε)`, `t = β − mean·s`, the generic layer's
/// arithmetic. Records no backward pass (for inference: callers use it without a tape).
pub fn batch_norm2d_eval<T: Tape<f32, Cpu>>(
    x: Tensor<Shape4, f32, Cpu, T>,
    (gamma, beta): ParamPair<'_>,
    (mean, var): ParamPair<'_>,
    eps: f32,
    relu: bool,
) -> Tensor<Shape4, f32, Cpu, T> {
    let shape = *x.shape();
    let (_, c, h, w) = shape;
    let name = move || format!("{} (eval) {c}×{h}×{w}", bn_name(relu));
    let _span = Span::new(Phase::Forward, name);
    let (x, tape) = contiguous(x).split_tape();
    let (scale, shift) = eval_affine((gamma, beta), (mean, var), eps);
    let mut y = host_vec(&x);
    batchnorm::scale_shift_in_place(&mut y, h * w, &scale, &shift, relu);
    x.device().tensor_from_vec(y, shape).put_tape(tape)
}

/// Eval-mode batch norm's per-channel `(scale, shift)`: `γ / sqrt(var + ε)` and
/// `β − mean·scale`, as the generic layer computes them.
fn eval_affine(
    (gamma, beta): ParamPair<'_>,
    (mean, var): ParamPair<'_>,
    eps: f32,
) -> (Vec<f32>, Vec<f32>) {
    let (g, b, m, v) = (
        param_vec(gamma),
        param_vec(beta),
        param_vec(mean),
        param_vec(var),
    );
    let scale: Vec<f32> = g
        .iter()
        .zip(&v)
        .map(|(g, v)| g * (v + eps).sqrt().recip())
        .collect();
    let shift: Vec<f32> = b
        .iter()
        .zip(&m)
        .zip(&scale)
        .map(|((b, m), s)| b - m * s)
        .collect();
    (scale, shift)
}

/// Two flat parameters of one layer: (conv weight, bias) or (batch-norm γ, β).
pub type ParamPair<'a> = (
    &'a Tensor<(usize,), f32, Cpu>,
    &'a Tensor<(usize,), f32, Cpu>,
);
