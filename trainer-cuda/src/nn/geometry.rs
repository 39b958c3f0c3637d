//! Layer geometry shared by the device-generic layers and the fast CPU ops.

/// An NCHW activation shape `(batch, channels, height, width)` with runtime sizes.
pub type Shape4 = (usize, usize, usize, usize);

/// A square, stride-1 convolution: `c_out` filters of `kernel × kernel × c_in`, zero padding `pad`.
///
/// Weights are stored as a flat `c_out × (c_in·kernel·kernel)` row-major matrix (the same order
/// as PyTorch's `(c_out, c_in, kh, kw)`), biases as `c_out` values.
///
/// ```
/// use trainer_cuda::nn::Conv2dGeometry;
/// let g = Conv2dGeometry { c_in: 1, c_out: 32, kernel: 3, pad: 1 };
/// assert_eq!(g.out_hw(28, 28), Some((28, 28)));
/// assert_eq!(g.patch_len(), 9);
/// assert_eq!(g.weight_len(), 288);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Input channels.
    pub c_in: usize,
    /// Output channels (filters).
    pub c_out: usize,
    /// Kernel height and width.
    pub kernel: usize,
    /// Zero padding on every side.
    pub pad: usize,
}

impl Conv2dGeometry {
    /// Output height and width for an `h × w` input, or `None` if the kernel does not fit.
    #[must_use]
    pub fn out_hw(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let oh = (h + 2 * self.pad).checked_sub(self.kernel)? + 1;
        let ow = (w + 2 * self.pad).checked_sub(self.kernel)? + 1;
        Some((oh, ow))
    }

    /// Length of one im2col patch: `c_in · kernel²` (the GEMM's inner dimension).
    #[must_use]
    pub const fn patch_len(&self) -> usize {
        self.c_in * self.kernel * self.kernel
    }

    /// Number of weights: `c_out · c_in · kernel²`.
    #[must_use]
    pub const fn weight_len(&self) -> usize {
        self.c_out * self.patch_len()
    }

    /// Where patch element `k` of output pixel `(oy, ox)` reads in one `c_in × h × w` image, or
    /// `None` when it falls in the zero padding.
    #[inline]
    #[must_use]
    pub fn source_index(
        &self,
        (h, w): (usize, usize),
        k: usize,
        oy: usize,
        ox: usize,
    ) -> Option<usize> {
        let kk = self.kernel * self.kernel;
        let (ci, r) = (k / kk, k % kk);
        let (ky, kx) = (r / self.kernel, r % self.kernel);
        let iy = (oy + ky).checked_sub(self.pad)?;
        let ix = (ox + kx).checked_sub(self.pad)?;
        (iy < h && ix < w).then_some((ci * h + iy) * w + ix)
    }
}
