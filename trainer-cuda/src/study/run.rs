//! Running the study: every run looked up in the store or trained, equal tuning on the
//! grid and the ladders (by the rules of `search`), the references, and [`run_study`],
//! which measures, scores and writes the study.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::data::Split;
use crate::dist::Solo;
use crate::nn::{build_network, Network};
use crate::study::reference::{Reference, ReferenceMeasured};
use crate::study::report::StudyReport;
use crate::study::search::{climb, tune_on_grid};
use crate::study::show::show_epochs;
use crate::study::store::{
    device_name, range_key, train_command, RangeRecord, RunRecord, RunStore,
};
use crate::study::{Family, StudyConfig, MAX_GRID_EXTENSIONS, SENSITIVITY};
use crate::train::learner::Learner;
use crate::train::progress::note;
use crate::train::run::RunEnd;

/// One run of the study: which family and role it played, and what it measured.
#[derive(Clone, Debug, Serialize)]
pub struct StudyRun {
    /// The family.
    pub family: Family,
    /// Learning rate (peak, or constant).
    pub lr: f64,
    /// Budget in epochs.
    pub budget: f64,
    /// Seed.
    pub seed: u64,
    /// The measurement.
    #[serde(flatten)]
    pub record: RunRecord,
}

/// What [`run_study`] measured, before scoring.
#[derive(Clone, Debug, Default)]
pub struct Measurements {
    /// Grid trials: `(family, lr, final validation accuracy)` on seed 0.
    pub tuning: Vec<(Family, f64, f64)>,
    /// The grid winner of each tuned family.
    pub winners: Vec<(Family, f64)>,
    /// Range tests, one per seed.
    pub ranges: Vec<RangeRecord>,
    /// The references (reference mode), in the order given.
    pub references: Vec<ReferenceMeasured>,
    /// Sensitivity of 1cycle to ×[`SENSITIVITY`] of seed 0's `auto` lr at the tuning budget:
    /// `(multiple, lr, final validation accuracy)`.
    pub sensitivity: Vec<(f64, f64, f64)>,
    /// The ladder runs of every family and seed.
    pub runs: Vec<StudyRun>,
    /// Runs trained by this invocation, and runs found in the store.
    pub trained: usize,
    /// Runs found in the store.
    pub reused: usize,
    /// Training seconds recorded by every distinct run looked up (trained now or kept
    /// from the store): the study's cost, whichever invocation paid it.
    pub recorded_train_seconds: f64,
}

struct Runner<'a> {
    cfg: &'a StudyConfig,
    data: &'a Split,
    store: RunStore,
    done: usize,
    planned: usize,
    trained: usize,
    reused: usize,
    recorded_train_seconds: f64,
    /// Keys already looked up by this invocation (a run found again is counted once).
    seen: HashSet<String>,
}

