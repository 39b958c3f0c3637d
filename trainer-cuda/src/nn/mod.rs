//! The neural-network layer of the trainer, on dfdx 0.13 (stable Rust).
//!
//! dfdx 0.13 offers convolution and pooling only under its `nightly` feature, so this module
//! brings its own, twice:
//!
//! * [`generic`]: layers made of dfdx ops (`gather` + `matmul` convolution, `reshape` + `max`
//!   pooling, batch norm from reductions), so they run on any dfdx device, CUDA included.
//! * fast CPU ops (`cpu_ops`): im2col + GEMM convolution (its weight gradient through shifted
//!   views where that is faster), argmax max-pooling, batch norm + ReLU, conv + batch norm
//!   (+ ReLU) (+ max-pool) as one block op, the residual join `relu(y + skip)`, linear layers on
//!   `gemm` with bias and ReLU fused, rayon-parallel, recorded on dfdx's public tape API. [`Cpu`]
//!   uses them by default ([`Backend::Fast`]); [`Backend::Generic`] forces the generic layers for
//!   comparison.
//!
//! Everything else (a standalone ReLU, loss, autodiff) is dfdx's. Optimisers are our own, on
//! dfdx tensor ops (SGD's update fused on the CPU), because dfdx keeps its optimiser state private and checkpoints must resume
//! bit for bit. Call [`tune_allocator`] once at start-up (see [`alloc`](tune_allocator)).
//!
//! ```
//! use trainer_cuda::nn::{build_network, Backend, DeviceKind, ModelKind, OptimizerKind};
//! let mut net = build_network(
//!     ModelKind::Mlp,
//!     OptimizerKind::Sgd { nesterov: false, weight_decay: 0.0 },
//!     DeviceKind::Cpu(Backend::Fast),
//!     7,
//!     (1, 4, 4),
//!     3,
//! )?;
//! let images = vec![0.5f32; 2 * 16];
//! let loss = net.train_step(&images, &[0, 2], 0.01, Some(0.9))?;
//! assert!(loss.is_finite());
//! let eval = net.evaluate(&images, &[0, 2], 8)?;
//! assert_eq!(eval.total, 2);
//! # Ok::<(), trainer_cuda::nn::NnError>(())
//! ```

mod alloc;
mod checkpoint;
pub mod cpu_ops;
mod device;
pub mod generic;
mod geometry;
mod layers;
mod models;
mod network;
mod optim;
pub mod profile;
mod threads;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use dfdx::prelude::Cpu;

pub use alloc::{peak_rss_bytes, tune_allocator};
pub use device::NnDevice;
pub use geometry::{Conv2dGeometry, Shape4};
pub use network::Net;
pub use optim::SgdStep;
pub use threads::{cap_threads, THREADS_ENV};

/// Errors of the nn layer. Every message names the problem and, where there is one, the fix.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NnError {
    /// The model does not fit the input shape or class count.
    Shape(String),
    /// A batch's images and labels disagree with the model.
    Batch(String),
    /// A hyper-parameter is out of range.
    Hyper(String),
    /// A checkpoint or snapshot could not be written, read or applied.
    Checkpoint(String),
    /// The requested device is unavailable or failed.
    Device(String),
    /// An unknown model name.
    UnknownModel(String),
    /// Data-parallel training failed: a collective operation, or ranks that disagree.
    Distributed(String),
}

impl fmt::Display for NnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shape(m) => write!(f, "model shape: {m}"),
            Self::Batch(m) => write!(f, "batch: {m}"),
            Self::Hyper(m) => write!(f, "hyper-parameter: {m}"),
            Self::Checkpoint(m) => write!(f, "checkpoint: {m}"),
            Self::Device(m) => write!(f, "device: {m}"),
            Self::Distributed(m) => write!(f, "data-parallel: {m}"),
            Self::UnknownModel(m) => {
                write!(
                    f,
                    "unknown model {m:?}: use one of mnist-cnn, mlp, resnet-small, resnet-mnist"
                )
            }
        }
    }
}

impl std::error::Error for NnError {}

