//! `--explore`: the step-budget × learning-rate × sample-order study behind the
//! demo's setup, printed as a table (see `firmware-demo/README.md`).
//!
//! For each step budget, the constant learning rate and the 1cycle peak are each
//! the best of the same grid by **mean validation accuracy over all sample
//! orders** (never the test set). At those choices it reports, per order, the
//! validation and test accuracies of both schedules and the paired difference
//! (1cycle − constant, same order): its mean and its range are the noise estimate.

use crate::{run_with, Data, VecSamples, CONSTANT_MOMENTUM, GRID};
use onecycle_finetune::finetune::{evaluate, Samples};
use onecycle_finetune::model::Params;
use onecycle_finetune::{ConstantLr, OneCycleSteps, StepSchedule};

/// Step budgets explored.
pub const BUDGETS: [u32; 4] = [30, 50, 100, 150];
/// Batch sizes explored.
pub const BATCHES: [u32; 3] = [8, 16, 32];
/// Sample orders (fine-tuning seeds) explored; the first is the demo's.
pub const ORDERS: [u32; 8] = [crate::SEED, 1, 2, 3, 4, 5, 6, 7];

/// Which schedule a row is about.
#[derive(Clone, Copy)]
enum Kind {
    Constant,
    OneCycle,
}

fn schedule(kind: Kind, lr: f32, steps: u32) -> crate::Result<Box<dyn StepSchedule>> {
    Ok(match kind {
        Kind::Constant => Box::new(ConstantLr {
            lr,
            momentum: CONSTANT_MOMENTUM,
        }),
        Kind::OneCycle => Box::new(
            OneCycleSteps::pytorch(lr, steps).map_err(|e| format!("1cycle schedule: {e}"))?,
        ),
    })
}

/// Fine-tuned parameters for every order.
fn runs(data: &Data, kind: Kind, lr: f32, steps: u32, batch: u32) -> crate::Result<Vec<Params>> {
    let s = schedule(kind, lr, steps)?;
    Ok(ORDERS
        .iter()
        .map(|&seed| run_with(&data.params, &data.shifted_train, &*s, steps, batch, seed))
        .collect())
}

fn correct(params: &[Params], set: &VecSamples) -> Vec<i64> {
    params.iter().map(|p| i64::from(evaluate(p, set))).collect()
}

fn mean(v: &[i64]) -> f64 {
    v.iter().sum::<i64>() as f64 / v.len() as f64
}

/// `mean [min, max]`.
fn summary(v: &[i64]) -> String {
    let (lo, hi) = (v.iter().min().unwrap_or(&0), v.iter().max().unwrap_or(&0));
    format!("{:6.1} [{lo:>4},{hi:>4}]", mean(v))
}

/// The best grid learning rate of `kind` at `steps` by mean validation accuracy
/// (ties keep the smaller rate), with its fine-tuned parameters per order.
fn best(data: &Data, kind: Kind, steps: u32, batch: u32) -> crate::Result<(f32, Vec<Params>)> {
    let mut best: Option<(f64, f32, Vec<Params>)> = None;
    for &lr in &GRID {
        let ps = runs(data, kind, lr, steps, batch)?;
        let m = mean(&correct(&ps, &data.shifted_val));
        if best.as_ref().is_none_or(|b| m > b.0) {
            best = Some((m, lr, ps));
        }
    }
    best.map(|(_, lr, ps)| (lr, ps))
        .ok_or_else(|| "empty learning-rate grid".to_string())
}

/// One row of the hyper-parameter grid: mean validation accuracy over [`ORDERS`].
pub struct GridRow {
    /// The learning rate (constant) and the 1cycle peak (`max_lr`).
    pub lr: f32,
    /// Mean correct validation samples, constant learning rate.
    pub constant: f64,
    /// Mean correct validation samples, 1cycle with this peak.
    pub onecycle: f64,
}

/// The grid at `steps` × `batch`: both schedules, every learning rate of [`GRID`].
pub fn grid(data: &Data, steps: u32, batch: u32) -> crate::Result<Vec<GridRow>> {
    GRID.iter()
        .map(|&lr| {
            let c = runs(data, Kind::Constant, lr, steps, batch)?;
            let o = runs(data, Kind::OneCycle, lr, steps, batch)?;
            Ok(GridRow {
                lr,
                constant: mean(&correct(&c, &data.shifted_val)),
                onecycle: mean(&correct(&o, &data.shifted_val)),
            })
        })
        .collect()
}

/// `(best constant lr, best 1cycle max_lr)` of a grid: the highest mean, ties
/// keep the smaller learning rate.
pub fn best_of(rows: &[GridRow]) -> (f32, f32) {
    let pick = |key: fn(&GridRow) -> f64| {
        rows.iter()
            .fold(None::<&GridRow>, |b, r| match b {
                Some(b) if key(b) >= key(r) => Some(b),
                _ => Some(r),
            })
            .map_or(GRID[0], |r| r.lr)
    };
    (pick(|r| r.constant), pick(|r| r.onecycle))
}

/// Prints the exploration table to stdout.
pub fn explore(data: &Data) -> crate::Result<()> {
    let (nv, nt) = (data.shifted_val.len(), data.shifted_test.len());
    println!(
        "# budget x lr x order study: batch sizes {BATCHES:?}, momentum {CONSTANT_MOMENTUM} (constant) / 0.95-0.85 (1cycle), grid {:?}, orders {:?}",
        GRID, ORDERS
    );
    println!(
        "# pre-trained: val {}/{nv}, test {}/{nt}; accuracies are correct samples: mean [min,max] over orders; diff = 1cycle - constant, paired by order",
        evaluate(&data.params, &data.shifted_val),
        evaluate(&data.params, &data.shifted_test)
    );
    println!(
        "batch | steps | const lr | const val {nv:<13}| 1cyc max_lr | 1cyc val {nv:<14}| diff val        | const test {nt:<12}| 1cyc test {nt:<13}| diff test"
    );
    for (&batch, &steps) in BATCHES
        .iter()
        .flat_map(|b| BUDGETS.iter().map(move |s| (b, s)))
    {
        let (lr_c, pc) = best(data, Kind::Constant, steps, batch)?;
        let (lr_o, po) = best(data, Kind::OneCycle, steps, batch)?;
        let (cv, ov) = (
            correct(&pc, &data.shifted_val),
            correct(&po, &data.shifted_val),
        );
        let (ct, ot) = (
            correct(&pc, &data.shifted_test),
            correct(&po, &data.shifted_test),
        );
        let dv: Vec<i64> = ov.iter().zip(&cv).map(|(o, c)| o - c).collect();
        let dt: Vec<i64> = ot.iter().zip(&ct).map(|(o, c)| o - c).collect();
        println!(
            "{batch:>5} | {steps:>5} | {lr_c:<8} | {}     | {lr_o:<11} | {}      | {} | {}       | {}      | {}",
            summary(&cv),
            summary(&ov),
            summary(&dv),
            summary(&ct),
            summary(&ot),
            summary(&dt)
        );
    }
    Ok(())
}
