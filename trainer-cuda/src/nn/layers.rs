//! Models as small layer lists, a checked builder for them, and the forward interpreter.

use dfdx::prelude::*;

use super::device::NnDevice;
use super::generic;
use super::geometry::{Conv2dGeometry, Shape4};
use super::NnError;

/// Batch-norm epsilon and running-average momentum (PyTorch's defaults).
pub(crate) const BN_EPS: f32 = 1e-5;
pub(crate) const BN_MOMENTUM: f32 = 0.1;

#[derive(Clone, Debug)]
pub(crate) enum Init {
    Uniform(f32),
    Const(f32),
}

#[derive(Clone, Debug)]
pub(crate) struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
}

/// A convolution: its geometry, parameter indices, and whether its input needs a gradient.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvLayer {
    g: Conv2dGeometry,
    w: usize,
    b: usize,
    input_grad: bool,
}

/// A linear layer `x·Wᵀ + b`: parameter indices, sizes, a fused ReLU, and whether its input
/// needs a gradient.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinearLayer {
    w: usize,
    b: usize,
    fin: usize,
    fout: usize,
    relu: bool,
    input_grad: bool,
}

/// A batch norm: parameter indices, running-statistics slot, and a fused ReLU.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BnLayer {
    gamma: usize,
    beta: usize,
    stats: usize,
    relu: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Layer {
    Conv(ConvLayer),
    BatchNorm(BnLayer),
    MaxPool2,
    Relu,
    Flatten,
    GlobalAvgPool,
    Linear(LinearLayer),
    /// `relu(body(x) + x)`
    Residual(Vec<Layer>),
    /// Conv → batch norm (→ ReLU) (→ 2×2 max pool) as one block op (fused on the CPU, in
    /// training and in evaluation): what [`fuse`] makes of those layers when the model is
    /// built.
    ConvBn {
        conv: ConvLayer,
        bn: BnLayer,
        pool: bool,
    },
}

/// The layer list the interpreter runs: every conv → batch norm (→ max pool) becomes one
/// [`Layer::ConvBn`] and every linear → ReLU one [`Layer::Linear`] with its ReLU, inside
/// residual bodies too. Chosen once, when the model is built.
pub(crate) fn fuse(layers: Vec<Layer>) -> Vec<Layer> {
    let mut out = Vec::with_capacity(layers.len());
    let mut it = layers.into_iter().peekable();
    while let Some(layer) = it.next() {
        out.push(match layer {
            Layer::Residual(body) => Layer::Residual(fuse(body)),
            Layer::Conv(conv) => {
                let is_bn = |l: &Layer| matches!(l, Layer::BatchNorm(_));
                if let Some(Layer::BatchNorm(bn)) = it.next_if(is_bn) {
                    let pool = it.next_if(|l| matches!(l, Layer::MaxPool2)).is_some();
                    Layer::ConvBn { conv, bn, pool }
                } else {
                    Layer::Conv(conv)
                }
            }
            Layer::Linear(lin) if matches!(it.peek(), Some(Layer::Relu)) => {
                it.next();
                Layer::Linear(LinearLayer { relu: true, ..lin })
            }
            other => other,
        });
    }
    out
}

/// A model description: layers, parameters in visiting order, batch-norm layer names.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModelSpec {
    pub layers: Vec<Layer>,
    pub params: Vec<ParamSpec>,
    pub bn_names: Vec<(String, usize)>,
}

#[derive(Clone, Copy, Debug)]
enum ActShape {
    Img(usize, usize, usize),
    Flat(usize),
}

/// Builds a [`ModelSpec`] while tracking the activation shape, so a model that does not fit its
/// input is a typed error at construction, never a panic in a training step.
pub(crate) struct SpecBuilder {
    spec: ModelSpec,
    shape: ActShape,
    first: bool,
}

impl SpecBuilder {
    pub(crate) fn new((c, h, w): (usize, usize, usize)) -> Result<Self, NnError> {
        if c == 0 || h == 0 || w == 0 {
            return Err(NnError::Shape(format!(
                "input shape {c}x{h}x{w} has a zero dimension"
            )));
        }
        Ok(Self {
            spec: ModelSpec::default(),
            shape: ActShape::Img(c, h, w),
            first: true,
        })
    }