/// The models this trainer can build.
///
/// ```
/// use trainer_cuda::nn::ModelKind;
/// assert_eq!("resnet-small".parse::<ModelKind>(), Ok(ModelKind::ResNetSmall));
/// assert_eq!(ModelKind::MnistCnn.to_string(), "mnist-cnn");
/// assert!("vgg".parse::<ModelKind>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ModelKind {
    /// conv 1→32 3×3 pad 1 → BN → ReLU → pool 2 → conv 32→64 → BN → ReLU → pool 2 → linear.
    #[serde(rename = "mnist-cnn")]
    MnistCnn,
    /// flatten → 256 → ReLU → 128 → ReLU → classes.
    #[serde(rename = "mlp")]
    Mlp,
    /// A small residual CNN for 3×32×32 inputs (CIFAR-10 format).
    #[serde(rename = "resnet-small")]
    ResNetSmall,
    /// `resnet-small`'s block design for 1×28×28 inputs (MNIST format).
    #[serde(rename = "resnet-mnist")]
    ResNetMnist,
}

impl ModelKind {
    /// All models, in CLI order.
    pub const ALL: [ModelKind; 4] = [
        Self::MnistCnn,
        Self::Mlp,
        Self::ResNetSmall,
        Self::ResNetMnist,
    ];

    /// The CLI name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::MnistCnn => "mnist-cnn",
            Self::Mlp => "mlp",
            Self::ResNetSmall => "resnet-small",
            Self::ResNetMnist => "resnet-mnist",
        }
    }

    /// The input shape `(channels, height, width)` the model is designed for (every model
    /// builds for any shape its layers fit; `mlp` takes MNIST's).
    ///
    /// ```
    /// use trainer_cuda::nn::ModelKind;
    /// assert_eq!(ModelKind::ResNetSmall.designed_input(), (3, 32, 32));
    /// assert_eq!(ModelKind::ResNetMnist.designed_input(), (1, 28, 28));
    /// ```
    #[must_use]
    pub const fn designed_input(self) -> (usize, usize, usize) {
        match self {
            Self::ResNetSmall => (3, 32, 32),
            Self::MnistCnn | Self::Mlp | Self::ResNetMnist => (1, 28, 28),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = NnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| NnError::UnknownModel(s.to_string()))
    }
}

/// Optimisers (PyTorch's update rules). The per-step `momentum` of [`Network::train_step`] is
/// SGD's momentum, Adam/AdamW's β1 or RMSprop's momentum (defaults when `None`: 0.9, 0.9, 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// SGD with (optionally Nesterov) momentum and L2 weight decay added to the gradient.
    Sgd {
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 penalty added to the gradient.
        weight_decay: f32,
    },
    /// Adam (β2 = 0.999, ε = 1e-8).
    Adam,
    /// AdamW: Adam with decoupled weight decay `p ← p·(1 − lr·wd)`.
    AdamW {
        /// Decoupled weight decay.
        weight_decay: f32,
    },
    /// RMSprop (α = 0.99, ε = 1e-8) with optional momentum.
    RmsProp,
}

/// Which implementation of the CNN layers to use on the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// The fast custom CPU ops.
    #[default]
    Fast,
    /// The device-generic layers (what CUDA runs), for tests and comparison.
    Generic,
}

/// Where to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// dfdx's CPU device with the given layer backend.
    Cpu(Backend),
    /// dfdx's CUDA device (GPU 0; needs the `cuda` feature); always the generic layers.
    Cuda,
}

/// A named f32 tensor on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// Name, e.g. `conv1.weight`, `bn1.running_mean`, `optim.buf1.conv1.weight`.
    pub name: String,
    /// Logical shape (PyTorch order, e.g. `[c_out, c_in, kh, kw]`).
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// A host copy of everything that evolves during training: parameters, batch-norm running
/// statistics and optimiser state (buffers and step count).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// All tensors, in the network's fixed order.
    pub tensors: Vec<NamedTensor>,
    /// Optimiser steps taken (Adam's bias correction depends on it).
    pub optimizer_step: u64,
}

