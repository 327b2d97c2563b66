//! `flagcore flag ...` and `flagcore rollback`: edits of the flags at a
//! place, each with a comment and an author, previewed, and written on the
//! condition that nobody changed the place since it was read (else read
//! again and the change made again, or stopped).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use flagcore::edit::diff::{diff, FlagChange};
use flagcore::edit::record::check_comment;
use flagcore::edit::{apply, parse_percent, rollout_weights, summary, Change};
use flagcore::{Context, Snapshot, Value};

use crate::history;
use crate::place::{At, Current, Note, Place, Written};
use crate::rollout::read_contexts;
use crate::{Failure, Outcome};

/// How many times an edit is made again after another edit won the race.
const MAX_ATTEMPTS: u32 = 10;

/// What every change takes: why, who, and whether to ask.
#[derive(Args)]
pub(crate) struct Why {
    /// Why: required for every change
    #[arg(long, env = "FLAGCORE_COMMENT", value_name = "TEXT")]
    comment: Option<String>,
    /// Who (default: FLAGCORE_AUTHOR, the git user, the OS user)
    #[arg(long, env = "FLAGCORE_AUTHOR", value_name = "NAME")]
    author: Option<String>,
    /// Write without asking
    #[arg(long, short = 'y')]
    yes: bool,
    /// Print the preview and write nothing
    #[arg(long)]
    dry_run: bool,
    /// The preview's contexts, one JSON object per line
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic")]
    contexts: Option<PathBuf>,
    /// The preview evaluates N synthetic contexts
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    synthetic: u64,
}

#[derive(Args)]
pub(crate) struct RollbackArgs {
    /// The generation to go back to (`flagcore history` lists them)
    #[arg(long, value_name = "ID")]
    pub(crate) to: String,
    #[command(flatten)]
    pub(crate) at: At,
    #[command(flatten)]
    pub(crate) why: Why,
}

#[derive(Subcommand)]
pub(crate) enum FlagCommand {
    /// Create a flag, off: boolean (true, false), or --variations '["a", "b"]'
    Create {
        key: String,
        /// The variations, as a JSON array
        #[arg(long, value_name = "JSON")]
        variations: Option<String>,
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        why: Why,
    },
    /// Turn a flag's targeting on
    On {
        key: String,
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        why: Why,
    },
    /// The kill switch: every context gets the off variation (asks nothing, and publishes even a snapshot `check` finds errors in)
    Off {
        key: String,
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        why: Why,
    },
    /// Serve the default rule's variations by percentage: `canary 10%` (true for a boolean flag), or VALUE=PERCENT...
    Rollout {
        key: String,
        #[arg(required = true, value_name = "[VALUE=]PERCENT")]
        shares: Vec<String>,
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        why: Why,
    },
    /// Serve VALUE to context keys, before any rule: --add KEY... and --remove KEY...
    Target {
        key: String,
        /// The variation's value (`true`, `dark`)
        value: String,
        #[arg(long, num_args = 1.., value_name = "KEY")]
        add: Vec<String>,
        #[arg(long, num_args = 1.., value_name = "KEY")]
        remove: Vec<String>,
        /// The context kind of the keys
        #[arg(long, default_value = "user")]
        kind: String,
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        why: Why,
    },
    /// The value a flag serves while off
    OffVariation {
        key: String,
        value: String,
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        why: Why,
    },
    /// Remove a flag (refused while another flag has it as a prerequisite)
    Archive {
        key: String,
        #[command(flatten)]
        at: At,
        #[command(flatten)]
        why: Why,
    },
    /// One flag: on or off, its variations, what its default rule serves, its targets
    Show {
        key: String,
        #[command(flatten)]
        at: At,
        /// Print the flag's JSON
        #[arg(long)]
        json: bool,
    },
    /// Every flag, one line each
    List {
        #[command(flatten)]
        at: At,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: FlagCommand) -> Outcome {
    match command {
        FlagCommand::Create {
            key,
            variations,
            at,
            why,
        } => {
            let variations = match variations {
                Some(text) => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Array(list)) => Some(list),
                    _ => {
                        return Err(Failure(format!(
                            "--variations {text:?} is not a JSON array, like '[\"v1\", \"v2\"]'"
                        )))
                    }
                },
                None => None,
            };
            change(&at.at, &why, "user", false, |_| {
                Ok(Change::Create {
                    key: key.clone(),
                    variations: variations.clone(),
                })
            })
        }
        FlagCommand::On { key, at, why } => change(&at.at, &why, "user", false, |_| {
            Ok(Change::On { key: key.clone() })
        }),
        FlagCommand::Off { key, at, why } => change(&at.at, &why, "user", true, |_| {
            Ok(Change::Off { key: key.clone() })
        }),
        FlagCommand::Archive { key, at, why } => change(&at.at, &why, "user", false, |_| {
            Ok(Change::Archive { key: key.clone() })
        }),
        FlagCommand::OffVariation {
            key,
            value,
            at,
            why,
        } => change(&at.at, &why, "user", false, |snapshot| {
            Ok(Change::OffVariation {
                variation: variation(snapshot, &key, &value)?,
                key: key.clone(),
            })
        }),
        FlagCommand::Rollout {
            key,
            shares,
            at,
            why,
        } => change(&at.at, &why, "user", false, |snapshot| {
            Ok(Change::Rollout {
                weights: weights(snapshot, &key, &shares)?,
                key: key.clone(),
            })
        }),
        FlagCommand::Target {
            key,
            value,
            add,
            remove,
            kind,
            at,
            why,
        } => {
            if add.is_empty() && remove.is_empty() {
                return Err(Failure(
                    "name the keys: --add KEY... and/or --remove KEY...".into(),
                ));
            }
            change(&at.at, &why, &kind.clone(), false, |snapshot| {
                Ok(Change::Target {
                    variation: variation(snapshot, &key, &value)?,
                    key: key.clone(),
                    kind: kind.clone(),
                    add: add.clone(),
                    remove: remove.clone(),
                })
            })
        }
        FlagCommand::Show { key, at, json } => history::show(&at.at, &key, json),
        FlagCommand::List { at, json } => history::list(&at.at, json),
    }
}