    fn param(&mut self, name: String, shape: Vec<usize>, init: Init) -> usize {
        self.spec.params.push(ParamSpec { name, shape, init });
        self.spec.params.len() - 1
    }

    fn img(&self, what: &str) -> Result<(usize, usize, usize), NnError> {
        match self.shape {
            ActShape::Img(c, h, w) => Ok((c, h, w)),
            ActShape::Flat(_) => Err(NnError::Shape(format!("{what} needs an image activation"))),
        }
    }

    pub(crate) fn conv(
        &mut self,
        name: &str,
        c_out: usize,
        kernel: usize,
        pad: usize,
    ) -> Result<Layer, NnError> {
        let (c, h, w) = self.img("conv")?;
        let g = Conv2dGeometry {
            c_in: c,
            c_out,
            kernel,
            pad,
        };
        let (oh, ow) = g.out_hw(h, w).ok_or_else(|| {
            NnError::Shape(format!(
                "{name}: {kernel}x{kernel} kernel does not fit {h}x{w}"
            ))
        })?;
        let bound = 1.0 / (g.patch_len() as f32).sqrt();
        let wi = self.param(
            format!("{name}.weight"),
            vec![c_out, c, kernel, kernel],
            Init::Uniform(bound),
        );
        let bi = self.param(format!("{name}.bias"), vec![c_out], Init::Uniform(bound));
        self.shape = ActShape::Img(c_out, oh, ow);
        let input_grad = !std::mem::replace(&mut self.first, false);
        Ok(Layer::Conv(ConvLayer {
            g,
            w: wi,
            b: bi,
            input_grad,
        }))
    }

    pub(crate) fn batch_norm(&mut self, name: &str, relu: bool) -> Result<Layer, NnError> {
        let (c, _, _) = self.img("batch norm")?;
        let gamma = self.param(format!("{name}.weight"), vec![c], Init::Const(1.0));
        let beta = self.param(format!("{name}.bias"), vec![c], Init::Const(0.0));
        self.spec.bn_names.push((name.to_string(), c));
        Ok(Layer::BatchNorm(BnLayer {
            gamma,
            beta,
            stats: self.spec.bn_names.len() - 1,
            relu,
        }))
    }

    pub(crate) fn max_pool2(&mut self) -> Result<Layer, NnError> {
        let (c, h, w) = self.img("max pool")?;
        if h % 2 != 0 || w % 2 != 0 {
            return Err(NnError::Shape(format!(
                "2x2 max pool needs even sizes, got {h}x{w}"
            )));
        }
        self.shape = ActShape::Img(c, h / 2, w / 2);
        Ok(Layer::MaxPool2)
    }

    pub(crate) fn flatten(&mut self) -> Result<Layer, NnError> {
        let (c, h, w) = self.img("flatten")?;
        self.shape = ActShape::Flat(c * h * w);
        Ok(Layer::Flatten)
    }

    pub(crate) fn global_avg_pool(&mut self) -> Result<Layer, NnError> {
        let (c, _, _) = self.img("global average pool")?;
        self.shape = ActShape::Flat(c);
        Ok(Layer::GlobalAvgPool)
    }

    pub(crate) fn linear(&mut self, name: &str, fout: usize) -> Result<Layer, NnError> {
        let ActShape::Flat(fin) = self.shape else {
            return Err(NnError::Shape(format!(
                "{name}: linear needs a flat activation"
            )));
        };
        let bound = 1.0 / (fin as f32).sqrt();
        let w = self.param(
            format!("{name}.weight"),
            vec![fout, fin],
            Init::Uniform(bound),
        );
        let b = self.param(format!("{name}.bias"), vec![fout], Init::Uniform(bound));
        self.shape = ActShape::Flat(fout);
        let input_grad = !std::mem::replace(&mut self.first, false);
        Ok(Layer::Linear(LinearLayer {
            w,
            b,
            fin,
            fout,
            relu: false,
            input_grad,
        }))
    }

    /// Output channels of the current image activation.
    pub(crate) fn channels(&self) -> Result<usize, NnError> {
        Ok(self.img("channels")?.0)
    }