/// The result of [`Network::evaluate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalResult {
    /// Mean cross-entropy loss.
    pub loss: f32,
    /// Correct top-1 predictions.
    pub correct: usize,
    /// Examples evaluated.
    pub total: usize,
}

impl EvalResult {
    /// Top-1 accuracy in `[0, 1]`.
    #[must_use]
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// Normalised f32 NCHW images that [`Network::evaluate`] reads a batch at a time: a slice of
/// values, or a data set that keeps bytes and normalises them as they are read
/// ([`crate::data::Dataset`]).
pub trait ImageSource {
    /// Number of f32 values in all (images × values per image).
    fn value_count(&self) -> usize;
    /// Appends the values at `range` (value indices, inside `0..value_count()`) to `out`.
    fn read_values(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>);
}

/// The data set's images, normalised as they are read.
impl ImageSource for crate::data::Dataset {
    fn value_count(&self) -> usize {
        self.len() * self.image_len()
    }

    fn read_values(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        let range = range.start.min(self.value_count())..range.end.min(self.value_count());
        self.normalization.extend_normalised(
            &self.pixels()[range.clone()],
            range.start,
            self.height * self.width,
            out,
        );
    }
}

impl ImageSource for [f32] {
    fn value_count(&self) -> usize {
        self.len()
    }
    fn read_values(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        out.extend_from_slice(&self[range]);
    }
}

impl ImageSource for Vec<f32> {
    fn value_count(&self) -> usize {
        self.len()
    }
    fn read_values(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        self.as_slice().read_values(range, out);
    }
}

/// The values `start..start + len` of another source, as a source of their own (one rank's
/// shard of an evaluation set).
pub struct SubImages<'a> {
    /// The whole source.
    pub source: &'a dyn ImageSource,
    /// First value.
    pub start: usize,
    /// Number of values.
    pub len: usize,
}

impl ImageSource for SubImages<'_> {
    fn value_count(&self) -> usize {
        self.len
    }
    fn read_values(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        self.source
            .read_values(self.start + range.start..self.start + range.end, out);
    }
}

/// What [`Network::train_step_reduced`] passes the flat gradient buffer to.
pub type GradReduce<'a> = &'a mut dyn FnMut(&mut [f32]) -> Result<(), NnError>;

/// A trainable classifier on some device (object safe: use `Box<dyn Network>`).
///
/// Images are f32 NCHW, already normalised; labels are class indices.
pub trait Network {
    /// One optimiser step on a batch (`labels.len()` images) with learning rate `lr` and the
    /// optimiser's momentum-like value (see [`OptimizerKind`]); returns the batch's mean loss.
    ///
    /// # Errors
    /// [`NnError::Batch`] for mismatched images/labels or labels out of range, [`NnError::Hyper`]
    /// for a negative or non-finite `lr` or momentum outside `[0, 1)`.
    fn train_step(
        &mut self,
        images: &[f32],
        labels: &[u8],
        lr: f64,
        momentum: Option<f64>,
    ) -> Result<f32, NnError>;
    /// As [`Network::train_step`], with the gradients of all parameters passed to `reduce`
    /// as one flat buffer (the parameters' fixed order) between the backward pass and the
    /// update: data-parallel training averages them across processes there
    /// ([`crate::dist::DataParallel`]).
    ///
    /// # Errors
    /// As [`Network::train_step`], and whatever `reduce` returns.
    fn train_step_reduced(
        &mut self,
        images: &[f32],
        labels: &[u8],
        lr: f64,
        momentum: Option<f64>,
        reduce: GradReduce<'_>,
    ) -> Result<f32, NnError>;
    /// Mean loss and correct count over a data set, in eval mode, `batch` images at a time.
    ///
    /// # Errors
    /// As [`Network::train_step`], and for `batch == 0`.
    fn evaluate(
        &mut self,
        images: &dyn ImageSource,
        labels: &[u8],
        batch: usize,
    ) -> Result<EvalResult, NnError>;
    /// A host copy of parameters, running statistics and optimiser state.
    fn snapshot(&self) -> Snapshot;
    /// Restores a [`Snapshot`] of the same model exactly.
    ///
    /// # Errors
    /// [`NnError::Checkpoint`] when a tensor is missing or has the wrong shape.
    fn restore(&mut self, snapshot: &Snapshot) -> Result<(), NnError>;
    /// Saves the snapshot as a safetensors file (atomically).
    ///
    /// # Errors
    /// [`NnError::Checkpoint`] on I/O failure.
    fn save(&self, path: &Path) -> Result<(), NnError>;
    /// Loads a file written by [`Network::save`] for the same model.
    ///
    /// # Errors
    /// [`NnError::Checkpoint`] on I/O failure, another model's file, or mismatched tensors.
    fn load(&mut self, path: &Path) -> Result<(), NnError>;
    /// The bytes [`Network::save`] would write (so that a caller can hash what it writes).
    ///
    /// # Errors
    /// [`NnError::Checkpoint`] when serialising fails.
    fn checkpoint_bytes(&self) -> Result<Vec<u8>, NnError>;
    /// Loads checkpoint bytes as [`Network::load`] loads a file (for bytes already read and
    /// verified); `origin` only names them in errors.
    ///
    /// # Errors
    /// As [`Network::load`], less the I/O.
    fn load_bytes(&mut self, bytes: &[u8], origin: &Path) -> Result<(), NnError>;
    /// Number of trainable parameters.
    fn num_params(&self) -> usize;
    /// One line for logs: model, parameter count, layer backend.
    fn describe(&self) -> String;
    /// Matrix-multiply FLOPs per image, `(forward, training step)`: the bench's FLOP model
    /// (convolutions and linear layers; see the throughput bench's docs).
    fn matmul_flops_per_image(&self) -> (u64, u64);
}

