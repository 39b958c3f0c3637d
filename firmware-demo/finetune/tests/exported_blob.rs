//! The committed blob, fine-tuned on the host, reproduces `model/expected.txt`
//! (accuracies and weight checksums) exactly: the same numbers the firmware must
//! log in QEMU, so host and device agree bit for bit.

use onecycle_finetune::blob::Blob;
use onecycle_finetune::finetune::{
    evaluate, fine_tune, RunSpec, SourceSplit, TestSplit, TrainSplit,
};
use onecycle_finetune::{checksum, ConstantLr, OneCycleSteps, Params, StepSchedule};

static BLOB: &[u8] = include_bytes!("../../model/blob.bin");
static EXPECTED: &str = include_str!("../../model/expected.txt");

fn expected(key: &str) -> String {
    EXPECTED
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("{key} missing from expected.txt"))
        .to_string()
}

fn run<S: StepSchedule>(blob: &Blob<'_>, schedule: &S) -> (u32, String, u32) {
    let mut p = Params::zeroed();
    let mut v = Params::zeroed();
    blob.load_params(&mut p);
    let h = blob.hyper;
    let spec = RunSpec {
        steps: h.steps,
        batch: h.batch,
        seed: h.seed,
        first_layer: h.first_layer == 1,
    };
    fine_tune(
        &mut p,
        &mut v,
        &TrainSplit(*blob),
        schedule,
        spec,
        |_, _, _, _| {},
    );
    (
        evaluate(&p, &TestSplit(*blob)),
        format!("{:#010x}", checksum(&p)),
        evaluate(&p, &SourceSplit(*blob)),
    )
}

#[test]
fn host_reproduces_the_expected_device_results() {
    let blob = Blob::parse(BLOB).expect("committed blob parses");
    let h = blob.hyper;
    assert_eq!(blob.n_test().to_string(), expected("n_test"));
    assert_eq!(h.steps.to_string(), expected("steps"));

    let mut p = Params::zeroed();
    blob.load_params(&mut p);
    let before = evaluate(&p, &TestSplit(blob));
    assert_eq!(before.to_string(), expected("pretrained_correct"));

    let onecycle = OneCycleSteps::pytorch(h.onecycle_max_lr, h.steps).expect("valid schedule");
    let (after_o, sum_o, source_o) = run(&blob, &onecycle);
    assert_eq!(after_o.to_string(), expected("onecycle_correct"));
    assert_eq!(sum_o, expected("onecycle_checksum"));

    let constant = ConstantLr {
        lr: h.constant_lr,
        momentum: h.constant_momentum,
    };
    let (after_c, sum_c, source_c) = run(&blob, &constant);
    assert_eq!(after_c.to_string(), expected("constant_correct"));
    assert_eq!(sum_c, expected("constant_checksum"));

    // The forgetting check on upright held-out digits.
    assert_eq!(blob.n_source().to_string(), expected("n_source"));
    assert_eq!(
        evaluate(&p, &SourceSplit(blob)).to_string(),
        expected("source_pretrained_correct")
    );
    assert_eq!(source_o.to_string(), expected("source_onecycle_correct"));
    assert_eq!(source_c.to_string(), expected("source_constant_correct"));

    // The story the firmware checks (its margins): a gain of at least 30 pp, and
    // 1cycle ahead of the constant lr by at least 3 samples.
    let n = blob.n_test() as u32;
    assert!(
        after_o * 100 >= (before + 30 * n / 100) * 100,
        "gain: {before} -> {after_o}"
    );
    assert!(
        after_o >= after_c + 3,
        "1cycle {after_o} vs constant {after_c}"
    );
}
