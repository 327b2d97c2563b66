//! `flagcore canary run PLAN` and `flagcore canary status PLAN`: the
//! guarded canary's controller from a terminal or a scheduled job. Each run
//! reads the plan, the flags at the place, the controller's state beside
//! them (`canary/<flag>.json`) and the step's window of metrics; the core
//! (`flagcore::canary::step`) decides; the run publishes the edit it asks
//! for as a generation whose history record says what the controller saw,
//! on the condition that nobody changed the place since the run read it,
//! and then keeps the state. Two runs at once cannot both act: the one
//! whose head write loses does nothing. (With `--launchdarkly`, each step
//! is a semantic patch of the flag there, which LaunchDarkly makes
//! without comparing versions.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use flagcore::canary::{self, launchdarkly, Outcome, Plan, State, Status, AUTHOR, MAX_STATE_BYTES};
use flagcore::edit::{apply, change_from_json, summary, variation_of};
use flagcore::Snapshot;
use serde_json::{json, Value};

use crate::cloudwatch::Metrics;
use crate::ldapi::Api;
use crate::place::{read_state, state_name, At, Current, Note, Place, Written};
use crate::publish::now_ms;
use crate::store::{self, read_bounded};
use crate::{Failure, Outcome as Exit};

/// The most bytes of a plan, or of a window file, read.
pub(crate) const MAX_PLAN_BYTES: usize = 65_536;

#[derive(Subcommand)]
pub(crate) enum CanaryCommand {
    /// Run the controller: each minute (or --once), decide from the metrics and act
    Run(RunArgs),
    /// Where the canary is: its step, its share, and its newest decisions
    Status(StatusArgs),
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// The canary plan (JSON): the flag, the steps, the bake time, the guards
    plan: PathBuf,
    #[command(flatten)]
    at: At,
    /// The metrics: `cloudwatch` (GetMetricData), or a JSON file holding the step's window
    #[arg(long, value_name = "cloudwatch|FILE", default_value = "cloudwatch")]
    metrics: String,
    /// CloudWatch: the namespace flagcore's metrics are written under
    #[arg(long, value_name = "NAMESPACE", default_value = "flagcore")]
    namespace: String,
    /// CloudWatch: the function whose metrics count (its FunctionName); none: series without one
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// One run, then exit (as a scheduled job runs it)
    #[arg(long)]
    once: bool,
    /// Between runs, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    every: u64,
    /// Start over a canary that ended (rolled back, halted, stopped or complete)
    #[arg(long)]
    restart: bool,
    /// Print each run's outcome as JSON: {"action", "reason", "figures", "generation", "state"}
    #[arg(long)]
    json: bool,
    /// The flag is in LaunchDarkly: read it there and step it by its REST API (LAUNCHDARKLY_API_TOKEN); --at keeps the state
    #[arg(long, value_name = "PROJECT/ENVIRONMENT")]
    launchdarkly: Option<String>,
    /// The controller's clock, in milliseconds since 1970 (a replay, a test); implies --once
    #[arg(long, value_name = "MS", hide = true)]
    now: Option<u64>,
}

#[derive(Args)]
pub(crate) struct StatusArgs {
    /// The canary plan (JSON)
    plan: PathBuf,
    #[command(flatten)]
    at: At,
    /// Print the state as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: CanaryCommand) -> Exit {
    match command {
        CanaryCommand::Status(args) => status(&args),
        CanaryCommand::Run(args) => {
            let mut restart = args.restart;
            loop {
                let now = args
                    .now
                    .unwrap_or_else(|| u64::try_from(now_ms()).unwrap_or(0));
                let once = args.once || args.now.is_some();
                let result = run_once(&args, restart, now, 0);
                // --restart is for the first run alone.
                restart = false;
                match result {
                    Ok(outcome) => {
                        let ended = outcome.state.as_ref().is_some_and(|s| {
                            matches!(
                                s.status,
                                Status::RolledBack | Status::Complete | Status::Stopped
                            )
                        });
                        if once || ended {
                            return Ok(ExitCode::SUCCESS);
                        }
                    }
                    Err(failure) if once => return Err(failure),
                    // Left running, a run that failed is said, and the next
                    // one tries again: the canary stays guarded.
                    Err(failure) => eprintln!("flagcore canary: {}", failure.0),
                }
                std::thread::sleep(Duration::from_secs(args.every.max(1)));
            }
        }
    }
}