/// Builds a model by name on a device, initialised from `seed`, for `input = (c, h, w)` images
/// and `classes` classes.
///
/// # Errors
/// [`NnError::Shape`] if the model does not fit; [`NnError::Device`] if CUDA is requested
/// without the `cuda` feature or no GPU can be opened.
pub fn build_network(
    kind: ModelKind,
    optimizer: OptimizerKind,
    device: DeviceKind,
    seed: u64,
    input: (usize, usize, usize),
    classes: usize,
) -> Result<Box<dyn Network>, NnError> {
    match device {
        DeviceKind::Cpu(backend) => {
            let dev = Cpu::default();
            let net = Net::new(
                dev,
                kind,
                optimizer,
                backend == Backend::Fast,
                seed,
                input,
                classes,
            )?;
            Ok(Box::new(net))
        }
        DeviceKind::Cuda => build_cuda(kind, optimizer, seed, input, classes),
    }
}

#[cfg(feature = "cuda")]
fn build_cuda(
    kind: ModelKind,
    optimizer: OptimizerKind,
    seed: u64,
    input: (usize, usize, usize),
    classes: usize,
) -> Result<Box<dyn Network>, NnError> {
    use dfdx::prelude::Cuda;
    // cudarc 0.9 unwraps a failing `cuInit` (no driver, a stub library): turn that panic
    // into a typed error, without the panic message on stderr.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let opened = std::panic::catch_unwind(|| Cuda::try_seed_from_u64(seed));
    std::panic::set_hook(hook);
    let dev =
        match opened {
            Ok(Ok(dev)) => dev,
            Ok(Err(e)) => return Err(NnError::Device(format!("cannot open CUDA GPU 0: {e:?}"))),
            Err(_) => return Err(NnError::Device(
                "cannot initialise the CUDA driver (no NVIDIA driver or GPU?): use --device cpu"
                    .into(),
            )),
        };
    Ok(Box::new(Net::new(
        dev, kind, optimizer, false, seed, input, classes,
    )?))
}

#[cfg(not(feature = "cuda"))]
fn build_cuda(
    _: ModelKind,
    _: OptimizerKind,
    _: u64,
    _: (usize, usize, usize),
    _: usize,
) -> Result<Box<dyn Network>, NnError> {
    Err(NnError::Device(
        "this build has no CUDA support: rebuild with --features cuda, or use the CPU".into(),
    ))
}