impl Runner<'_> {
    fn new_net(&self, seed: u64) -> Result<Box<dyn Network>> {
        let t = &self.cfg.setup;
        build_network(
            t.model,
            t.optimizer.kind(t.weight_decay),
            self.cfg.device,
            seed,
            (
                self.data.train.channels,
                self.data.train.height,
                self.data.train.width,
            ),
            self.data.train.classes,
        )
        .map_err(|e| anyhow::anyhow!("cannot build the model: {e}"))
    }

    fn run(&mut self, family: Family, lr: f64, budget: f64, seed: u64) -> Result<StudyRun> {
        let rc = self
            .cfg
            .run_config(family, lr, budget, seed, self.data.train.len())?;
        let device = device_name(self.cfg.device);
        let key = RunStore::key("run", &(&rc, device))?;
        // A run looked up again (a ladder re-climbing to a later reference's target) is not
        // counted again: the count stays within the plan's.
        let first_lookup = !self.seen.contains(&key);
        if first_lookup {
            self.done += 1;
        }
        let label = format!(
            "{} [{}/{}] {} lr={lr:.3} {}ep seed {seed}",
            self.cfg.regime.name,
            self.done,
            self.planned,
            family.name(),
            show_epochs(budget)
        );
        // A stored record is reused only when it checks out against its key; any other is
        // retrained (and overwritten), never reported.
        let stored: Option<RunRecord> = self.store.get("run", &key);
        if let Some(why) = stored.as_ref().and_then(|r| r.defect(&key)) {
            note(
                self.cfg.verbosity,
                &format!("{label}: the stored record is not reused ({why}): training it again"),
            );
            self.store.remove("run", &key)?;
        }
        let (record, cached) = self.store.get_or_make("run", &key, || {
            let mut net = self.new_net(seed)?;
            let learner = Learner {
                world: &Solo,
                verbosity: self.cfg.verbosity,
                keep_checkpoints: None,
                stop_after_epochs: None,
                label: Some(label.clone()),
            };
            let res = learner.fit(&rc, net.as_mut(), self.data, None, None)?;
            let m = &res.metrics;
            let diverged = res.end == RunEnd::Diverged;
            RunRecord {
                command: train_command(&rc, device),
                device: device.to_string(),
                steps: m.steps.len() as u32,
                final_val_acc: if diverged { 0.0 } else { m.final_acc() },
                final_test_acc: m.final_test.map_or(0.0, |t| t.acc),
                train_seconds: m.evals.last().map_or(0.0, |e| e.train_seconds),
                diverged,
                curve: m.evals.iter().map(|e| (e.epoch, e.acc)).collect(),
                config: rc.clone(),
                content_sha256: None,
            }
            .seal()
        })?;
        self.seen.insert(key);
        if first_lookup {
            self.recorded_train_seconds += record.train_seconds;
        }
        if cached && first_lookup {
            self.reused += 1;
            note(self.cfg.verbosity, &format!("{label}: kept from the store"));
        } else if !cached {
            self.trained += 1;
        }
        Ok(StudyRun {
            family,
            lr,
            budget,
            seed,
            record,
        })
    }

    /// Tunes `family` at `budget` on seed 0 ([`tune_on_grid`]); pushes each trial onto
    /// `trials_out`.
    fn tune(
        &mut self,
        family: Family,
        budget: f64,
        trials_out: &mut Vec<(Family, f64, f64)>,
    ) -> Result<f64> {
        let cfg = self.cfg;
        let what = format!(
            "{}: {} at {} epochs",
            cfg.regime.name,
            family.name(),
            show_epochs(budget)
        );
        let (winner, trials) = tune_on_grid(
            &cfg.grid,
            |lr| Ok(self.run(family, lr, budget, 0)?.record.final_val_acc),
            |winner, next| {
                note(
                    cfg.verbosity,
                    &format!("{what} wins at the grid's edge ({winner}): trying {next} too"),
                );
            },
        )?;
        trials_out.extend(trials.into_iter().map(|(lr, acc)| (family, lr, acc)));
        note(cfg.verbosity, &format!("{what} tuned: lr {winner}"));
        Ok(winner)
    }

    /// Runs `family` at `lr` on `seed` up the ladder ([`climb`]).
    fn ladder(
        &mut self,
        family: Family,
        lr: f64,
        seed: u64,
        stop_at: Option<f64>,
        runs: &mut Vec<StudyRun>,
    ) -> Result<()> {
        let budgets = self.cfg.regime.budgets.clone();
        let climbed = climb(
            &budgets,
            stop_at,
            |b| self.run(family, lr, b, seed),
            |r| r.record.final_val_acc,
        )?;
        if climbed.len() < budgets.len() {
            note(
                self.cfg.verbosity,
                &format!(
                    "{}: {} seed {seed} reached every target at {} epochs: the longer rungs are not run",
                    self.cfg.regime.name,
                    family.name(),
                    show_epochs(budgets[climbed.len() - 1])
                ),
            );
        }
        runs.extend(climbed);
        Ok(())
    }

    /// A reference tuned at its own budget on seed 0, then run on every seed.
    fn reference(&mut self, reference: Reference, seeds: &[u64]) -> Result<ReferenceMeasured> {
        let mut tuning = Vec::new();
        let lr = self.tune(reference.family, reference.budget, &mut tuning)?;
        let mut runs = Vec::with_capacity(seeds.len());
        for &seed in seeds {
            runs.push(self.run(reference.family, lr, reference.budget, seed)?);
        }
        Ok(ReferenceMeasured {
            reference,
            lr,
            tuning: tuning.iter().map(|&(_, lr, acc)| (lr, acc)).collect(),
            runs,
        })
    }

    /// Every tuned family (and the finder, when chosen) up the ladder on every seed,
    /// stopping at `stop_at`: the runs and the finder's range tests.
    fn ladders(
        &mut self,
        winners: &[(Family, f64)],
        seeds: &[u64],
        stop_at: Option<f64>,
    ) -> Result<(Vec<StudyRun>, Vec<RangeRecord>)> {
        let cfg = self.cfg;
        let (mut runs, mut ranges) = (Vec::new(), Vec::new());
        for &seed in seeds {
            for &(family, lr) in winners {
                if family.budget_aware() {
                    self.ladder(family, lr, seed, stop_at, &mut runs)?;
                } else {
                    runs.push(self.run(family, lr, cfg.regime.longest(), seed)?);
                }
            }
            if cfg.families.contains(&Family::OnecycleFinder) {
                let range = self.range(seed)?;
                note(
                    cfg.verbosity,
                    &format!(
                        "{}: seed {seed}: range test: auto {:.3e} (edge {:.3e}, valley {:.3e})",
                        cfg.regime.name,
                        range.auto(),
                        range.edge,
                        range.valley
                    ),
                );
                self.ladder(
                    Family::OnecycleFinder,
                    range.auto(),
                    seed,
                    stop_at,
                    &mut runs,
                )?;
                ranges.push(range);
            }
        }
        Ok((runs, ranges))
    }

    fn range(&mut self, seed: u64) -> Result<RangeRecord> {
        let rc = self
            .cfg
            .run_config(Family::Onecycle, 1.0, 1.0, seed, self.data.train.len())?;
        let key = RunStore::key(
            "range",
            &(
                &rc,
                device_name(self.cfg.device),
                range_key(&self.cfg.range),
            ),
        )?;
        let stored: Option<RangeRecord> = self.store.get("range", &key);
        if let Some(why) = stored.as_ref().and_then(|r| r.defect(&key)) {
            note(
                self.cfg.verbosity,
                &format!(
                    "{}: seed {seed}: the stored range test is not reused ({why}): running it again",
                    self.cfg.regime.name
                ),
            );
            self.store.remove("range", &key)?;
        }
        let (rec, _) = self.store.get_or_make("range", &key, || {
            let mut net = self.new_net(seed)?;
            let parts = rc.partitions(self.data).map_err(|e| anyhow::anyhow!(e))?;
            let sweeps = self.cfg.range.run(
                net.as_mut(),
                &parts.train,
                rc.batch_size,
                seed,
                Some(rc.optimizer.default_momentum()),
                self.cfg.verbosity,
            )?;
            RangeRecord::from_sweeps(seed, &sweeps, self.cfg.range.divisor)?.seal(&key)
        })?;
        Ok(rec)
    }
}

