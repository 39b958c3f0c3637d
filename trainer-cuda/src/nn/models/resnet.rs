//! The residual CNNs: `resnet-small` for 3×32×32 (CIFAR-10-format) inputs and `resnet-mnist`
//! for 1×28×28 (MNIST-format) inputs, one block design.
//!
//! Three stages of 16, 32 and 64 channels; each is conv → BN → ReLU followed by one residual
//! block `relu(x + BN(conv(relu(BN(conv(x))))))`; 2×2 max-pooling between stages (32 → 16 → 8,
//! or 28 → 14 → 7), global average pooling and a linear classifier at the end. Only the first
//! convolution's input channels differ: 121,898 parameters for 3 channels and 10 classes,
//! 121,610 for 1 channel.

use crate::nn::layers::{Layer, ModelSpec, SpecBuilder};
use crate::nn::NnError;

fn stage(b: &mut SpecBuilder, name: &str, c: usize) -> Result<Vec<Layer>, NnError> {
    let entry = vec![
        b.conv(&format!("{name}.conv"), c, 3, 1)?,
        b.batch_norm(&format!("{name}.bn"), true)?,
    ];
    let body = vec![
        b.conv(&format!("{name}.res.conv1"), c, 3, 1)?,
        b.batch_norm(&format!("{name}.res.bn1"), true)?,
        b.conv(&format!("{name}.res.conv2"), c, 3, 1)?,
        b.batch_norm(&format!("{name}.res.bn2"), false)?,
    ];
    debug_assert_eq!(b.channels()?, c);
    Ok(entry.into_iter().chain([Layer::Residual(body)]).collect())
}

pub(crate) fn spec(input: (usize, usize, usize), classes: usize) -> Result<ModelSpec, NnError> {
    let mut b = SpecBuilder::new(input)?;
    let mut layers = stage(&mut b, "stage1", 16)?;
    layers.push(b.max_pool2()?);
    layers.extend(stage(&mut b, "stage2", 32)?);
    layers.push(b.max_pool2()?);
    layers.extend(stage(&mut b, "stage3", 64)?);
    layers.push(b.global_avg_pool()?);
    layers.push(b.linear("fc", classes)?);
    b.finish(layers, classes)
}
