//! Writing the study into its directory: `study.md`, `study.json` and the plots, each
//! file atomically.

use std::path::Path;

use anyhow::Result;

use crate::atomic::write_atomic;
use crate::plot::{save_stacked_svg, Chart};
use crate::study::report::StudyReport;

impl StudyReport {
    /// The files [`StudyReport::write`] writes: `study.md`, `study.json`,
    /// `accuracy-vs-budget.svg`, `val-curves.svg`, and `find-lr.svg` when a range test
    /// ran, `reference-curves.svg` in reference mode.
    pub fn outputs(&self) -> Vec<&'static str> {
        let mut files = vec![
            "study.md",
            "study.json",
            "accuracy-vs-budget.svg",
            "val-curves.svg",
        ];
        if self.range_chart().is_some() {
            files.push("find-lr.svg");
        }
        if self.reference_chart().is_some() {
            files.push("reference-curves.svg");
        }
        files
    }

    /// Writes [`StudyReport::outputs`] into `dir`, each atomically.
    ///
    /// # Errors
    /// An unwritable directory, or nothing to plot.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join("study.md"), self.markdown().as_bytes())?;
        write_atomic(
            &dir.join("study.json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )?;
        self.budget_chart()
            .save_svg(&dir.join("accuracy-vs-budget.svg"))?;
        let curves: Vec<Chart> = self
            .curve_charts()
            .into_iter()
            .filter(|c| c.series.iter().any(|x| !x.points.is_empty()))
            .collect();
        save_stacked_svg(&curves, &dir.join("val-curves.svg"))?;
        if let Some(c) = self.range_chart() {
            c.save_svg(&dir.join("find-lr.svg"))?;
        }
        if let Some(c) = self.reference_chart() {
            c.save_svg(&dir.join("reference-curves.svg"))?;
        }
        Ok(())
    }
}