/// `flagcore rollback --to ID`: generation ID's flags, published again as
/// the newest generation.
pub(crate) fn rollback(at: &Place, to: &str, why: &Why) -> Outcome {
    let (_, target) = at.generation(to)?;
    edit(at, why, "user", false, |current| {
        let changes = diff(&current.snapshot, &target, &[])
            .into_iter()
            .map(|flag| format!("{}: {} (rollback to {to})", flag.key, flag.change.as_str()))
            .collect();
        Ok(Made {
            next: target.clone(),
            changes,
            named: Vec::new(),
        })
    })
}

/// One change, made to what is at `at` now.
fn change(
    at: &Place,
    why: &Why,
    kind: &str,
    kill: bool,
    make: impl Fn(&Snapshot) -> Result<Change, Failure>,
) -> Outcome {
    edit(at, why, kind, kill, |current| {
        let change = make(&current.snapshot)?;
        let next = apply(&current.snapshot, &change).map_err(|e| Failure(e.to_string()))?;
        // The keys a target names are among the preview's contexts.
        let named = match &change {
            Change::Target {
                kind, add, remove, ..
            } => add
                .iter()
                .chain(remove)
                .filter_map(|key| Context::new(kind, key).ok())
                .collect(),
            _ => Vec::new(),
        };
        Ok(Made {
            next,
            changes: vec![summary(&change, &current.snapshot)],
            named,
        })
    })
}

/// Reads the place, makes the next snapshot, previews it, asks, and writes
/// it if the place did not change meanwhile: else reads it again and makes
/// the change again (it stops when the change no longer applies).
fn edit(
    at: &Place,
    why: &Why,
    kind: &str,
    kill: bool,
    make: impl Fn(&Current) -> Result<Made, Failure>,
) -> Outcome {
    let comment = why.comment.clone().unwrap_or_default();
    let author = author(why.author.as_deref());
    check_comment(&comment, &author).map_err(Failure)?;
    let mut lost: Option<String> = None;
    for attempt in 0..MAX_ATTEMPTS {
        let current = at.read()?;
        let Made { next, changes, named } = make(&current).map_err(|Failure(e)| match &lost {
            Some(race) => Failure(format!("{race}, and the change no longer applies to what is there now: {e}; nothing was written")),
            None => Failure(e),
        })?;
        if diff(&current.snapshot, &next, &[]).is_empty() {
            eprintln!(
                "flagcore: {}: nothing to change ({}); nothing was written",
                at.describe(),
                changes.join("; ")
            );
            return Ok(ExitCode::SUCCESS);
        }
        if attempt == 0 {
            preview(at, &current, &next, &changes, why, kind, named)?;
            if why.dry_run {
                eprintln!("flagcore: --dry-run: nothing was written");
                return Ok(ExitCode::SUCCESS);
            }
            if !(why.yes || kill || confirm(at)?) {
                eprintln!("flagcore: nothing was written");
                return Ok(ExitCode::FAILURE);
            }
        }
        let note = Note {
            author: &author,
            comment: &comment,
            changes,
        };
        match at.write(&current, &next, &note, kill)? {
            Written::Done { id } => {
                let was = current
                    .head
                    .as_ref()
                    .map_or("nothing", |head| head.id.as_str());
                eprintln!(
                    "flagcore: published generation {id} to {} (it replaced {was})",
                    at.describe()
                );
                println!("{id}");
                return Ok(ExitCode::SUCCESS);
            }
            Written::Lost(race) => {
                eprintln!("flagcore: {race} since this edit read {}: making the change again to what is there now", at.describe());
                lost = Some(race);
                std::thread::sleep(Duration::from_millis(
                    10 + u64::from(std::process::id() % 40) * u64::from(attempt + 1),
                ));
            }
        }
    }
    Err(Failure(format!(
        "{}: other edits won the race {MAX_ATTEMPTS} times; nothing was written: try again",
        at.describe()
    )))
}

