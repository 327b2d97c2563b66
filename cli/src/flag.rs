//! `flagcore flag ...` and `flagcore rollback`: edits of the flags at a
//! place, each with a comment and an author, previewed, and written on the
//! condition that nobody changed the place since it was read (else read
//! again and the change made again, or stopped).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use flagcore::edit::diff::{diff, FlagChange};
use flagcore::edit::record::check_comment;
use flagcore::edit::{apply, change_from_json, summary, Change};
use flagcore::published::canonical_json;
use flagcore::{Context, Snapshot, Value};
use serde_json::json;

use crate::history;
use crate::person;
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
    // Each change as the core reads it from every surface (`change_from_json`).
    let (at, why, kind, kill, named) = match command {
        FlagCommand::Show { key, at, json } => return history::show(&at.at, &key, json),
        FlagCommand::List { at, json } => return history::list(&at.at, json),
        FlagCommand::Create {
            key,
            variations,
            at,
            why,
        } => {
            let variations = match variations {
                Some(text) => serde_json::from_str::<Value>(&text).map_err(|e| {
                    Failure(format!(
                        "--variations is not JSON ({e}): give an array, like '[\"v1\", \"v2\"]'"
                    ))
                })?,
                None => Value::Null,
            };
            (
                at,
                why,
                "user".to_owned(),
                false,
                json!({"create": key, "variations": variations}),
            )
        }
        FlagCommand::On { key, at, why } => (at, why, "user".to_owned(), false, json!({"on": key})),
        FlagCommand::Off { key, at, why } => {
            (at, why, "user".to_owned(), true, json!({"off": key}))
        }
        FlagCommand::Archive { key, at, why } => {
            (at, why, "user".to_owned(), false, json!({"archive": key}))
        }
        FlagCommand::OffVariation {
            key,
            value,
            at,
            why,
        } => (
            at,
            why,
            "user".to_owned(),
            false,
            json!({"offVariation": key, "value": value}),
        ),
        FlagCommand::Rollout {
            key,
            shares,
            at,
            why,
        } => {
            let shares = shares_json(&shares)?;
            (
                at,
                why,
                "user".to_owned(),
                false,
                json!({"rollout": key, "shares": shares}),
            )
        }
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
            let change =
                json!({"target": key, "value": value, "add": add, "remove": remove, "kind": kind});
            (at, why, kind, false, change)
        }
    };
    change(&at.at, &why, &kind, kill, |snapshot| {
        change_from_json(snapshot, &named).map_err(|e| Failure(e.to_string()))
    })
}

/// `10%` alone, or `VALUE=PERCENT` each, as the core's shares.
fn shares_json(shares: &[String]) -> Result<Value, Failure> {
    if let [single] = shares {
        if !single.contains('=') {
            return Ok(Value::String(single.clone()));
        }
    }
    let mut by_value = serde_json::Map::new();
    for share in shares {
        let Some((value, percent)) = share.rsplit_once('=') else {
            return Err(Failure(format!(
                "{share:?}: with more than one share, give each as VALUE=PERCENT, like dark=10%"
            )));
        };
        if by_value
            .insert(value.to_owned(), Value::String(percent.to_owned()))
            .is_some()
        {
            return Err(Failure(format!(
                "ROLLOUT_INVALID: {value} is given two shares"
            )));
        }
    }
    Ok(Value::Object(by_value))
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
            flag: None,
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
            flag: Some((change.key().to_owned(), sets(&change))),
        })
    })
}

