//! The protocol's two searches, pure of training: equal tuning over the lr grid, which
//! grows beyond an edge that wins ([`tune_on_grid`], [`extend_grid`]), and the climb up
//! a budget ladder that stops once a target is reached ([`climb`]).

use anyhow::Result;

use crate::study::MAX_GRID_EXTENSIONS;

/// The next lr to try when `winner` is the smallest or largest of `lrs` (ascending): one
/// more step beyond that edge, the same ratio as the step next to it (a half-decade on
/// the default grid: 0.01 → 0.0033, 1 → 3.3). `None` when the winner is inside the grid
/// or the grid has a single point.
///
/// ```
/// use trainer_cuda::study::extend_grid;
/// let grid = [0.01, 0.03, 0.1, 0.3, 1.0];
/// assert!((extend_grid(&grid, 0.01).unwrap() - 0.01 / 3.0).abs() < 1e-15);
/// assert!((extend_grid(&grid, 1.0).unwrap() - 1.0 / 0.3).abs() < 1e-12);
/// assert_eq!(extend_grid(&grid, 0.1), None);
/// assert_eq!(extend_grid(&[0.1], 0.1), None);
/// ```
pub fn extend_grid(lrs: &[f64], winner: f64) -> Option<f64> {
    match lrs {
        [lo, next, ..] if winner == *lo => Some(lo * (lo / next)),
        [.., prev, hi] if winner == *hi => Some(hi * (hi / prev)),
        _ => None,
    }
}

/// The grid point with the best final validation accuracy (the smaller lr on a tie).
fn best_of(trials: &[(f64, f64)]) -> f64 {
    trials
        .iter()
        .fold(None::<(f64, f64)>, |best, &(lr, acc)| match best {
            Some((_, b)) if b >= acc => best,
            _ => Some((lr, acc)),
        })
        .map_or(f64::NAN, |(lr, _)| lr)
}

/// Equal tuning, the one rule for every family and reference: one `trial(lr)` (the final
/// validation accuracy) per point of `grid`, ascending; while the winner sits on an edge,
/// the grid grows one step beyond it ([`extend_grid`]), at most [`MAX_GRID_EXTENSIONS`]
/// times (`on_extend(winner, next)` is told). Returns the winner (the smaller lr on a tie)
/// and every trial `(lr, accuracy)` in the order run.
///
/// ```
/// use trainer_cuda::study::tune_on_grid;
/// // Accuracy peaks at lr 3: the grid's top edge wins twice and grows twice.
/// let acc = |lr: f64| Ok(-(lr / 3.0).ln().abs());
/// let (winner, trials) = tune_on_grid(&[0.1, 0.3, 1.0], acc, |_, _| {}).unwrap();
/// assert!((winner - 1.0 / 0.3).abs() < 1e-12);
/// assert_eq!(trials.len(), 5);
/// ```
///
/// # Errors
/// The first error of `trial`.
pub fn tune_on_grid(
    grid: &[f64],
    mut trial: impl FnMut(f64) -> Result<f64>,
    mut on_extend: impl FnMut(f64, f64),
) -> Result<(f64, Vec<(f64, f64)>)> {
    let mut lrs = grid.to_vec();
    lrs.sort_by(f64::total_cmp);
    let mut trials: Vec<(f64, f64)> = Vec::with_capacity(lrs.len() + MAX_GRID_EXTENSIONS);
    let mut extensions = 0;
    loop {
        for &lr in &lrs {
            if trials.iter().all(|(tried, _)| *tried != lr) {
                trials.push((lr, trial(lr)?));
            }
        }
        let winner = best_of(&trials);
        match extend_grid(&lrs, winner) {
            Some(next) if extensions < MAX_GRID_EXTENSIONS => {
                on_extend(winner, next);
                lrs.push(next);
                lrs.sort_by(f64::total_cmp);
                extensions += 1;
            }
            _ => return Ok((winner, trials)),
        }
    }
}

/// A ladder: `run(budget)` for each rung in order, stopping after the first whose
/// accuracy (`acc`) reaches `stop_at` (when given). The rungs above cannot change the
/// epochs to any target at or below `stop_at` (the smallest rung at a target counts).
///
/// ```
/// use trainer_cuda::study::climb;
/// let acc = |b: &f64| if *b >= 4.0 { 0.99 } else { 0.9 };
/// let run = |b: f64| Ok(b);
/// assert_eq!(climb(&[1.0, 2.0, 4.0, 8.0], Some(0.98), run, acc).unwrap(), vec![1.0, 2.0, 4.0]);
/// assert_eq!(climb(&[1.0, 2.0, 4.0, 8.0], None, run, acc).unwrap().len(), 4);
/// assert_eq!(climb(&[1.0, 2.0], Some(0.995), run, acc).unwrap().len(), 2);
/// ```
///
/// # Errors
/// The first error of `run`.
pub fn climb<T>(
    budgets: &[f64],
    stop_at: Option<f64>,
    mut run: impl FnMut(f64) -> Result<T>,
    acc: impl Fn(&T) -> f64,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(budgets.len());
    for &b in budgets {
        let r = run(b)?;
        let reached = stop_at.is_some_and(|t| acc(&r) >= t);
        out.push(r);
        if reached {
            break;
        }
    }
    Ok(out)
}