/// What an edit makes: the next snapshot, a line per change, and the
/// contexts it names (a target's keys), which the preview evaluates too.
struct Made {
    next: Snapshot,
    changes: Vec<String>,
    named: Vec<Context>,
}

fn preview(
    at: &Place,
    current: &Current,
    next: &Snapshot,
    changes: &[String],
    why: &Why,
    kind: &str,
    named: Vec<Context>,
) -> Result<(), Failure> {
    let (mut contexts, mut described) =
        read_contexts(why.contexts.as_deref(), why.synthetic, kind)?;
    if !named.is_empty() {
        described = format!("{described} and the {} key(s) named", named.len());
        contexts.extend(named);
    }
    let from = current
        .head
        .as_ref()
        .map_or("nothing published", |head| head.id.as_str());
    eprintln!("{}: {from} → {}", at.describe(), next.id());
    for line in changes {
        eprintln!("  {line}");
    }
    let found = diff(&current.snapshot, next, &contexts);
    let moving: Vec<_> = found
        .iter()
        .filter(|f| f.change == FlagChange::Changed)
        .collect();
    if !moving.is_empty() {
        eprintln!("of {} {described}:", contexts.len());
        for flag in moving {
            history::print_moves(flag, contexts.len() as u64, &mut std::io::stderr());
        }
    }
    Ok(())
}

fn confirm(at: &Place) -> Result<bool, Failure> {
    // A pipe or a CI job never waits on a question: it writes.
    if !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    eprint!("publish this to {}? [y/N] ", at.describe());
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
fn author(given: Option<&str>) -> String {
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

/// The index of the variation of flag `key` whose value is `text` (`true`,
/// `dark`, or its JSON).
fn variation(snapshot: &Snapshot, key: &str, text: &str) -> Result<usize, Failure> {
    let values = values(snapshot, key)?;
    let as_json: Option<Value> = serde_json::from_str(text).ok();
    values
        .iter()
        .position(|v| v.as_str() == Some(text) || as_json.as_ref() == Some(v))
        .ok_or_else(|| {
            let listed: Vec<String> = values.iter().map(Value::to_string).collect();
            Failure(format!(
                "VARIATION_NOT_FOUND: flag {key:?} has no variation {text}: its variations are {}",
                listed.join(", ")
            ))
        })
}

fn values(snapshot: &Snapshot, key: &str) -> Result<Vec<Value>, Failure> {
    snapshot.variations(key).map(<[Value]>::to_vec).ok_or_else(|| {
        Failure(format!("FLAG_NOT_FOUND: there is no flag {key:?}: `flagcore flag list` lists them, `flagcore flag create` makes one"))
    })
}

/// Shares as weights: `10%` (a boolean flag's `true`), or `VALUE=PERCENT`
/// each, one variation left out taking the rest.
fn weights(snapshot: &Snapshot, key: &str, shares: &[String]) -> Result<Vec<u32>, Failure> {
    let values = values(snapshot, key)?;
    let boolean = values.len() == 2 && values.iter().all(Value::is_boolean);
    let mut given = Vec::new();
    for share in shares {
        let (index, percent) = match share.rsplit_once('=') {
            Some((value, percent)) => (variation(snapshot, key, value)?, percent),
            None if boolean => (
                values
                    .iter()
                    .position(|v| v == &Value::Bool(true))
                    .unwrap_or(0),
                share.as_str(),
            ),
            None => {
                return Err(Failure(format!(
                    "name the variation of each share, like {}=10%: flag {key:?} is not boolean",
                    values.first().map_or("VALUE".into(), |v| v
                        .as_str()
                        .map_or_else(|| v.to_string(), str::to_owned))
                )))
            }
        };
        given.push((
            index,
            parse_percent(percent).map_err(|e| Failure(e.to_string()))?,
        ));
    }
    rollout_weights(values.len(), &given).map_err(|e| Failure(e.to_string()))
}