fn read_json(path: &Path, what: &str) -> Result<Value, Failure> {
    let bytes = read_bounded(path, MAX_PLAN_BYTES + 1)?
        .ok_or_else(|| Failure(format!("{}: no such {what}", path.display())))?;
    if bytes.len() > MAX_PLAN_BYTES {
        return Err(Failure(format!(
            "{}: a {what} is at most {MAX_PLAN_BYTES} bytes",
            path.display()
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| Failure(format!("{}: the {what} is not JSON: {e}", path.display())))
}

fn plan(path: &Path) -> Result<Plan, Failure> {
    Plan::from_value(&read_json(path, "plan")?)
        .map_err(|e| Failure(format!("{}: {e}", path.display())))
}

/// The place's store: a canary keeps its state and history in a published place.
fn store_of(at: &Place) -> Result<Box<dyn store::Store>, Failure> {
    match at {
        Place::Published(destination) => store::open(destination),
        Place::File(path) => Err(Failure(format!(
            "{}: a plain file keeps no history or state: run the canary at a directory or dynamodb:TABLE (`flagcore publish --to`)",
            path.display()
        ))),
    }
}

/// How many times a run starts again when another run kept its state
/// between this run's read and write.
const MAX_RUNS: u32 = 4;

/// One run of the controller at `now`: read the state, then the flags (so
/// that the flags are never behind the state: a run that acts publishes
/// before it keeps its state), decide, publish the edit on the condition
/// that the head is still the one read, and keep the state on the
/// condition that it is still the text read. A run that acted replaces a
/// state another run kept meanwhile only if that state is behind its step
/// (the flags are as it left them); a run that did not act starts again on
/// what is there now.
fn run_once(args: &RunArgs, restart: bool, now: u64, attempt: u32) -> Result<Outcome, Failure> {
    let plan = plan(&args.plan)?;
    let at = &args.at.at;
    let mut store = store_of(at)?;
    let name = state_name(&plan.flag);
    // A state that does not read, replaced on --restart whatever it holds.
    let mut unreadable = false;
    let (text, mut state) = match read_state(store.as_mut(), at, &plan.flag) {
        // A state that does not read is started over when asked to.
        Err(e) if restart => {
            eprintln!("flagcore canary: {}: starting over", e.0);
            unreadable = true;
            (None, None)
        }
        other => other?,
    };
    let launchdarkly = args
        .launchdarkly
        .as_deref()
        .map(Api::from_env)
        .transpose()?;
    let flags = match &launchdarkly {
        None => Flags::Place(at.read()?),
        Some(api) => {
            let flag = api.flag(&plan.flag)?;
            let snapshot = match &flag {
                Some(flag) => launchdarkly::snapshot(flag, &api.environment)
                    .map_err(|e| Failure(format!("{}: {e}", api.describe())))?,
                // No such flag: the controller refuses to start. While a
                // canary runs, a 404 is as likely a wrong project key or
                // address as a flag archived: said, and nothing ends.
                None if state.as_ref().is_some_and(|s| matches!(s.status, Status::Running | Status::Halted)) => {
                    return Err(Failure(format!(
                        "{}: answered 404 for flag {:?}: check the project's key and LAUNCHDARKLY_API_BASE_URI; if the flag was archived, start the canary over with --restart",
                        api.describe(),
                        plan.flag
                    )))
                }
                None => Snapshot::from_json(br#"{"flags": {}, "segments": {}}"#)
                    .map_err(|e| Failure(e.to_string()))?,
            };
            Flags::LaunchDarkly(flag.unwrap_or(Value::Null), snapshot)
        }
    };
    let snapshot = match &flags {
        Flags::Place(current) => &current.snapshot,
        Flags::LaunchDarkly(_, snapshot) => snapshot,
    };
    // The decisions of the canary a restart replaces that no generation
    // holds (how it ended): the restart's own record holds them.
    let mut carried = (Vec::new(), 0);
    if restart {
        match state.take() {
            Some(s) if s.status == Status::Running => {
                return Err(Failure(format!(
                    "the canary of {:?} is running: --restart starts over only one that ended",
                    plan.flag
                )))
            }
            Some(s) => carried = (s.unpublished().to_vec(), s.left_out),
            None => {}
        }
    }
    let window = match &state {
        Some(s) if matches!(s.status, Status::Running | Status::Halted) => {
            Some(read_window(args, &plan, snapshot, s, now))
        }
        _ => None,
    };
    let window = match &window {
        Some(Ok(value)) => Ok(value),
        Some(Err(why)) => Err(why.as_str()),
        None => Ok(&Value::Null),
    };
    let mut outcome = canary::step(&plan, state.as_ref(), snapshot, window, now)
        .map_err(|e| Failure(format!("{}: {e}", args.plan.display())))?;
    let (earlier, earlier_left_out) = carried;
    if outcome.edit.is_some() {
        outcome.decisions.splice(0..0, earlier);
        outcome.decisions_left_out += earlier_left_out;
    } else if let Some(kept) = &mut outcome.state {
        kept.decisions.splice(0..0, earlier);
        kept.left_out += earlier_left_out;
    }
    let mut generation = None;
    if let Some(edit) = &outcome.edit {
        let written = match &flags {
            Flags::Place(current) => publish_edit(at, current, edit, &outcome)?,
            Flags::LaunchDarkly(flag, _) => {
                let api = launchdarkly
                    .as_ref()
                    .ok_or_else(|| Failure("no LaunchDarkly".into()))?;
                let patch =
                    launchdarkly::semantic_patch(flag, &api.environment, edit, &outcome.comment)
                        .map_err(|e| Failure(format!("{}: {e}", api.describe())))?;
                let answer = api.patch(&plan.flag, &patch)?;
                Written::Done {
                    id: format!(
                        "{} {} version {}",
                        api.describe(),
                        plan.flag,
                        answer["_version"]
                    ),
                }
            }
        };
        match written {
            Written::Done { id } => generation = Some(id),
            Written::Lost(race) => {
                let reason = format!(
                    "{}: {race} since this run read it: this run did nothing ({} not made); the next run decides on what is there then",
                    at.describe(),
                    outcome.action
                );
                let lost = Outcome {
                    action: "none",
                    reason,
                    figures: Value::Null,
                    edit: None,
                    comment: String::new(),
                    state: None,
                    decisions: Vec::new(),
                    decisions_left_out: 0,
                };
                report(args, &plan, &lost, None);
                return Ok(lost);
            }
        }
    }
    if let Some(kept) = &outcome.state {
        let new = kept.to_json();
        let mut seen = text;
        let mut written = false;
        for _ in 0..MAX_RUNS {
            let tried = if unreadable {
                store.replace_text(&name, &new).map(|()| true)
            } else {
                store.write_text(&name, &new, seen.as_deref())
            };
            match tried {
                Ok(true) => {
                    written = true;
                    break;
                }
                // Another run kept its state meanwhile: one that did not
                // act starts again; one that acted keeps its own.
                Ok(false) if generation.is_none() => {
                    if attempt + 1 < MAX_RUNS {
                        return run_once(args, restart, now, attempt + 1);
                    }
                    return Err(Failure(format!(
                        "{}: {name}: other runs kept their state {MAX_RUNS} times while this one ran: it did nothing",
                        at.describe()
                    )));
                }
                // Another run kept a state after this one read: this run's
                // step replaces it only if it is still behind the step
                // (a run that held, or took the step up); a state that
                // ended the canary, or went past, stays.
                Ok(false) => {
                    seen = store.read_text(&name, MAX_STATE_BYTES)?;
                    let theirs = seen
                        .as_deref()
                        .and_then(|t| State::from_json(t.as_bytes()).ok());
                    if let Some(theirs) = theirs {
                        let behind = match kept.status {
                            // This run published the rollback: it stands,
                            // unless the canary had already ended so.
                            Status::RolledBack => {
                                !matches!(theirs.status, Status::RolledBack | Status::Stopped)
                            }
                            _ => theirs.status == Status::Running && theirs.step <= kept.step,
                        };
                        if !behind {
                            eprintln!(
                                "flagcore canary: {}: another run kept the canary's state after this one published {}: its state stays",
                                at.describe(),
                                generation.as_deref().unwrap_or("its step")
                            );
                            written = true;
                            break;
                        }
                    }
                }
                Err(e) if generation.is_some() => {
                    eprintln!("flagcore canary: {}", e.0);
                }
                Err(e) => return Err(e),
            }
        }
        if let (false, Some(id)) = (written, &generation) {
            return Err(Failure(format!(
                "{}: published generation {id} ({} of {:?}), but its state ({name}) could not be kept: the next run reads the flags as they are (a step it takes up there; a rollback it reads as a person's, and stops)",
                at.describe(),
                outcome.action,
                plan.flag
            )));
        }
    }
    report(args, &plan, &outcome, generation.as_deref());
    Ok(outcome)
}

/// Where the flags were read: the place (a published layout), or LaunchDarkly.
enum Flags {
    Place(Current),
    /// LaunchDarkly's answer (null: no such flag), and its snapshot.
    LaunchDarkly(Value, Snapshot),
}

/// Publishes the controller's edit at the place, on the condition that
/// nobody changed it since `current` was read.
fn publish_edit(
    at: &Place,
    current: &Current,
    edit: &Value,
    outcome: &Outcome,
) -> Result<Written, Failure> {
    let change = change_from_json(&current.snapshot, edit).map_err(|e| Failure(e.to_string()))?;
    let next = apply(&current.snapshot, &change).map_err(|e| Failure(e.to_string()))?;
    let note = Note {
        author: AUTHOR,
        comment: &outcome.comment,
        changes: vec![summary(&change, &current.snapshot)],
        decisions: outcome.decisions.clone(),
        decisions_left_out: outcome.decisions_left_out,
    };
    at.write(current, &next, &note, false)
}

/// The step's window, or why it could not be read (which holds).
fn read_window(
    args: &RunArgs,
    plan: &Plan,
    snapshot: &flagcore::Snapshot,
    state: &State,
    now: u64,
) -> Result<Value, String> {
    if args.metrics != "cloudwatch" {
        return read_json(Path::new(&args.metrics), "window").map_err(|e| e.0);
    }
    let index =
        |value: &Value| variation_of(snapshot, &plan.flag, value).map_err(|e| e.to_string());
    let (canary, control) = (index(&plan.canary)?, index(&plan.control)?);
    Metrics::from_env(&args.namespace, args.function.as_deref())
        .and_then(|m| m.window(plan, canary, control, state.step_started_ms, now))
        .map_err(|e| e.0)
}

fn report(args: &RunArgs, plan: &Plan, outcome: &Outcome, generation: Option<&str>) {
    if matches!(outcome.action, "rollback" | "halt" | "stop") {
        eprintln!(
            "flagcore canary: ALERT: {}: {}: {}",
            plan.flag, outcome.action, outcome.reason
        );
        // As a metric too, for an alarm: where the job's log goes to
        // CloudWatch Logs, the line becomes one.
        let now = args
            .now
            .unwrap_or_else(|| u64::try_from(now_ms()).unwrap_or(0));
        if let Some(line) = canary::alert_line(&args.namespace, &plan.flag, outcome.action, now) {
            eprintln!("{line}");
        }
    }
    if args.json {
        let state: Value = outcome
            .state
            .as_ref()
            .and_then(|s| serde_json::from_str(&s.to_json()).ok())
            .unwrap_or(Value::Null);
        println!(
            "{}",
            json!({"action": outcome.action, "reason": outcome.reason, "figures": outcome.figures,
                   "generation": generation, "state": state})
        );
        return;
    }
    let at = outcome.state.as_ref().map_or_else(String::new, |s| {
        format!(
            " at step {} of {} ({}%)",
            s.step + 1,
            plan.steps.len(),
            plan.steps[s.step.min(plan.steps.len() - 1)]
        )
    });
    let published = generation.map_or_else(String::new, |id| format!(" [published {id}]"));
    println!(
        "{}: {}{at}: {}{published}",
        plan.flag, outcome.action, outcome.reason
    );
}

fn status(args: &StatusArgs) -> Exit {
    let plan = plan(&args.plan)?;
    let mut store = store_of(&args.at.at)?;
    let (_, state) = read_state(store.as_mut(), &args.at.at, &plan.flag)?;
    if args.json {
        let value: Value = state
            .as_ref()
            .and_then(|s| serde_json::from_str(&s.to_json()).ok())
            .unwrap_or(Value::Null);
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(state) = state else {
        println!(
            "{}: no canary has run at {}",
            plan.flag,
            args.at.at.describe()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let share = plan.steps.get(state.step).copied().unwrap_or(0.0);
    println!(
        "{}: {} at step {} of {} ({share}%), the step started {}, the canary {}",
        plan.flag,
        state.status.as_str(),
        state.step + 1,
        plan.steps.len(),
        crate::history::utc(state.step_started_ms as i64),
        crate::history::utc(state.started_ms as i64)
    );
    for decision in state.decisions.iter().rev().take(10) {
        println!(
            "  {}  {:<8} {}",
            crate::history::utc(decision["atMs"].as_i64().unwrap_or(0)),
            decision["action"].as_str().unwrap_or("?"),
            decision["reason"].as_str().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
