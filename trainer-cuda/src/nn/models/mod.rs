//! The model zoo: each model is a function from input shape and class count to a checked spec.

mod mlp;
mod mnist_cnn;
mod resnet;

use super::layers::ModelSpec;
use super::{ModelKind, NnError};

pub(crate) fn spec(
    kind: ModelKind,
    input: (usize, usize, usize),
    classes: usize,
) -> Result<ModelSpec, NnError> {
    if classes < 2 {
        return Err(NnError::Shape(format!(
            "need at least 2 classes, got {classes}"
        )));
    }
    match kind {
        ModelKind::MnistCnn => mnist_cnn::spec(input, classes),
        ModelKind::Mlp => mlp::spec(input, classes),
        ModelKind::ResNetSmall | ModelKind::ResNetMnist => resnet::spec(input, classes),
    }
}
