//! 2×2 stride-2 max-pooling as a 6-D reshape followed by a max over the window axes.

use dfdx::prelude::*;

use crate::nn::geometry::Shape4;

/// 2×2 max-pooling with stride 2 on an NCHW batch with even height and width.
///
/// dfdx's `max` sends the gradient to every input equal to the maximum (ties share it), where
/// the fast CPU op picks the first; both agree whenever the window has a unique maximum.
///
/// # Panics
/// If height or width is odd (models validate shapes once at construction).
pub fn max_pool2<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<Shape4, f32, D, T>,
) -> Tensor<Shape4, f32, D, T> {
    let (b, c, h, w) = *x.shape();
    assert!(
        h % 2 == 0 && w % 2 == 0,
        "max_pool2: odd spatial size {h}x{w}"
    );
    x.reshape_like(&(b, c, h / 2, 2usize, w / 2, 2usize))
        .max::<Shape4, Axes2<3, 5>>()
}
