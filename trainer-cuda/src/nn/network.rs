//! [`Net`]: a model, its batch-norm running statistics and its optimiser on one device.

use std::collections::HashMap;
use std::path::Path;

use dfdx::prelude::*;

use super::device::NnDevice;
use super::layers::{self, Ctx, Init, ModelSpec};
use super::optim::{default_momentum, Optim};
use super::profile::{self, Phase, Span};
use super::{
    EvalResult, GradReduce, ImageSource, ModelKind, NamedTensor, Network, NnError, OptimizerKind,
    Snapshot,
};
use crate::data::rng::SplitMix64;

type P<D> = Tensor<(usize,), f32, D>;

/// A model on device `D`, with its running statistics and optimiser.
pub struct Net<D: NnDevice> {
    dev: D,
    kind: ModelKind,
    spec: ModelSpec,
    fast: bool,
    input: (usize, usize, usize),
    classes: usize,
    params: Vec<P<D>>,
    running: Vec<(P<D>, P<D>)>,
    optim: Optim<D>,
}

impl<D: NnDevice> Net<D> {
    /// Builds `kind` for `input = (c, h, w)` and `classes`, initialised from `seed` (the same
    /// weights on every device). `fast` selects the fast custom ops where the device has them.
    ///
    /// # Errors
    /// [`NnError::Shape`] when the model does not fit the input shape or class count.
    pub fn new(
        dev: D,
        kind: ModelKind,
        optimizer: OptimizerKind,
        fast: bool,
        seed: u64,
        input: (usize, usize, usize),
        classes: usize,
    ) -> Result<Self, NnError> {
        let spec = super::models::spec(kind, input, classes)?;
        let mut rng = SplitMix64::new(seed);
        let params: Vec<P<D>> = spec
            .params
            .iter()
            .map(|ps| {
                let n: usize = ps.shape.iter().product();
                let v: Vec<f32> = match ps.init {
                    Init::Uniform(b) => (0..n).map(|_| rng.uniform(b)).collect(),
                    Init::Const(c) => vec![c; n],
                };
                dev.tensor_from_vec(v, (n,))
            })
            .collect();
        let running = spec
            .bn_names
            .iter()
            .map(|(_, c)| (dev.zeros_like(&(*c,)), dev.ones_like(&(*c,))))
            .collect();
        let optim = Optim::new(optimizer, &params);
        Ok(Self {
            dev,
            kind,
            spec,
            fast: fast && D::HAS_FAST_OPS,
            input,
            classes,
            params,
            running,
            optim,
        })
    }

    /// The model this network was built as.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Whether the fast custom ops are in use.
    pub fn uses_fast_ops(&self) -> bool {
        self.fast
    }

    /// Checks `values` image values against `labels`; returns the number of images.
    fn check_batch(&self, values: usize, labels: &[u8]) -> Result<usize, NnError> {
        let (c, h, w) = self.input;
        let per = c * h * w;
        if labels.is_empty() || values != labels.len() * per {
            return Err(NnError::Batch(format!(
                "{} labels need {} image values ({}x{}x{} each), got {}",
                labels.len(),
                labels.len() * per,
                c,
                h,
                w,
                values
            )));
        }
        if let Some(&bad) = labels.iter().find(|&&l| usize::from(l) >= self.classes) {
            return Err(NnError::Batch(format!(
                "label {bad} is out of range for {} classes",
                self.classes
            )));
        }
        Ok(labels.len())
    }

    fn images(&self, images: &[f32], n: usize) -> Tensor<(usize, usize, usize, usize), f32, D> {
        let (c, h, w) = self.input;
        self.dev.tensor_from_vec(images.to_vec(), (n, c, h, w))
    }

    /// Computes the logits of a batch in eval mode (running statistics), on the host.
    ///
    /// # Errors
    /// [`NnError::Batch`] if `images` is not a whole number of images.
    pub fn predict(&mut self, images: &[f32]) -> Result<Vec<f32>, NnError> {
        let (c, h, w) = self.input;
        let per = c * h * w;
        if images.is_empty() || !images.len().is_multiple_of(per) {
            return Err(NnError::Batch(format!(
                "{} values are not a whole number of {c}x{h}x{w} images",
                images.len()
            )));
        }
        let x = self.images(images, images.len() / per);
        let mut ctx = Ctx {
            params: &self.params,
            running: &mut self.running,
            fast: self.fast,
            train: false,
        };
        Ok(layers::logits(&self.spec, &mut ctx, x).as_vec())
    }

