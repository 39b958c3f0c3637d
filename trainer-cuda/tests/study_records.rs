//! The study records committed under `docs/study/` (the super-convergence study's run
//! store, issue 25) check out against the keys they are stored under, so `onecycle
//! compare` pointed at them reuses them instead of retraining, and reports nothing else.

use std::path::Path;

use trainer_cuda::study::store::RunRecord;

#[test]
fn committed_study_records_check_out_against_their_keys() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/study");
    let mut checked = 0;
    for regime in std::fs::read_dir(&docs).unwrap().flatten() {
        let Ok(runs) = std::fs::read_dir(regime.path().join("runs")) else {
            continue;
        };
        for file in runs.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let Some(key) = name
                .strip_prefix("run-")
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let text = std::fs::read_to_string(file.path()).unwrap();
            let rec: RunRecord = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", file.path().display()));
            assert_eq!(rec.defect(key), None, "{}", file.path().display());
            checked += 1;
        }
    }
    eprintln!("{checked} committed study records check out");
}
