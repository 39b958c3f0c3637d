//! Which implementation each layer uses on which device.

use dfdx::prelude::*;

use super::geometry::{Conv2dGeometry, Shape4};
use super::optim::{sgd_fused, sgd_generic, SgdStep};
use super::{cpu_ops, generic};

/// Two flat parameters of one layer: (conv weight, bias) or (batch-norm γ, β).
pub type ParamPair<'a, D> = (&'a Tensor<(usize,), f32, D>, &'a Tensor<(usize,), f32, D>);

/// A dfdx device the models can run on. Every method has a device-generic default made of dfdx
/// ops; [`Cpu`] overrides them with the fast custom ops when `fast` is true.
pub trait NnDevice: Device<f32> {
    /// Whether this device has fast custom ops (`fast = true` is honoured).
    const HAS_FAST_OPS: bool = false;

    /// Stride-1 zero-padded convolution (see [`generic::conv2d`]); `input_grad = false` lets the
    /// fast op skip the input gradient of a first layer.
    fn nn_conv2d<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        weight: &Tensor<(usize,), f32, Self>,
        bias: &Tensor<(usize,), f32, Self>,
        g: &Conv2dGeometry,
        input_grad: bool,
    ) -> Tensor<Shape4, f32, Self, T> {
        let _ = (fast, input_grad);
        generic::conv2d(x, weight, bias, g)
    }

    /// A linear layer `x·Wᵀ + b` (`W` flat, `fout × fin` row-major), optionally followed by
    /// ReLU (see [`generic::linear`]); `input_grad = false` lets the fast op skip the input
    /// gradient of a first layer.
    fn nn_linear<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<(usize, usize), f32, Self, T>,
        (weight, bias): ParamPair<'_, Self>,
        relu: bool,
        input_grad: bool,
    ) -> Tensor<(usize, usize), f32, Self, T> {
        let _ = (fast, input_grad);
        generic::linear(x, weight, bias, relu)
    }

    /// One SGD update of a parameter and its momentum buffer, PyTorch's rule:
    /// `g' = g + wd·p`, `v = μ·v + g'`, `p -= lr·(μ ≠ 0 ? (nesterov ? g' + μ·v : v) : g')`.
    fn nn_sgd_step(
        fast: bool,
        p: &mut Tensor<(usize,), f32, Self>,
        g: &Tensor<(usize,), f32, Self>,
        buf: &mut Tensor<(usize,), f32, Self>,
        step: SgdStep,
    ) {
        let _ = fast;
        sgd_generic(p, g, buf, step);
    }

    /// The residual join `relu(y + skip)`.
    fn nn_add_relu<T: Tape<f32, Self>>(
        fast: bool,
        y: Tensor<Shape4, f32, Self, T>,
        skip: Tensor<Shape4, f32, Self, T>,
    ) -> Tensor<Shape4, f32, Self, T> {
        let _ = fast;
        (y + skip).relu()
    }

    /// 2×2 stride-2 max-pooling.
    fn nn_max_pool2<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
    ) -> Tensor<Shape4, f32, Self, T> {
        let _ = fast;
        generic::max_pool2(x)
    }

    /// Train-mode batch norm, optionally followed by ReLU; returns the batch statistics.
    fn nn_batch_norm2d_train<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        gamma: &Tensor<(usize,), f32, Self>,
        beta: &Tensor<(usize,), f32, Self>,
        eps: f32,
        relu: bool,
    ) -> (Tensor<Shape4, f32, Self, T>, generic::BnTensors<Self>) {
        let _ = fast;
        let (y, stats) = generic::batch_norm2d_train(x, gamma, beta, eps);
        (if relu { y.relu() } else { y }, stats)
    }

    /// Eval-mode batch norm with the running statistics, optionally followed by ReLU.
    #[allow(clippy::too_many_arguments)]
    fn nn_batch_norm2d_eval<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        (gamma, beta): ParamPair<'_, Self>,
        (mean, var): ParamPair<'_, Self>,
        eps: f32,
        relu: bool,
    ) -> Tensor<Shape4, f32, Self, T> {
        let _ = fast;
        let y = generic::batch_norm2d_eval(x, gamma, beta, mean, var, eps);
        if relu {
            y.relu()
        } else {
            y
        }
    }

    /// An eval-mode CNN block: conv → batch norm with running statistics → optional ReLU →
    /// optional 2×2 max-pool. The fast CPU op fuses them image by image; the default chains them.
    #[allow(clippy::too_many_arguments)]
    fn nn_conv_bn_eval<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        conv: ParamPair<'_, Self>,
        g: &Conv2dGeometry,
        bn: ParamPair<'_, Self>,
        running: ParamPair<'_, Self>,
        (eps, relu, pool): (f32, bool, bool),
    ) -> Tensor<Shape4, f32, Self, T> {
        let y = Self::nn_conv2d(fast, x, conv.0, conv.1, g, true);
        let y = Self::nn_batch_norm2d_eval(fast, y, bn, running, eps, relu);
        if pool {
            Self::nn_max_pool2(fast, y)
        } else {
            y
        }
    }

    /// A train-mode CNN block: conv → batch norm → optional ReLU → optional 2×2 max-pool;
    /// returns the batch-norm statistics. The fast CPU op fuses them; the default chains them.
    #[allow(clippy::too_many_arguments)]
    fn nn_conv_bn_train<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        conv: ParamPair<'_, Self>,
        g: &Conv2dGeometry,
        input_grad: bool,
        bn: ParamPair<'_, Self>,
        (eps, relu, pool): (f32, bool, bool),
    ) -> (Tensor<Shape4, f32, Self, T>, generic::BnTensors<Self>) {
        let y = Self::nn_conv2d(fast, x, conv.0, conv.1, g, input_grad);
        let (y, stats) = Self::nn_batch_norm2d_train(fast, y, bn.0, bn.1, eps, relu);
        let y = if pool { Self::nn_max_pool2(fast, y) } else { y };
        (y, stats)
    }
}

