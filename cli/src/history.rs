//! What the edit commands show: `flagcore flag show|list`, `flagcore
//! history` and `flagcore diff`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use flagcore::canary::AUTHOR;
use flagcore::edit::diff::{diff, FlagChange, FlagDiff};
use flagcore::edit::percent;
use flagcore::published::canonical_json;
use flagcore::{Snapshot, Value};
use serde_json::json;

use crate::place::Place;
use crate::rollout::read_contexts;
use crate::{load, Failure, Outcome};

#[derive(Args)]
pub(crate) struct HistoryArgs {
    #[command(flatten)]
    pub(crate) at: crate::place::At,
    /// Only the generations that changed this flag
    #[arg(long, value_name = "KEY")]
    pub(crate) flag: Option<String>,
    /// At most N generations
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub(crate) limit: usize,
    /// Print JSON: {"canaries": [{"flag", "status", "step", "decisions", "decisionsLeftOut"}], "generations": [{"sequence", "id", "previous", "publishedAt", "author", "comment", "changes", "decisions"?, "decisionsLeftOut"?}]}
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct DiffArgs {
    /// A generation id at --at (or `current`), or a snapshot file
    pub(crate) a: String,
    /// The generation (or file) to compare it with
    pub(crate) b: String,
    /// Where the generations are: a directory, or dynamodb:TABLE[/PREFIX]
    #[arg(long, env = "FLAGCORE_AT", value_name = "PLACE", value_parser = crate::place::place)]
    pub(crate) at: Option<Place>,
    /// Contexts to evaluate, one JSON object per line
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic")]
    pub(crate) contexts: Option<PathBuf>,
    /// Evaluate N synthetic contexts (keys synthetic-0 ... synthetic-(N-1))
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub(crate) synthetic: u64,
    /// Context kind of the synthetic contexts
    #[arg(long, default_value = "user")]
    pub(crate) kind: String,
    /// Print JSON: {"from", "to", "contexts", "flags": {KEY: {"change", "moves": [{"from", "to", "contexts", "share"}]}}}
    #[arg(long)]
    pub(crate) json: bool,
}

/// The most records `history --flag` reads to find a flag's.
pub(crate) const MAX_HISTORY_READ: usize = 1_000;

/// The flags at `at` as JSON values, by key.
fn flags(at: &Place) -> Result<serde_json::Map<String, Value>, Failure> {
    let current = at.read()?;
    let document: Value = serde_json::from_slice(&canonical_json(&current.snapshot))
        .map_err(|e| Failure(format!("{}: {e}", at.describe())))?;
    Ok(document["flags"].as_object().cloned().unwrap_or_default())
}

/// What a flag serves when on and no target or rule matches.
fn serves(flag: &Value) -> String {
    let variations = flag["variations"].as_array().cloned().unwrap_or_default();
    let value = |index: &Value| {
        index
            .as_u64()
            .and_then(|i| variations.get(i as usize))
            .map_or_else(|| "?".to_owned(), Value::to_string)
    };
    let fallthrough = &flag["fallthrough"];
    match fallthrough["rollout"]["variations"].as_array() {
        Some(shares) => shares
            .iter()
            .map(|s| {
                format!(
                    "{} {}%",
                    value(&s["variation"]),
                    percent(s["weight"].as_u64().unwrap_or(0) as u32)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => value(&fallthrough["variation"]),
    }
}

pub(crate) fn list(at: &Place, json: bool) -> Outcome {
    let flags = flags(at)?;
    if json {
        let rows: Vec<Value> = flags
            .values()
            .map(|f| json!({"key": f["key"], "on": f["on"], "version": f["version"], "serves": serves(f)}))
            .collect();
        println!("{}", json!({"flags": rows}));
        return Ok(ExitCode::SUCCESS);
    }
    if flags.is_empty() {
        eprintln!(
            "no flags at {}: `flagcore flag create KEY --at {} --comment ...` makes one",
            at.describe(),
            at.describe()
        );
    }
    for flag in flags.values() {
        let state = if flag["on"] == json!(true) {
            "on "
        } else {
            "off"
        };
        let off = flag["offVariation"]
            .as_u64()
            .and_then(|i| flag["variations"].get(i as usize).cloned());
        let serving = if flag["on"] == json!(true) {
            serves(flag)
        } else {
            off.map_or_else(|| "the caller's default".to_owned(), |v| v.to_string())
        };
        println!(
            "{:<32} {state}  {serving}",
            flag["key"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn show(at: &Place, key: &str, json: bool) -> Outcome {
    let flags = flags(at)?;
    let Some(flag) = flags.get(key) else {
        return Err(Failure(format!(
            "FLAG_NOT_FOUND: there is no flag {key:?} at {}: `flagcore flag list` lists them",
            at.describe()
        )));
    };
    if json {
        println!("{flag}");
        return Ok(ExitCode::SUCCESS);
    }
    let variations = flag["variations"].as_array().cloned().unwrap_or_default();
    let value = |i: &Value| {
        i.as_u64()
            .and_then(|i| variations.get(i as usize))
            .map_or_else(|| "none".to_owned(), Value::to_string)
    };
    println!(
        "{key} (version {}) · {}",
        flag["version"],
        if flag["on"] == json!(true) {
            "on"
        } else {
            "off"
        }
    );
    let listed: Vec<String> = variations.iter().map(Value::to_string).collect();
    println!("variations:    {}", listed.join(", "));
    println!("when off:      {}", value(&flag["offVariation"]));
    println!("default rule:  {}", serves(flag));
    // User keys are in `targets` (LaunchDarkly's older list, which a
    // `contextTargets` entry of kind user with no values stands for); other
    // kinds' in `contextTargets`.
    let users = flag["targets"].as_array().into_iter().flatten();
    let others = flag["contextTargets"].as_array().into_iter().flatten();
    for target in users.chain(others) {
        let keys: Vec<&str> = target["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !keys.is_empty() {
            let kind = target["contextKind"].as_str().unwrap_or("user");
            println!(
                "target:        {kind} {} → {}",
                keys.join(", "),
                value(&target["variation"])
            );
        }
    }
    let rules = flag["rules"].as_array().map_or(0, Vec::len);
    if rules > 0 {
        println!("rules:         {rules} (`flagcore flag show {key} --json` prints them)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The most canaries whose decisions since their last generation `history`
/// reads.
const MAX_CANARIES_READ: usize = 20;

/// `flagcore history`: the generations, newest first, each with the
/// canary's decisions it was published on; above them, a canary's
/// decisions that no generation holds yet (holds since its last step, and
/// how it ended), from its state.
pub(crate) fn history(at: &Place, flag: Option<&str>, limit: usize, json: bool) -> Outcome {
    let read = if flag.is_some() {
        MAX_HISTORY_READ
    } else {
        limit.min(MAX_HISTORY_READ)
    };
    let records: Vec<_> = at
        .history(read)?
        .into_iter()
        .filter(|r| {
            flag.is_none_or(|key| r.changes.iter().any(|c| c.starts_with(&format!("{key}:"))))
        })
        .take(limit)
        .collect();
    // The flags a canary ran on: the one asked for, or those the
    // controller's generations name.
    let mut keys: Vec<String> = flag.map(str::to_owned).into_iter().collect();
    if flag.is_none() {
        for record in records.iter().filter(|r| r.author == AUTHOR) {
            for change in &record.changes {
                let key = change.split(':').next().unwrap_or_default().to_owned();
                if !keys.contains(&key) && keys.len() < MAX_CANARIES_READ {
                    keys.push(key);
                }
            }
        }
    }
    let mut canaries = Vec::new();
    for key in keys {
        match at.canary_state(&key) {
            Ok(Some(state)) if !state.unpublished().is_empty() || state.left_out > 0 => {
                canaries.push(state);
            }
            Ok(_) => {}
            // A state that does not read hides no generation.
            Err(e) => eprintln!("flagcore: warning: {}", e.0),
        }
    }
    if json {
        let rows: Vec<Value> = records
            .iter()
            .map(|r| serde_json::from_str(&r.to_json()).unwrap_or(Value::Null))
            .collect();
        let pending: Vec<Value> = canaries
            .iter()
            .map(|s| json!({"flag": s.flag, "status": s.status.as_str(), "step": s.step, "decisions": s.unpublished(), "decisionsLeftOut": s.left_out}))
            .collect();
        println!("{}", json!({"canaries": pending, "generations": rows}));
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() && canaries.is_empty() {
        eprintln!(
            "no history at {}: the edit commands (`flagcore flag ...`) write it",
            at.describe()
        );
    }
    for state in &canaries {
        println!(
            "canary {}: {} at step {}; its decisions since its last generation:",
            state.flag,
            state.status.as_str(),
            state.step + 1
        );
        print_decisions(state.unpublished(), state.left_out, "    ");
    }
    for record in &records {
        println!(
            "{}  {}  {}  {}",
            record.id,
            utc(record.published_at),
            record.author,
            record.comment
        );
        for change in &record.changes {
            println!("    {change}");
        }
        if !record.decisions.is_empty() || record.decisions_left_out > 0 {
            println!("    decided on:");
            print_decisions(&record.decisions, record.decisions_left_out, "      ");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A canary's decisions, oldest first, one a line with its figures.
fn print_decisions(decisions: &[Value], left_out: u64, indent: &str) {
    if left_out > 0 {
        println!("{indent}({left_out} earlier decisions were not kept)");
    }
    for decision in decisions {
        let figures = figures_words(&decision["figures"]);
        println!(
            "{indent}{}  {:<8} {}{}",
            utc(decision["atMs"].as_i64().unwrap_or(0)),
            decision["action"].as_str().unwrap_or("?"),
            decision["reason"].as_str().unwrap_or(""),
            if figures.is_empty() {
                String::new()
            } else {
                format!(" · {figures}")
            }
        );
    }
}

/// A decision's figures in a few words: each guard's canary and control,
/// and its statistic; the sample ratio's.
pub(crate) fn figures_words(figures: &Value) -> String {
    let number = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "–".to_owned(), |x| format!("{x:.4}"))
    };
    let mut words: Vec<String> = figures["guards"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            format!(
                "{} {} vs {} (log Λ {}{})",
                g["metric"].as_str().unwrap_or("?"),
                number(&g["canary"]),
                number(&g["control"]),
                number(&g["logLambda"]),
                if g["harm"] == json!(true) {
                    ", harm"
                } else {
                    ""
                }
            )
        })
        .collect();
    let ratio = &figures["sampleRatio"];
    if ratio.is_object() {
        words.push(format!(
            "canary share {} (log BF {})",
            number(&ratio["observed"]),
            number(&ratio["logBayesFactor"])
        ));
    }
    words.join("; ")
}

/// `flagcore diff A B`: A and B are generation ids at `at`, or files.
pub(crate) fn diff_command(
    at: Option<&Place>,
    a: &str,
    b: &str,
    contexts: Option<&Path>,
    synthetic: u64,
    kind: &str,
    json: bool,
) -> Outcome {
    let (first, second) = (snapshot(at, a)?, snapshot(at, b)?);
    let (contexts, described) = read_contexts(contexts, synthetic, kind)?;
    let found = diff(&first, &second, &contexts);
    let total = contexts.len() as u64;
    if json {
        let flags: serde_json::Map<String, Value> = found
            .iter()
            .map(|flag| {
                let moves: Vec<Value> = flag
                    .moves
                    .iter()
                    .map(|m| json!({"from": m.from, "to": m.to, "contexts": m.contexts, "share": share(m.contexts, total)}))
                    .collect();
                (flag.key.clone(), json!({"change": flag.change.as_str(), "moves": moves}))
            })
            .collect();
        println!(
            "{}",
            json!({"from": first.id(), "to": second.id(), "contexts": total, "flags": flags})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} → {} · {total} {described}", first.id(), second.id());
    if found.is_empty() {
        println!("no flag differs");
    }
    for flag in &found {
        print_moves(flag, total, &mut std::io::stdout());
    }
    Ok(ExitCode::SUCCESS)
}

/// One flag of a diff: what happened to it, and who moves.
pub(crate) fn print_moves(flag: &FlagDiff, total: u64, out: &mut dyn Write) {
    let none = if flag.moves.is_empty() && flag.change == FlagChange::Changed {
        " (no context moves)"
    } else {
        ""
    };
    let _ = writeln!(out, "  {}: {}{none}", flag.key, flag.change.as_str());
    for m in &flag.moves {
        let name = |v: &Option<Value>| {
            v.as_ref()
                .map_or_else(|| "(default)".to_owned(), Value::to_string)
        };
        let _ = writeln!(
            out,
            "    {:>9} ({:>6.2}%)  {} → {}",
            m.contexts,
            share(m.contexts, total) * 100.0,
            name(&m.from),
            name(&m.to)
        );
    }
}

fn share(count: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

/// A generation id at `at`, or a snapshot file.
fn snapshot(at: Option<&Place>, name: &str) -> Result<Snapshot, Failure> {
    let path = PathBuf::from(name);
    if path.is_file() {
        return load(&path, None);
    }
    match at {
        Some(at) if name == "current" => Ok(at.read()?.snapshot),
        Some(at) => Ok(at.generation(name)?.1),
        None => Err(Failure(format!(
            "{name:?} is not a file: give --at PLACE to name generations there (`flagcore history` lists them)"
        ))),
    }
}

/// Milliseconds since the epoch as `2026-12-07 03:20:11Z`.
pub(crate) fn utc(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Days since 1970-01-01 as a civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_names_the_day_and_time() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(super::utc(1_796_613_358_698), "2026-12-07 03:15:58Z");
    }
}
