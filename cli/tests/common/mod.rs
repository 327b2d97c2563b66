//! What the CLI's test files share: the bundled examples, and the
//! `flagcore` binary run as a user runs it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn example(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "examples", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

pub fn flagcore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flagcore"))
        .args(args)
        .output()
        .expect("flagcore runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
