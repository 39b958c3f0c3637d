//! burn's [`LrScheduler`] for any onecycle-core [`Schedule`]: 1cycle or a baseline.

use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::LearningRate;
use onecycle_core::{ConfigError, OneCycle, OneCycleConfig, Schedule};

/// Record key of the number of steps taken.
const STEP_KEY: &str = "onecycle.step";
/// Record key of the lr the schedule gives at that step, to refuse a record of another schedule.
const CHECK_KEY: &str = "onecycle.lr_at_step";

/// A burn [`LrScheduler`] that reads every learning rate from an onecycle-core [`Schedule`].
///
/// Its only state is the number of steps taken. burn's `Learner` calls
/// [`step`](LrScheduler::step) once before each optimiser step, so the `k`-th call (from 0)
/// returns `schedule.lr(k)`; past the schedule's end the schedule's own rule applies (1cycle
/// holds its final rate). The [record](LrSchedulerRecord) is that step count plus the rate it
/// maps to, so a burn checkpoint resumes the schedule exactly and a checkpoint of a different
/// schedule is refused instead of being resumed at the wrong rate.
///
/// ```
/// use burn::optim::lr_scheduler::LrScheduler;
/// use onecycle_burn::ScheduleLr;
/// use onecycle_core::OneCycleConfig;
///
/// let mut lr = ScheduleLr::one_cycle(OneCycleConfig::pytorch(0.1, 100))?;
/// assert!((lr.step() - 0.1 / 25.0).abs() < 1e-12); // PyTorch starts at max_lr / 25
/// let saved = lr.to_record();
/// let mut resumed = ScheduleLr::one_cycle(OneCycleConfig::pytorch(0.1, 100))?;
/// resumed.load_record(saved);
/// assert_eq!(resumed.step(), lr.step());
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleLr<S> {
    schedule: S,
    step: u32,
}

/// The 1cycle scheduler.
pub type OneCycleLr = ScheduleLr<OneCycle<f64>>;

impl<S: Schedule<f64>> ScheduleLr<S> {
    /// A scheduler at step 0 of `schedule`.
    pub fn new(schedule: S) -> Self {
        Self { schedule, step: 0 }
    }

    /// The schedule it reads.
    pub fn schedule(&self) -> &S {
        &self.schedule
    }

    /// Steps taken so far: the step whose rate the next [`LrScheduler::step`] returns.
    pub fn steps_taken(&self) -> u32 {
        self.step
    }

    /// Restores a [record](LrScheduler::to_record) of this schedule.
    ///
    /// # Errors
    /// [`RecordMismatch`] when the record holds no step of ours (a record of another
    /// scheduler) or its rate differs from what this schedule gives at that step (a record of
    /// another schedule); `self` is unchanged then.
    pub fn try_load_record(&mut self, record: &LrSchedulerRecord) -> Result<(), RecordMismatch> {
        let step = record
            .scalar::<u64>(STEP_KEY)
            .and_then(|s| u32::try_from(s).ok())
            .ok_or(RecordMismatch::NotOurs)?;
        let saved = record
            .scalar::<f64>(CHECK_KEY)
            .ok_or(RecordMismatch::NotOurs)?;
        let ours = self.schedule.lr(step);
        if saved.to_bits() != ours.to_bits() {
            return Err(RecordMismatch::OtherSchedule { step, saved, ours });
        }
        self.step = step;
        Ok(())
    }
}

impl ScheduleLr<OneCycle<f64>> {
    /// The 1cycle scheduler for `config` (any preset, two or three phases, cos or linear).
    ///
    /// # Errors
    /// The core's [`ConfigError`] for an invalid configuration.
    pub fn one_cycle(config: OneCycleConfig<f64>) -> Result<Self, ConfigError> {
        Ok(Self::new(config.build()?))
    }
}

