//! `mlp`: flatten → linear 256 → ReLU → linear 128 → ReLU → linear.

use crate::nn::layers::{Layer, ModelSpec, SpecBuilder};
use crate::nn::NnError;

pub(crate) fn spec(input: (usize, usize, usize), classes: usize) -> Result<ModelSpec, NnError> {
    let mut b = SpecBuilder::new(input)?;
    let layers = vec![
        b.flatten()?,
        b.linear("fc1", 256)?,
        Layer::Relu,
        b.linear("fc2", 128)?,
        Layer::Relu,
        b.linear("fc3", classes)?,
    ];
    b.finish(layers, classes)
}