    fn named(&self) -> Vec<(String, Vec<usize>, &P<D>)> {
        let mut out: Vec<(String, Vec<usize>, &P<D>)> = Vec::new();
        for (ps, p) in self.spec.params.iter().zip(&self.params) {
            out.push((ps.name.clone(), ps.shape.clone(), p));
        }
        for ((name, c), (m, v)) in self.spec.bn_names.iter().zip(&self.running) {
            out.push((format!("{name}.running_mean"), vec![*c], m));
            out.push((format!("{name}.running_var"), vec![*c], v));
        }
        for (bi, prefix) in self.optim.buffer_prefixes().into_iter().enumerate() {
            let bufs = if bi == 0 {
                &self.optim.buf1
            } else {
                &self.optim.buf2
            };
            for (ps, b) in self.spec.params.iter().zip(bufs) {
                out.push((format!("{prefix}.{}", ps.name), ps.shape.clone(), b));
            }
        }
        out
    }

    fn assign(
        &mut self,
        mut lookup: impl FnMut(&str, &[usize]) -> Result<Vec<f32>, NnError>,
    ) -> Result<(), NnError> {
        let mut fresh: Vec<Vec<f32>> = Vec::new();
        for (name, shape, _) in self.named() {
            fresh.push(lookup(&name, &shape)?);
        }
        let dev = self.dev.clone();
        let mk = |v: Vec<f32>| {
            let n = v.len();
            dev.tensor_from_vec(v, (n,))
        };
        let mut it = fresh.into_iter();
        for p in &mut self.params {
            *p = mk(it.next().expect("one value per name"));
        }
        for (m, v) in &mut self.running {
            *m = mk(it.next().expect("one value per name"));
            *v = mk(it.next().expect("one value per name"));
        }
        for b in &mut self.optim.buf1 {
            *b = mk(it.next().expect("one value per name"));
        }
        for b in &mut self.optim.buf2 {
            *b = mk(it.next().expect("one value per name"));
        }
        Ok(())
    }
}

fn check_shape(name: &str, want: &[usize], got: &[usize], len: usize) -> Result<(), NnError> {
    if want != got || want.iter().product::<usize>() != len {
        return Err(NnError::Checkpoint(format!(
            "tensor {name}: expected shape {want:?}, found {got:?}"
        )));
    }
    Ok(())
}

impl<D: NnDevice> Net<D> {
    /// One training step; with `reduce`, the gradients pass through it as one flat host
    /// buffer (all parameters in their fixed order) between the backward pass and the update.
    fn step(
        &mut self,
        images: &[f32],
        labels: &[u8],
        lr: f64,
        momentum: Option<f64>,
        reduce: Option<GradReduce<'_>>,
    ) -> Result<f32, NnError> {
        let n = self.check_batch(images.len(), labels)?;
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(NnError::Hyper(format!(
                "learning rate {lr} is not a finite non-negative number"
            )));
        }
        let mu = momentum.unwrap_or_else(|| default_momentum(self.optim.kind));
        if !(0.0..1.0).contains(&mu) {
            return Err(NnError::Hyper(format!("momentum {mu} is outside [0, 1)")));
        }
        let upload = Span::new(Phase::Step, || "upload batch, allocate gradients".into());
        let x = self.images(images, n);
        let mut onehot = vec![0.0f32; n * self.classes];
        for (i, &l) in labels.iter().enumerate() {
            onehot[i * self.classes + usize::from(l)] = 1.0;
        }
        let targets = self.dev.tensor_from_vec(onehot, (n, self.classes));
        // dfdx keeps tensor ids private, so `retain_leafs` cannot be called from here: the
        // gradients of intermediate tensors live until this step's `Gradients` is dropped.
        let mut grads = Gradients::leaky();
        for p in &self.params {
            grads
                .try_alloc_for(p)
                .map_err(|e| NnError::Device(format!("{e:?}")))?;
        }
        let mut ctx = Ctx {
            params: &self.params,
            running: &mut self.running,
            fast: self.fast,
            train: true,
        };
        drop(upload);
        let forward = Span::new(Phase::Step, || "forward (all layers, loss)".into());
        let logits = layers::logits(&self.spec, &mut ctx, x.traced(grads));
        let loss = cross_entropy_with_logits_loss(logits, targets);
        let value = loss.as_vec().first().copied().unwrap_or(f32::NAN);
        drop(forward);
        let backward = Span::new(Phase::Step, || "backward (all layers)".into());
        let grads = loss
            .try_backward()
            .map_err(|e| NnError::Device(format!("{e:?}")))?;
        let mut grads: Vec<P<D>> = self.params.iter().map(|p| grads.get(p)).collect();
        drop(backward);
        if let Some(reduce) = reduce {
            let mut flat: Vec<f32> =
                Vec::with_capacity(self.params.iter().map(|p| p.shape().0).sum());
            for g in &grads {
                // `copy_into` is a memcpy (dfdx's `as_vec` walks element by element).
                let start = flat.len();
                flat.resize(start + g.shape().0, 0.0);
                g.copy_into(&mut flat[start..]);
            }
            reduce(&mut flat)?;
            let mut rest = flat.as_slice();
            for g in &mut grads {
                let (mine, tail) = rest.split_at(g.shape().0);
                *g = self.dev.tensor_from_vec(mine.to_vec(), (mine.len(),));
                rest = tail;
            }
        }
        profile::timed(
            Phase::Step,
            || "optimiser update".into(),
            || {
                self.optim
                    .update(self.fast, &mut self.params, &grads, lr, mu);
            },
        );
        Ok(value)
    }
}