impl<S> LrScheduler for ScheduleLr<S>
where
    S: Schedule<f64> + Clone + Send + Sync + 'static,
{
    fn step(&mut self) -> LearningRate {
        let lr = self.schedule.lr(self.step);
        self.step = self.step.saturating_add(1);
        lr
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new()
            .with_scalar(STEP_KEY, u64::from(self.step))
            .with_scalar(CHECK_KEY, self.schedule.lr(self.step))
    }

    /// # Panics
    /// On a record of another scheduler or schedule (see [`ScheduleLr::try_load_record`]):
    /// burn's trait has no error path, and resuming at a wrong rate would be silent data loss.
    #[track_caller]
    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Err(e) = self.try_load_record(&record) {
            panic!("onecycle-burn: cannot resume the lr scheduler: {e}");
        }
    }
}

/// A scheduler record that does not belong to this schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum RecordMismatch {
    /// The record holds no onecycle step: it was saved by another scheduler.
    NotOurs,
    /// The record's rate differs from this schedule's at the saved step.
    OtherSchedule {
        /// The saved step.
        step: u32,
        /// The rate saved with it.
        saved: f64,
        /// This schedule's rate at that step.
        ours: f64,
    },
}

impl core::fmt::Display for RecordMismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotOurs => f.write_str(
                "the checkpoint's scheduler record was not written by onecycle-burn's ScheduleLr; \
                 resume with the scheduler the run was started with",
            ),
            Self::OtherSchedule { step, saved, ours } => write!(
                f,
                "the checkpoint was saved at step {step} with lr {saved:e}, but this schedule \
                 gives {ours:e} there; resume with the same schedule configuration"
            ),
        }
    }
}

impl std::error::Error for RecordMismatch {}

#[cfg(test)]
mod tests {
    use super::*;
    use onecycle_core::baseline::{Cosine, StepDecay};
    use onecycle_core::Preset;

    /// burn's `check_save_load`: stop at `at`, save, load into a fresh scheduler, continue.
    fn check_save_load<S: Schedule<f64> + Clone + Send + Sync + 'static>(s: S, at: u32, n: u32) {
        let mut whole = ScheduleLr::new(s.clone());
        let mut first = ScheduleLr::new(s.clone());
        let mut expected = Vec::new();
        for _ in 0..n {
            expected.push(whole.step());
        }
        let mut got: Vec<f64> = (0..at).map(|_| first.step()).collect();
        let mut second = ScheduleLr::new(s);
        second.load_record(first.to_record());
        got.extend((at..n).map(|_| second.step()));
        assert_eq!(got, expected);
    }

    #[test]
    fn every_preset_and_baselines_resume_exactly() {
        for preset in Preset::ALL {
            let s = preset.config(0.1, 200).build().unwrap();
            check_save_load(s, 77, 220);
            // The k-th step is the core's lr(k), bit for bit.
            let mut lr = ScheduleLr::new(s);
            for k in 0..220 {
                assert_eq!(lr.step().to_bits(), s.lr(k).to_bits(), "{preset} step {k}");
            }
        }
        check_save_load(Cosine::new(0.1, 100, 1e-4).unwrap(), 40, 120);
        check_save_load(StepDecay::new(0.1, [30, 60], 0.1).unwrap(), 45, 90);
    }

    #[test]
    fn a_record_of_another_scheduler_or_schedule_is_refused() {
        let mut lr = ScheduleLr::one_cycle(OneCycleConfig::pytorch(0.1, 100)).unwrap();
        let foreign = LrSchedulerRecord::new().with_scalar("iter_idx", 5i64);
        assert_eq!(lr.try_load_record(&foreign), Err(RecordMismatch::NotOurs));

        let mut other = ScheduleLr::one_cycle(OneCycleConfig::pytorch(0.2, 100)).unwrap();
        for _ in 0..10 {
            other.step();
        }
        let err = lr.try_load_record(&other.to_record()).unwrap_err();
        assert!(
            matches!(err, RecordMismatch::OtherSchedule { step: 10, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("same schedule configuration"),
            "{err}"
        );
        assert_eq!(lr.steps_taken(), 0, "a refused record changes nothing");
    }

    #[test]
    #[should_panic(expected = "cannot resume the lr scheduler")]
    fn the_trait_load_panics_with_the_reason_instead_of_resuming_wrong() {
        let mut lr = ScheduleLr::one_cycle(OneCycleConfig::fastai(0.1, 100)).unwrap();
        lr.load_record(LrSchedulerRecord::new());
    }
}
