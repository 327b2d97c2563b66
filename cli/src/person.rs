//! The person at the terminal: who makes a change, and whether they confirm it.

use std::io::{BufRead, IsTerminal, Write};

use crate::Failure;

/// Asks on a terminal whether to publish to `place`; anywhere else (a pipe,
/// a CI job) never waits, and answers yes.
pub(crate) fn confirm(place: &str) -> Result<bool, Failure> {
    // A pipe or a CI job never waits on a question: it writes.
    if !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    eprint!("publish this to {place}? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Who: given, else the git user, else the OS user (its environment, then
/// `whoami`).
pub(crate) fn author(given: Option<&str>) -> String {
    if let Some(name) = given.map(str::trim).filter(|n| !n.is_empty()) {
        return name.to_owned();
    }
    let output = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
    };
    output("git", &["config", "user.name"])
        .or_else(|| {
            ["USER", "LOGNAME", "USERNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
        })
        .or_else(|| output("whoami", &[]))
        .unwrap_or_default()
}