impl<D: NnDevice> Network for Net<D> {
    fn train_step(
        &mut self,
        images: &[f32],
        labels: &[u8],
        lr: f64,
        momentum: Option<f64>,
    ) -> Result<f32, NnError> {
        self.step(images, labels, lr, momentum, None)
    }

    fn train_step_reduced(
        &mut self,
        images: &[f32],
        labels: &[u8],
        lr: f64,
        momentum: Option<f64>,
        reduce: GradReduce<'_>,
    ) -> Result<f32, NnError> {
        self.step(images, labels, lr, momentum, Some(reduce))
    }

    fn evaluate(
        &mut self,
        images: &dyn ImageSource,
        labels: &[u8],
        batch: usize,
    ) -> Result<EvalResult, NnError> {
        self.check_batch(images.value_count(), labels)?;
        if batch == 0 {
            return Err(NnError::Batch(
                "evaluation batch size must be at least 1".into(),
            ));
        }
        let per = images.value_count() / labels.len();
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        let mut imgs = Vec::with_capacity(batch.min(labels.len()) * per);
        for (first, labs) in labels.chunks(batch).enumerate() {
            let start = first * batch * per;
            imgs.clear();
            images.read_values(start..start + labs.len() * per, &mut imgs);
            let logits = self.predict(&imgs)?;
            for (row, &l) in logits.chunks(self.classes).zip(labs) {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let lse = f64::from(max)
                    + row
                        .iter()
                        .map(|&v| f64::from(v - max).exp())
                        .sum::<f64>()
                        .ln();
                loss_sum += lse - f64::from(row[usize::from(l)]);
                let argmax = row
                    .iter()
                    .enumerate()
                    .fold(0, |b, (i, &v)| if v > row[b] { i } else { b });
                correct += usize::from(argmax == usize::from(l));
            }
        }
        Ok(EvalResult {
            loss: (loss_sum / labels.len() as f64) as f32,
            correct,
            total: labels.len(),
        })
    }

    fn snapshot(&self) -> Snapshot {
        let tensors = self
            .named()
            .into_iter()
            .map(|(name, shape, t)| NamedTensor {
                name,
                shape,
                data: t.as_vec(),
            })
            .collect();
        Snapshot {
            tensors,
            optimizer_step: self.optim.step,
        }
    }

    fn restore(&mut self, snapshot: &Snapshot) -> Result<(), NnError> {
        let by_name: HashMap<&str, &NamedTensor> = snapshot
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), t))
            .collect();
        self.assign(|name, shape| {
            let t = by_name
                .get(name)
                .ok_or_else(|| NnError::Checkpoint(format!("snapshot lacks tensor {name}")))?;
            check_shape(name, shape, &t.shape, t.data.len())?;
            Ok(t.data.clone())
        })?;
        self.optim.step = snapshot.optimizer_step;
        Ok(())
    }

    fn save(&self, path: &Path) -> Result<(), NnError> {
        super::checkpoint::save(&self.snapshot(), self.kind, path)
    }

    fn load(&mut self, path: &Path) -> Result<(), NnError> {
        let snap = super::checkpoint::load(path, self.kind)?;
        self.restore(&snap)
    }

    fn checkpoint_bytes(&self) -> Result<Vec<u8>, NnError> {
        super::checkpoint::to_bytes(&self.snapshot(), self.kind)
    }

    fn load_bytes(&mut self, bytes: &[u8], origin: &Path) -> Result<(), NnError> {
        let snap = super::checkpoint::from_bytes(bytes, origin, self.kind)?;
        self.restore(&snap)
    }

    fn num_params(&self) -> usize {
        self.params.iter().map(|p| p.shape().0).sum()
    }

    fn matmul_flops_per_image(&self) -> (u64, u64) {
        layers::matmul_flops(&self.spec.layers, self.input)
    }

    fn describe(&self) -> String {
        format!(
            "{} ({} parameters, {} layers)",
            self.kind,
            self.num_params(),
            if self.fast {
                "fast CPU"
            } else {
                "device-generic"
            }
        )
    }
}
