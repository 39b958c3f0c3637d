//! `mnist-cnn`: conv 32 → BN → ReLU → pool → conv 64 → BN → ReLU → pool → flatten → linear.

use crate::nn::layers::{ModelSpec, SpecBuilder};
use crate::nn::NnError;

pub(crate) fn spec(input: (usize, usize, usize), classes: usize) -> Result<ModelSpec, NnError> {
    let mut b = SpecBuilder::new(input)?;
    let layers = vec![
        b.conv("conv1", 32, 3, 1)?,
        b.batch_norm("bn1", true)?,
        b.max_pool2()?,
        b.conv("conv2", 64, 3, 1)?,
        b.batch_norm("bn2", true)?,
        b.max_pool2()?,
        b.flatten()?,
        b.linear("fc", classes)?,
    ];
    b.finish(layers, classes)
}
