//! The study records committed under `docs/study/` (the super-convergence study's run
//! store, issue 25) and `docs/finder/` (the studies behind `--max-lr auto`, issue 26) check
//! out against the keys they are stored under, so `onecycle compare` pointed at them reuses
//! them instead of retraining, and reports nothing else.

use std::path::Path;

use trainer_cuda::study::store::{RangeRecord, RunRecord};

#[test]
fn committed_study_records_check_out_against_their_keys() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let mut checked = 0;
    for docs in ["study", "finder"] {
        for regime in std::fs::read_dir(root.join(docs)).unwrap().flatten() {
            let Ok(runs) = std::fs::read_dir(regime.path().join("runs")) else {
                continue;
            };
            for file in runs.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                let Some(stem) = name.strip_suffix(".json") else {
                    continue;
                };
                let text = std::fs::read_to_string(file.path()).unwrap();
                let path = file.path().display().to_string();
                let defect = if let Some(key) = stem.strip_prefix("run-") {
                    let rec: RunRecord =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
                    rec.defect(key)
                } else if let Some(key) = stem.strip_prefix("range-") {
                    let rec: RangeRecord =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
                    rec.defect(key)
                } else {
                    continue;
                };
                assert_eq!(defect, None, "{path}");
                checked += 1;
            }
        }
    }
    eprintln!("{checked} committed study records check out");
}
