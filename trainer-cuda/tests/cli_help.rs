//! The command line's help, byte for byte: flags, defaults, possible values and their
//! descriptions are part of the interface (recorded study commands and users' scripts rely on
//! them). The fixtures were written by the binary before the value parsers moved from
//! `clap::ValueEnum` derives to `train::choice` (and changed since only by the `resnet-mnist`
//! model's line); change them only with an intended change of the interface.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_onecycle"))
        .args(args)
        .arg("--help")
        .env_remove("COLUMNS")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

#[test]
fn help_is_unchanged_for_every_command() {
    for (args, expected) in [
        (&["train"][..], include_str!("help/train.txt")),
        (&["find-lr"][..], include_str!("help/find-lr.txt")),
        (&["compare"][..], include_str!("help/compare.txt")),
        (&["schedule"][..], include_str!("help/schedule.txt")),
        (&["data", "fetch"][..], include_str!("help/data_fetch.txt")),
    ] {
        assert_eq!(help(args), expected, "onecycle {} --help", args.join(" "));
    }
}
