//! Device-generic layers made only of dfdx tensor ops, so they run on any `D: Device<f32>`
//! (CPU or CUDA): convolution as `gather` + `matmul`, linear layers as `matmul` + bias, pooling as `reshape` + `max`, batch norm
//! from reductions and broadcasts. Layout is NCHW, the same as the fast CPU ops.

mod batchnorm;
mod conv;
mod linear;
mod pool;

pub use batchnorm::{batch_norm2d_eval, batch_norm2d_train, BnTensors};
pub use conv::{conv2d, im2col_indices};
pub use linear::linear;
pub use pool::max_pool2;
