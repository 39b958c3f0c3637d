//! Options shared by the commands that train: data, model, optimiser, device.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cli::choice::choice;
use crate::data::{load, resolve_data_dir, DatasetName, Split};
use crate::nn::ModelKind;
use crate::nn::{build_network, DeviceKind, Network};
use crate::train::config::{DeviceName, OptimizerName};
use crate::train::progress::{note, Verbosity};

/// Data, model, optimiser and device options.
#[derive(Args, Debug, Clone)]
pub struct TrainingArgs {
    /// Data set (fetched on first use).
    #[arg(long, value_parser = choice::<DatasetName>(), default_value = "mnist")]
    pub dataset: DatasetName,
    /// Model.
    #[arg(long, value_parser = choice::<ModelKind>(), default_value = "mnist-cnn")]
    pub model: ModelKind,
    /// Optimiser.
    #[arg(long, value_parser = choice::<OptimizerName>(), default_value = "sgd")]
    pub optimizer: OptimizerName,
    /// Weight decay (SGD: L2 added to the gradient; AdamW: decoupled); finite, >= 0.
    #[arg(long, default_value_t = 1e-4, value_parser = parse_weight_decay)]
    pub weight_decay: f32,
    /// Images per step.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Seed of the initial weights and of the data order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to train.
    #[arg(long, value_parser = choice::<DeviceName>(), default_value = "auto")]
    pub device: DeviceName,
    /// Where data sets live (default: $ONECYCLE_DATA, else ./data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Use only the first N training images (quick runs).
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Use only the first N test images (quick runs).
    #[arg(long)]
    pub test_limit: Option<usize>,
    /// No progress bars or summary lines on stderr.
    #[arg(long)]
    pub quiet: bool,
}

impl TrainingArgs {
    /// Bars or not.
    pub fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else {
            Verbosity::Normal
        }
    }

    /// Loads (fetching if needed) the data set.
    ///
    /// # Errors
    /// Fetch or file problems, with the fix.
    pub fn load_data(&self) -> Result<Split> {
        if let Some(0) = self.train_limit {
            anyhow::bail!("--train-limit 0 leaves nothing to train on: give at least one batch");
        }
        let dir = resolve_data_dir(self.data_dir.as_deref());
        load(self.dataset, &dir).map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Builds the network on the first device that works, saying which.
    ///
    /// # Errors
    /// No requested device works, or the model does not fit the data.
    pub fn build(&self, data: &Split) -> Result<(Box<dyn Network>, DeviceKind)> {
        let mut last = None;
        for device in self.device.candidates() {
            match build_network(
                self.model,
                self.optimizer.kind(self.weight_decay),
                device,
                self.seed,
                (data.train.channels, data.train.height, data.train.width),
                data.train.classes,
            ) {
                Ok(net) => {
                    note(
                        self.verbosity(),
                        &format!("device: {device:?}; model: {}", net.describe()),
                    );
                    return Ok((net, device));
                }
                Err(e) => {
                    if self.device == DeviceName::Auto {
                        note(
                            self.verbosity(),
                            &format!("{device:?} unavailable ({e}); trying the next device"),
                        );
                    }
                    last = Some(e);
                }
            }
        }
        Err(anyhow::anyhow!(
            "{}",
            last.map_or("no device".to_string(), |e| e.to_string())
        ))
        .context("cannot build the model")
    }
}

/// `--weight-decay`: a finite number >= 0 (a negative one grows the weights; NaN or
/// infinity would end the run as a divergence blamed on the lr).
///
/// # Errors
/// Anything else, with the fix.
pub fn parse_weight_decay(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number: give a weight decay such as 1e-4 or 0"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!(
            "{v} is not a weight decay: give a finite number >= 0, such as 1e-4 (or 0 for none)"
        ))
    }
}
