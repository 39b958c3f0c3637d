//! On-device fine-tuning for the `firmware-demo`: the logic, tested on the host.
//!
//! A small MLP (14×14 pixels → 32 ReLU units → 10 classes) is pre-trained on the
//! host on MNIST, exported in a [`blob`] together with samples of a shifted domain
//! (digits rotated by a fixed angle), and fine-tuned on a Cortex-M4F with SGD and
//! momentum, its learning rate and momentum driven by a [`StepSchedule`]: the
//! 1cycle policy of `onecycle-core`, or a constant learning rate for comparison.
//!
//! Everything is `f32` with no fused operations and no platform math library, so
//! the host and the firmware compute the same bits: [`checksum`] of the final
//! weights is logged by both.
//!
//! ```
//! use onecycle_finetune::{model::Params, checksum};
//! let p = Params::zeroed();
//! assert_eq!(checksum(&p), checksum(&Params::zeroed()));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blob;
pub mod finetune;
pub mod model;
pub mod rng;
pub mod schedule;

pub use blob::{Blob, BlobError, Hyper};
pub use finetune::{
    evaluate, fine_tune, Outcome, RunSpec, Samples, SourceSplit, TestSplit, TrainSplit,
};
pub use model::{Params, HIDDEN, INPUTS, N_PARAMS, OUTPUTS};
pub use schedule::{ConstantLr, OneCycleSteps, StepSchedule};

/// FNV-1a over the bit patterns of all parameters, in [`Params::as_slice`] order.
///
/// Equal checksums on host and device show the two computed the same bits.
#[must_use]
pub fn checksum(params: &Params) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for w in params.as_slice() {
        for b in w.to_bits().to_le_bytes() {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}
