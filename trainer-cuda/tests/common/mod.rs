//! Helpers shared by the training tests: a synthetic data set, the network, the run control.
#![allow(dead_code)]

use trainer_cuda::data::{Dataset, Normalization};
use trainer_cuda::nn::{build_network, Backend, DeviceKind, Network};
use trainer_cuda::train::progress::Verbosity;
use trainer_cuda::train::{RunConfig, RunControl, RunDir};

/// A small learnable problem: the class is which quadrant of a 28×28 image is bright.
pub fn synthetic(n: usize, seed: u64) -> Dataset {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let mut pixels = Vec::with_capacity(n * 784);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let class = (next() % 4) as u8;
        for y in 0..28 {
            for x in 0..28 {
                let q = u8::from(y >= 14) * 2 + u8::from(x >= 14);
                let base = if q == class { 80 } else { 60 };
                pixels.push(base + (next() % 128) as u8);
            }
        }
        labels.push(class);
    }
    let norm = Normalization::from_pixels(&pixels, 1, 784);
    Dataset::from_bytes(pixels, labels, 1, 28, 28, 4, &norm)
}

/// The run's network on the CPU, for 28×28 single-channel images of 4 classes.
pub fn net(cfg: &RunConfig) -> Box<dyn Network> {
    build_network(
        cfg.model,
        cfg.optimizer.kind(cfg.weight_decay),
        DeviceKind::Cpu(Backend::Fast),
        cfg.seed,
        (1, 28, 28),
        4,
    )
    .unwrap()
}

/// Quiet control of a run, optionally stopping after `stop` epochs.
pub fn control(dir: Option<&RunDir>, stop: Option<u32>) -> RunControl<'_> {
    RunControl {
        dir,
        stop_after_epochs: stop,
        verbosity: Verbosity::Quiet,
        label: "t".into(),
        keep_checkpoints: None,
    }
}