/// Runs the whole study on `data` (or reads the runs it already has from `cfg.out`),
/// then scores it and writes `study.md`, `study.json` and the plots into `cfg.out`.
///
/// # Errors
/// An invalid config, data or network failures, an unwritable output directory.
pub fn run_study(cfg: &StudyConfig, data: &Split) -> Result<StudyReport> {
    cfg.validate()?;
    // One study per output directory at a time: its store and reports have one writer.
    let _lock = crate::lock::DirLock::acquire(&cfg.out, "onecycle compare")?;
    check_fits(cfg, data)?;
    let started = Instant::now();
    let m = measure(cfg, data)?;
    let report = StudyReport::score(cfg, m, started.elapsed().as_secs_f64());
    report
        .write(&cfg.out)
        .with_context(|| format!("cannot write the study into {}", cfg.out.display()))?;
    Ok(report)
}

/// The data must hold a batch and the validation slice, and every family's schedule
/// must fit the shortest budget, before anything trains.
fn check_fits(cfg: &StudyConfig, data: &Split) -> Result<()> {
    let shortest = cfg.regime.budgets[0];
    let probe = cfg.plan(Family::Constant, 1.0, shortest, 0);
    if probe.steps_per_epoch(data.train.len()) == 0 {
        bail!(
            "--batch-size {} is larger than the {} training images: lower it",
            probe.batch_size,
            probe.train_images(data.train.len())
        );
    }
    probe.partitions(data).map_err(|e| anyhow::anyhow!(e))?;
    let budgets = cfg.families.iter().map(|&f| (f, shortest, None));
    let references = cfg
        .references
        .iter()
        .map(|x| (x.family, x.budget, Some(*x)));
    for (family, shortest, reference) in budgets.chain(references) {
        let rc = cfg.run_config(family, 1.0, shortest, 0, data.train.len())?;
        rc.schedule.build().map_err(|e| {
            let fix = match reference {
                Some(x) => format!(
                    "give the reference {x} a longer budget (--reference {}@N)",
                    x.family.name()
                ),
                None => "raise the smallest budget or lower --batch-size".to_string(),
            };
            anyhow::anyhow!(
                "{}: {} epochs is {} steps, too short for {}: {e}; {fix}",
                cfg.regime.name,
                show_epochs(shortest),
                rc.schedule.total_steps,
                family.name()
            )
        })?;
    }
    Ok(())
}