impl NnDevice for Cpu {
    const HAS_FAST_OPS: bool = true;

    fn nn_conv_bn_eval<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        conv: ParamPair<'_, Self>,
        g: &Conv2dGeometry,
        bn: ParamPair<'_, Self>,
        running: ParamPair<'_, Self>,
        (eps, relu, pool): (f32, bool, bool),
    ) -> Tensor<Shape4, f32, Self, T> {
        // The fused op records no backward pass: eval mode is for inference only.
        if !fast || T::OWNS_TAPE {
            let y = Self::nn_conv2d(fast, x, conv.0, conv.1, g, true);
            let y = Self::nn_batch_norm2d_eval(fast, y, bn, running, eps, relu);
            return if pool { Self::nn_max_pool2(fast, y) } else { y };
        }
        cpu_ops::conv_bn_block_eval(x, conv, g, bn, running, eps, relu, pool)
    }

    fn nn_conv2d<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        weight: &Tensor<(usize,), f32, Self>,
        bias: &Tensor<(usize,), f32, Self>,
        g: &Conv2dGeometry,
        input_grad: bool,
    ) -> Tensor<Shape4, f32, Self, T> {
        if fast {
            cpu_ops::conv2d(x, weight, bias, g, input_grad)
        } else {
            generic::conv2d(x, weight, bias, g)
        }
    }

    fn nn_sgd_step(
        fast: bool,
        p: &mut Tensor<(usize,), f32, Self>,
        g: &Tensor<(usize,), f32, Self>,
        buf: &mut Tensor<(usize,), f32, Self>,
        step: SgdStep,
    ) {
        if fast {
            sgd_fused(p, g, buf, step);
        } else {
            sgd_generic(p, g, buf, step);
        }
    }

    fn nn_linear<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<(usize, usize), f32, Self, T>,
        (weight, bias): ParamPair<'_, Self>,
        relu: bool,
        input_grad: bool,
    ) -> Tensor<(usize, usize), f32, Self, T> {
        if fast {
            cpu_ops::linear(x, weight, bias, relu, input_grad)
        } else {
            generic::linear(x, weight, bias, relu)
        }
    }

    fn nn_add_relu<T: Tape<f32, Self>>(
        fast: bool,
        y: Tensor<Shape4, f32, Self, T>,
        skip: Tensor<Shape4, f32, Self, T>,
    ) -> Tensor<Shape4, f32, Self, T> {
        if fast {
            cpu_ops::add_relu(y, skip)
        } else {
            (y + skip).relu()
        }
    }

    fn nn_max_pool2<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
    ) -> Tensor<Shape4, f32, Self, T> {
        if fast {
            cpu_ops::max_pool2(x)
        } else {
            generic::max_pool2(x)
        }
    }

    fn nn_batch_norm2d_train<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        gamma: &Tensor<(usize,), f32, Self>,
        beta: &Tensor<(usize,), f32, Self>,
        eps: f32,
        relu: bool,
    ) -> (Tensor<Shape4, f32, Self, T>, generic::BnTensors<Self>) {
        if !fast {
            let (y, stats) = generic::batch_norm2d_train(x, gamma, beta, eps);
            return (if relu { y.relu() } else { y }, stats);
        }
        let dev = x.device().clone();
        let (y, s) = cpu_ops::batch_norm2d_train(x, gamma, beta, eps, relu);
        let c = s.mean.len();
        let stats = generic::BnTensors {
            mean: dev.tensor_from_vec(s.mean, (c,)),
            var: dev.tensor_from_vec(s.var, (c,)),
        };
        (y, stats)
    }

    fn nn_batch_norm2d_eval<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        (gamma, beta): ParamPair<'_, Self>,
        (mean, var): ParamPair<'_, Self>,
        eps: f32,
        relu: bool,
    ) -> Tensor<Shape4, f32, Self, T> {
        // The fast op records no backward pass: eval mode is for inference only.
        if !fast || T::OWNS_TAPE {
            let y = generic::batch_norm2d_eval(x, gamma, beta, mean, var, eps);
            return if relu { y.relu() } else { y };
        }
        cpu_ops::batch_norm2d_eval(x, (gamma, beta), (mean, var), eps, relu)
    }

    fn nn_conv_bn_train<T: Tape<f32, Self>>(
        fast: bool,
        x: Tensor<Shape4, f32, Self, T>,
        conv: ParamPair<'_, Self>,
        g: &Conv2dGeometry,
        input_grad: bool,
        bn: ParamPair<'_, Self>,
        (eps, relu, pool): (f32, bool, bool),
    ) -> (Tensor<Shape4, f32, Self, T>, generic::BnTensors<Self>) {
        if !fast {
            let y = generic::conv2d(x, conv.0, conv.1, g);
            let (y, stats) = generic::batch_norm2d_train(y, bn.0, bn.1, eps);
            let y = if relu { y.relu() } else { y };
            return (if pool { generic::max_pool2(y) } else { y }, stats);
        }
        let dev = x.device().clone();
        let (y, s) = cpu_ops::conv_bn_block(x, conv, g, input_grad, bn, eps, relu, pool);
        let c = s.mean.len();
        let stats = generic::BnTensors {
            mean: dev.tensor_from_vec(s.mean, (c,)),
            var: dev.tensor_from_vec(s.var, (c,)),
        };
        (y, stats)
    }
}

#[cfg(feature = "cuda")]
impl NnDevice for Cuda {}