/// Reads the place, makes the next snapshot, previews it, asks, and writes
/// it if the place did not change meanwhile. When another edit won, it
/// reads the place again and makes the same change again, unless the
/// winner changed the flag this edit changes (or this is a rollback): the
/// preview said what would happen to that flag, so it stops and says so.
/// The kill switch writes before its preview: nothing delays it.
fn edit(
    at: &Place,
    why: &Why,
    kind: &str,
    kill: bool,
    make: impl Fn(&Current) -> Result<Made, Failure>,
) -> Outcome {
    let comment = why.comment.clone().unwrap_or_default();
    let author = person::author(why.author.as_deref());
    check_comment(&comment, &author).map_err(Failure)?;
    let mut first: Option<Snapshot> = None;
    for attempt in 0..MAX_ATTEMPTS {
        let current = at.read()?;
        let made = make(&current);
        if let Some(first) = &first {
            let flag = made.as_ref().ok().and_then(|m| m.flag.clone());
            let touched = match &flag {
                Some((key, fields)) => changed_under(first, &current.snapshot, key, fields),
                None => true,
            };
            if touched || made.is_err() {
                let what = flag.map_or_else(
                    || "the flags".to_owned(),
                    |(key, _)| format!("flag {key:?}"),
                );
                return Err(Failure(format!(
                    "{}: another edit changed {what} since this one read it (now {}); nothing was written: run the command again to see what it would do now",
                    at.describe(),
                    current.id().unwrap_or("nothing")
                )));
            }
        }
        let Made {
            next,
            changes,
            named,
            flag,
        } = made?;
        let nothing = match flag {
            Some(_) => diff(&current.snapshot, &next, &[]).is_empty(),
            None => next.id() == current.snapshot.id(),
        };
        if nothing {
            eprintln!(
                "flagcore: {}: nothing to change ({}); nothing was written",
                at.describe(),
                changes.join("; ")
            );
            return Ok(ExitCode::SUCCESS);
        }
        if attempt == 0 && !kill {
            preview(at, &current, &next, &changes, why, kind, named.clone())?;
            if why.dry_run {
                eprintln!("flagcore: --dry-run: nothing was written");
                return Ok(ExitCode::SUCCESS);
            }
            if !(why.yes || person::confirm(&at.describe())?) {
                eprintln!("flagcore: nothing was written");
                return Ok(ExitCode::FAILURE);
            }
        }
        if kill && why.dry_run {
            preview(at, &current, &next, &changes, why, kind, named)?;
            eprintln!("flagcore: --dry-run: nothing was written");
            return Ok(ExitCode::SUCCESS);
        }
        let note = Note {
            author: &author,
            comment: &comment,
            changes: changes.clone(),
            decisions: Vec::new(),
            decisions_left_out: 0,
        };
        match at.write(&current, &next, &note, kill)? {
            Written::Done { id } => {
                if kill {
                    preview(at, &current, &next, &changes, why, kind, named)?;
                }
                eprintln!(
                    "flagcore: published generation {id} to {} (it replaced {})",
                    at.describe(),
                    current.id().unwrap_or("nothing")
                );
                println!("{id}");
                return Ok(ExitCode::SUCCESS);
            }
            Written::Lost(race) => {
                eprintln!("flagcore: {race} since this edit read {}: making the change again to what is there now", at.describe());
                first.get_or_insert(current.snapshot);
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

/// What an edit makes: the next snapshot, a line per change, the contexts
/// it names (a target's keys), which the preview evaluates too, and the
/// flag it changes with the properties it sets (`None`: a rollback, which
/// may change any).
struct Made {
    next: Snapshot,
    changes: Vec<String>,
    named: Vec<Context>,
    flag: Option<(String, &'static [&'static str])>,
}

/// The properties of its flag a change sets, which another edit must not
/// have changed for it to be made again after losing a race. A target
/// (whose keys `apply` checks), a creation and an archive (which `apply`
/// refuses when they no longer make sense) and the kill switch (which
/// always wins) set none that way.
fn sets(change: &Change) -> &'static [&'static str] {
    match change {
        Change::On { .. } => &["on"],
        Change::Rollout { .. } => &["fallthrough", "variations"],
        Change::OffVariation { .. } => &["offVariation", "variations"],
        Change::Target { .. } => &["variations"],
        Change::Off { .. } | Change::Create { .. } | Change::Archive { .. } => &[],
    }
}

/// Whether flag `key`'s `fields` differ between `first` and `now`.
fn changed_under(first: &Snapshot, now: &Snapshot, key: &str, fields: &[&str]) -> bool {
    let flag = |snapshot: &Snapshot| {
        let document: Value =
            serde_json::from_slice(&canonical_json(snapshot)).unwrap_or(Value::Null);
        document["flags"][key].clone()
    };
    let (before, after) = (flag(first), flag(now));
    fields.iter().any(|field| before[field] != after[field])
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
    let count = contexts.len();
    if !named.is_empty() {
        described = format!("{described} and the {} key(s) named", named.len());
        contexts.extend(named);
    }
    let from = current.id().unwrap_or("nothing");
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
        eprintln!("of {count} {described}:");
        for flag in moving {
            history::print_moves(flag, contexts.len() as u64, &mut std::io::stderr());
        }
    }
    Ok(())
}