    pub(crate) fn finish(
        mut self,
        layers: Vec<Layer>,
        classes: usize,
    ) -> Result<ModelSpec, NnError> {
        match self.shape {
            ActShape::Flat(n) if n == classes => {
                self.spec.layers = fuse(layers);
                Ok(self.spec)
            }
            _ => Err(NnError::Shape(format!(
                "model does not end in {classes} logits"
            ))),
        }
    }
}

/// Running mean and running variance of one batch-norm layer.
pub(crate) type Running<D> = (Tensor<(usize,), f32, D>, Tensor<(usize,), f32, D>);

/// An activation flowing through the interpreter.
pub(crate) enum Act<D: Device<f32>, T> {
    Img(Tensor<Shape4, f32, D, T>),
    Flat(Tensor<(usize, usize), f32, D, T>),
}

/// What the interpreter reads and writes besides the activation.
pub(crate) struct Ctx<'a, D: NnDevice> {
    pub params: &'a [Tensor<(usize,), f32, D>],
    pub running: &'a mut [Running<D>],
    pub fast: bool,
    pub train: bool,
}

fn img<D: Device<f32>, T>(a: Act<D, T>) -> Tensor<Shape4, f32, D, T> {
    match a {
        Act::Img(t) => t,
        Act::Flat(_) => unreachable!("shapes are checked by SpecBuilder"),
    }
}

fn flat<D: Device<f32>, T>(a: Act<D, T>) -> Tensor<(usize, usize), f32, D, T> {
    match a {
        Act::Flat(t) => t,
        Act::Img(_) => unreachable!("shapes are checked by SpecBuilder"),
    }
}

fn update_running<D: NnDevice>(running: &mut Running<D>, stats: generic::BnTensors<D>, n: usize) {
    let unbias = n as f32 / (n.max(2) - 1) as f32;
    running.0 = running.0.clone() * (1.0 - BN_MOMENTUM) + stats.mean * BN_MOMENTUM;
    running.1 = running.1.clone() * (1.0 - BN_MOMENTUM) + stats.var * (BN_MOMENTUM * unbias);
}

/// Conv → batch norm (→ ReLU) (→ 2×2 max pool) as one block op; in training the batch's
/// statistics also update the running ones.
fn conv_bn<D: NnDevice, T: Tape<f32, D>>(
    ctx: &mut Ctx<'_, D>,
    t: Tensor<Shape4, f32, D, T>,
    (c, bn): (&ConvLayer, &BnLayer),
    pool: bool,
) -> Act<D, T> {
    let conv = (&ctx.params[c.w], &ctx.params[c.b]);
    let affine = (&ctx.params[bn.gamma], &ctx.params[bn.beta]);
    let flags = (BN_EPS, bn.relu, pool);
    if ctx.train {
        let (bsz, _, h, wd) = *t.shape();
        let (oh, ow) =
            c.g.out_hw(h, wd)
                .expect("shapes are checked by SpecBuilder");
        let (y, s) = D::nn_conv_bn_train(ctx.fast, t, conv, &c.g, c.input_grad, affine, flags);
        update_running(&mut ctx.running[bn.stats], s, bsz * oh * ow);
        Act::Img(y)
    } else {
        let (rm, rv) = &ctx.running[bn.stats];
        Act::Img(D::nn_conv_bn_eval(
            ctx.fast,
            t,
            conv,
            &c.g,
            affine,
            (rm, rv),
            flags,
        ))
    }
}

/// Batch norm (→ ReLU); in training the batch's statistics also update the running ones.
fn batch_norm<D: NnDevice, T: Tape<f32, D>>(
    ctx: &mut Ctx<'_, D>,
    t: Tensor<Shape4, f32, D, T>,
    bn: &BnLayer,
) -> Act<D, T> {
    let (gm, bt) = (&ctx.params[bn.gamma], &ctx.params[bn.beta]);
    if ctx.train {
        let (bsz, _, h, w) = *t.shape();
        let (y, s) = D::nn_batch_norm2d_train(ctx.fast, t, gm, bt, BN_EPS, bn.relu);
        update_running(&mut ctx.running[bn.stats], s, bsz * h * w);
        Act::Img(y)
    } else {
        let (rm, rv) = &ctx.running[bn.stats];
        Act::Img(D::nn_batch_norm2d_eval(
            ctx.fast,
            t,
            (gm, bt),
            (rm, rv),
            BN_EPS,
            bn.relu,
        ))
    }
}