/// How many runs the study looks up at most (its progress bars count against it).
fn planned_runs(cfg: &StudyConfig, tuned: &[Family], seeds: usize) -> usize {
    let rungs = cfg.regime.budgets.len();
    let finder = cfg.families.contains(&Family::OnecycleFinder);
    let per_tuning = cfg.grid.len() + MAX_GRID_EXTENSIONS;
    (tuned.len() + cfg.references.len()) * per_tuning
        + seeds * (tuned.len() * rungs + cfg.references.len())
        + if finder {
            seeds * (rungs + 1) + SENSITIVITY.len()
        } else {
            0
        }
}

/// Every run of the study, in protocol order: the first reference, equal tuning, the
/// ladders, the further references (and the ladders again up to their targets), the
/// finder's sensitivity row.
fn measure(cfg: &StudyConfig, data: &Split) -> Result<Measurements> {
    let r = &cfg.regime;
    let seeds: Vec<u64> = (0..u64::from(r.seeds)).collect();
    let tuned: Vec<Family> = Family::TUNED
        .into_iter()
        .filter(|f| cfg.families.contains(f))
        .collect();
    let finder = cfg.families.contains(&Family::OnecycleFinder);
    let mut run = Runner {
        cfg,
        data,
        store: RunStore::new(&cfg.out),
        done: 0,
        planned: planned_runs(cfg, &tuned, seeds.len()),
        trained: 0,
        reused: 0,
        recorded_train_seconds: 0.0,
        seen: HashSet::new(),
    };
    let mut m = Measurements::default();
    let seed0 = seeds[0];

    // Reference mode: each reference tuned at its own budget, then run on every seed;
    // its targets are fixed before any ladder climbs past them. The first reference runs
    // first and the ladders climb to its target; then the further references run, and the
    // ladders climb on to every target (runs already in the store are not trained again,
    // so the result is the one of running every reference first, only sooner in part).
    let stop_of = |refs: &[ReferenceMeasured]| {
        refs.iter()
            .map(ReferenceMeasured::target)
            .fold(None, |hi: Option<f64>, t| Some(hi.map_or(t, |h| h.max(t))))
    };
    if let Some(&first) = cfg.references.first() {
        m.references.push(run.reference(first, &seeds)?);
    }

    // 4. Equal tuning on seed 0: the same grid, and the same edge rule, for every family.
    for &family in &tuned {
        let budget = if family.budget_aware() {
            r.tune_budget
        } else {
            r.longest()
        };
        let winner = run.tune(family, budget, &mut m.tuning)?;
        m.winners.push((family, winner));
    }

    // 2-3. Every family up the ladder, on every seed (a ladder stops climbing once it
    // reaches every target in reference mode; the other targets are read off the ladders).
    let first_stop = stop_of(&m.references);
    let (mut runs, mut ranges) = run.ladders(&m.winners, &seeds, first_stop)?;
    for &further in cfg.references.iter().skip(1) {
        m.references.push(run.reference(further, &seeds)?);
    }
    let stop_at = stop_of(&m.references);
    if stop_at != first_stop {
        (runs, ranges) = run.ladders(&m.winners, &seeds, stop_at)?;
    }
    m.runs = runs;
    m.ranges = ranges;

    // The finder's sensitivity row.
    if finder {
        let auto0 = m.ranges[0].auto();
        for mult in SENSITIVITY {
            let lr = auto0 * mult;
            let sr = run.run(Family::OnecycleFinder, lr, r.tune_budget, seed0)?;
            m.sensitivity.push((mult, lr, sr.record.final_val_acc));
        }
    }
    m.trained = run.trained;
    m.reused = run.reused;
    m.recorded_train_seconds = run.recorded_train_seconds;
    Ok(m)
}