/// Runs `layers` on `x`.
pub(crate) fn forward<D: NnDevice, T: Tape<f32, D>>(
    layers: &[Layer],
    ctx: &mut Ctx<'_, D>,
    mut x: Act<D, T>,
) -> Act<D, T> {
    for layer in layers {
        x = match layer {
            Layer::ConvBn { conv, bn, pool } => conv_bn(ctx, img(x), (conv, bn), *pool),
            Layer::Conv(c) => Act::Img(D::nn_conv2d(
                ctx.fast,
                img(x),
                &ctx.params[c.w],
                &ctx.params[c.b],
                &c.g,
                c.input_grad,
            )),
            Layer::BatchNorm(bn) => batch_norm(ctx, img(x), bn),
            Layer::MaxPool2 => Act::Img(D::nn_max_pool2(ctx.fast, img(x))),
            Layer::Relu => match x {
                Act::Img(t) => Act::Img(t.relu()),
                Act::Flat(t) => Act::Flat(t.relu()),
            },
            Layer::Flatten => {
                let t = img(x);
                let (b, c, h, w) = *t.shape();
                Act::Flat(t.reshape_like(&(b, c * h * w)))
            }
            Layer::GlobalAvgPool => Act::Flat(img(x).mean::<(usize, usize), Axes2<2, 3>>()),
            Layer::Linear(l) => Act::Flat(D::nn_linear(
                ctx.fast,
                flat(x),
                (&ctx.params[l.w], &ctx.params[l.b]),
                l.relu,
                l.input_grad,
            )),
            Layer::Residual(body) => {
                let t = img(x);
                let skip = t.retaped::<T>();
                let y = img(forward(body, ctx, Act::Img(t)));
                Act::Img(D::nn_add_relu(ctx.fast, y, skip))
            }
        };
    }
    x
}

/// Matrix-multiply FLOPs per image (2 per multiply-add) of the convolutions and linear layers
/// for `(c, h, w)` inputs: `(forward, training step)`.
///
/// A convolution costs `2·c_out·c_in·k²·oh·ow` forward; a linear layer `2·fin·fout`. A training
/// step adds the weight gradient (the same product again) and the input gradient (again, except
/// for a first convolution, which needs none). Batch norm, ReLU, pooling and the loss are left
/// out: a few FLOPs per value, bound by memory, not by the multiply units.
pub(crate) fn matmul_flops(
    layers: &[Layer],
    (mut c, mut h, mut w): (usize, usize, usize),
) -> (u64, u64) {
    let (mut fwd, mut train) = (0u64, 0u64);
    for layer in layers {
        match layer {
            Layer::Conv(conv) | Layer::ConvBn { conv, .. } => {
                let g = &conv.g;
                let (oh, ow) = g.out_hw(h, w).unwrap_or((0, 0));
                let f = 2 * (g.c_out * g.patch_len() * oh * ow) as u64;
                fwd += f;
                train += if conv.input_grad { 3 * f } else { 2 * f };
                (c, h, w) = (g.c_out, oh, ow);
                if matches!(layer, Layer::ConvBn { pool: true, .. }) {
                    (h, w) = (h / 2, w / 2);
                }
            }
            Layer::Linear(l) => {
                let f = 2 * (l.fin * l.fout) as u64;
                fwd += f;
                train += if l.input_grad { 3 * f } else { 2 * f };
                (c, h, w) = (l.fout, 1, 1);
            }
            Layer::MaxPool2 => (h, w) = (h / 2, w / 2),
            Layer::GlobalAvgPool => (h, w) = (1, 1),
            Layer::Flatten => (c, h, w) = (c * h * w, 1, 1),
            Layer::Residual(body) => {
                let (f, t) = matmul_flops(body, (c, h, w));
                fwd += f;
                train += t;
            }
            Layer::BatchNorm(_) | Layer::Relu => {}
        }
    }
    (fwd, train)
}

/// Runs a whole model on an image batch and returns the logits.
pub(crate) fn logits<D: NnDevice, T: Tape<f32, D>>(
    spec: &ModelSpec,
    ctx: &mut Ctx<'_, D>,
    x: Tensor<Shape4, f32, D, T>,
) -> Tensor<(usize, usize), f32, D, T> {
    flat(forward(&spec.layers, ctx, Act::Img(x)))
}
