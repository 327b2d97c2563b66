//! `flagcore`: evaluate, check and preview LaunchDarkly-format flag snapshots.

use std::fs;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod aws;
mod canary;
mod cloudwatch;
mod dynamodb;
mod flag;
mod history;
mod ldapi;
mod person;
mod place;
mod publish;
mod rollout;
mod store;
mod sync;

use clap::{Args, Parser, Subcommand};
use flagcore::{Detail, Severity, Snapshot, ValueType};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "flagcore",
    version,
    about = "Evaluate, check, preview, publish and edit LaunchDarkly-format flags"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate one flag, or a stream of JSON Lines requests (--batch)
    Eval(EvalArgs),
    /// Validate a snapshot and list its problems (exit 1 on errors)
    Check(CheckArgs),
    /// Show how contexts spread over a flag's variations
    Rollout(RolloutArgs),
    /// Publish a snapshot in flagcore's layout (a small head, immutable chunks) to a directory or DynamoDB
    #[command(long_about = PUBLISH_ABOUT)]
    Publish(PublishArgs),
    /// Publish flags read from elsewhere in flagcore's layout: `flagcore sync launchdarkly`
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Create, turn on and off, roll out, target, show and list flags at --at PLACE, each change with a comment
    #[command(subcommand)]
    Flag(flag::FlagCommand),
    /// The generations at --at PLACE, newest first: when, who, why, and what changed
    History(history::HistoryArgs),
    /// What changes between two generations (or snapshot files), and how many contexts move where
    Diff(history::DiffArgs),
    /// Publish an earlier generation's flags again, as the newest generation
    Rollback(flag::RollbackArgs),
    /// A guarded canary: raise a rollout step by step while its metrics hold, roll it back when they do not
    #[command(subcommand)]
    Canary(canary::CanaryCommand),
}

const PUBLISH_ABOUT: &str = "\
Publish a snapshot in flagcore's layout, from CI/CD: to a directory, for an HTTP origin (S3,
CloudFront), or to a DynamoDB table. flagcore's `published` sources poll its head alone (one
conditional GET of head.json, or one GetItem), and read the chunks only when the snapshot id
changed.

It refuses a snapshot `check` finds errors in, and DynamoDB items of a Relay table that lost its
$inited marker since the published snapshot was read (it may hold a part), unless given
--force; it never replaces a head that a newer flagcore wrote. Each head's sequence is above the
one it replaces, so a publisher whose clock is off cannot make an older generation look newer
to requests pinned to it. Warnings about the source (no $inited marker, items of other
namespaces) travel in the head to every reader's status().

It writes the chunks (snapshots/<id>/<n>.json.gz, each at most 320 KB before compression),
then the head, so a reader never sees a head whose chunks are missing, then the generation's
own copy of its head (snapshots/<id>/head.json, read by requests pinned to that snapshot by a
decision token); it refuses to write the head when another publisher replaced it meanwhile
(exit 1). When the head already names the snapshot's content id (and what its source says of it), it
writes nothing. It prints the
snapshot id on stdout.

A directory's files are each written under a temporary name first, and its head is replaced
under an exclusive lock on head.json.lock (which the system lets go of when a publisher dies),
so two publishers never both succeed: one that finds the lock taken exits 1. Its earlier
generations stay; expire them with the origin's own rules (an S3 lifecycle rule on
snapshots/, after a retention window longer than your decision tokens live).

--to dynamodb:TABLE[/PREFIX] writes items of the Relay Proxy's key schema (partition key
`namespace`, sort key `key`) under the namespace [PREFIX:]flagcore: the head in `head.json`,
each chunk's gzip bytes in `data`. It signs its requests with the credentials in
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, in AWS_REGION (or
AWS_DEFAULT_REGION), at AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL) when set. It needs
GetItem, PutItem, BatchWriteItem and UpdateItem on the table. The replaced generation's items
expire after --retention-seconds through the table's TTL attribute `ttl` (turn it on).";

#[derive(Args)]
struct PublishArgs {
    #[command(flatten)]
    file: SnapshotFile,
    /// Where to publish: a directory, or dynamodb:TABLE[/PREFIX]
    #[arg(long, value_name = "DIR|dynamodb:TABLE[/PREFIX]", value_parser = publish::destination)]
    to: publish::Destination,
    /// DynamoDB: how long the replaced generation stays readable, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = publish::DEFAULT_RETENTION_SECONDS)]
    retention_seconds: u64,
    /// Publish even when `check` finds errors, or a Relay table lost its $inited marker
    #[arg(long)]
    force: bool,
    /// Print the result as JSON: {"id", "unchanged", "chunks", "bytes"}
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SnapshotArgs {
    /// Snapshot file: polling payload, put event, file-data-source JSON, or DynamoDB items
    #[arg(long, short = 's', value_name = "FILE", required_unless_present = "at")]
    snapshot: Option<PathBuf>,
    /// Or the flags at PLACE: a directory, dynamodb:TABLE[/PREFIX], or a JSON file (--snapshot wins)
    #[arg(long, env = "FLAGCORE_AT", value_name = "PLACE", value_parser = place::place)]
    at: Option<place::Place>,
    /// Prefix of the Relay Proxy's DynamoDB namespaces (for DynamoDB items)
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,
}

impl SnapshotArgs {
    /// The snapshot, and where it came from.
    fn load(&self) -> Result<(Snapshot, String), Failure> {
        match (&self.snapshot, &self.at) {
            (Some(path), _) => Ok((
                load(path, self.prefix.as_deref())?,
                path.display().to_string(),
            )),
            (None, Some(at)) => Ok((at.read()?.snapshot, at.describe())),
            (None, None) => Err(Failure("give --snapshot FILE or --at PLACE".into())),
        }
    }
}

/// The snapshot of `check` and `publish`: `--snapshot FILE`, as every command
/// names it; the positional FILE they took first still works, with a warning.
#[derive(Args)]
struct SnapshotFile {
    /// Snapshot file: polling payload, put event, file-data-source JSON, or DynamoDB items
    #[arg(
        long,
        short = 's',
        value_name = "FILE",
        required_unless_present = "positional"
    )]
    snapshot: Option<PathBuf>,
    /// Deprecated: the snapshot file, now given with --snapshot
    #[arg(value_name = "FILE", conflicts_with = "snapshot", hide = true)]
    positional: Option<PathBuf>,
    /// Prefix of the Relay Proxy's DynamoDB namespaces (for DynamoDB items)
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<String>,
}

impl SnapshotFile {
    fn path(&self, command: &str) -> Result<&Path, Failure> {
        match (&self.snapshot, &self.positional) {
            (Some(path), _) => Ok(path),
            (None, Some(path)) => {
                eprintln!(
                    "flagcore: warning: `flagcore {command} FILE` is deprecated; write `flagcore {command} --snapshot {}`",
                    path.display()
                );
                Ok(path)
            }
            (None, None) => Err(Failure("--snapshot FILE is missing".into())),
        }
    }

    fn load(&self, command: &str) -> Result<Snapshot, Failure> {
        load(self.path(command)?, self.prefix.as_deref())
    }
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    source: SnapshotArgs,
    /// Flag key
    #[arg(long, short = 'f', required_unless_present = "batch")]
    flag: Option<String>,
    /// Context as JSON, or @FILE to read it from a file
    #[arg(long, short = 'c', required_unless_present = "batch")]
    context: Option<String>,
    /// Default value as JSON, answered when the flag gives none
    #[arg(long, short = 'd', default_value = "null")]
    default: String,
    /// Typed variation: bool, int, double, string or any
    #[arg(long = "type", short = 't', default_value = "any", value_parser = parse_type)]
    value_type: ValueType,
    /// Read JSON Lines requests {"flag","context","default","type"} on stdin and write one
    /// detail per line; a request without "flag" gets an object of every flag's detail
    #[arg(long, conflicts_with_all = ["flag", "context"])]
    batch: bool,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    file: SnapshotFile,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct RolloutArgs {
    #[command(flatten)]
    source: SnapshotArgs,
    /// Flag key
    #[arg(long, short = 'f')]
    flag: String,
    /// Contexts to evaluate, one JSON object per line
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic")]
    contexts: Option<PathBuf>,
    /// Evaluate N synthetic contexts (keys synthetic-0 ... synthetic-(N-1))
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    synthetic: u64,
    /// Context kind of the synthetic contexts
    #[arg(long, default_value = "user")]
    kind: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

fn parse_type(text: &str) -> Result<ValueType, String> {
    ValueType::parse(text)
        .ok_or_else(|| format!("{text:?} is not one of bool, int, double, string, any"))
}

/// A failure to report on stderr, with the exit code.
#[derive(Debug)]
struct Failure(String);

type Outcome = Result<ExitCode, Failure>;

fn main() -> ExitCode {
    // The default action of SIGPIPE (which Rust's runtime ignores): a reader
    // that stops reading ends the command, as it ends `cat`.
    #[cfg(unix)]
    // SAFETY: before any thread starts; SIG_DFL is a valid action for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) if args.batch => batch(&args),
        Command::Eval(args) => eval(&args),
        Command::Check(args) => check(&args),
        Command::Rollout(args) => rollout::rollout(&args),
        Command::Publish(args) => args
            .file
            .load("publish")
            .and_then(|snapshot| {
                publish::publish(&snapshot, &args.to, args.force, args.retention_seconds)
            })
            .map(|report| publish::print(&report, args.json)),
        Command::Sync(sync::SyncCommand::Launchdarkly(args)) => sync::launchdarkly(
            &args.base_uri,
            args.filter.as_deref(),
            &args.to,
            args.retention_seconds,
            std::time::Duration::from_secs(args.timeout_seconds.max(1)),
        )
        .map(|report| publish::print(&report, args.json)),
        Command::Flag(command) => flag::run(command),
        Command::History(args) => {
            history::history(&args.at.at, args.flag.as_deref(), args.limit, args.json)
        }
        Command::Diff(args) => history::diff_command(
            args.at.as_ref(),
            &args.a,
            &args.b,
            args.contexts.as_deref(),
            args.synthetic,
            &args.kind,
            args.json,
        ),
        Command::Rollback(args) => flag::rollback(&args.at.at, &args.to, &args.why),
        Command::Canary(command) => canary::run(command),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("flagcore: {message}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path, prefix: Option<&str>) -> Result<Snapshot, Failure> {
    let bytes =
        fs::read(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    parse(path, &bytes, prefix)
}

/// The snapshot in `bytes`, read from the file `path`: refused with its
/// code, where, and why, naming the file.
fn parse(path: &Path, bytes: &[u8], prefix: Option<&str>) -> Result<Snapshot, Failure> {
    Snapshot::from_json_with_prefix(bytes, prefix).map_err(|e| {
        Failure(format!(
            "{}: {} at {}: {}",
            path.display(),
            e.code(),
            e.path(),
            e.message()
        ))
    })
}

fn json_arg(what: &str, text: &str) -> Result<Value, Failure> {
    let text = match text.strip_prefix('@') {
        Some(path) => fs::read_to_string(path)
            .map_err(|e| Failure(format!("cannot read {what} file {path}: {e}")))?,
        None => text.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| {
        // A bare word is the usual slip: the shell ate the quotes of a JSON string.
        let hint = if text.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) && !text.is_empty() {
            format!(" (a string is JSON in double quotes, inside the shell's quotes: --{what} '\"{text}\"')")
        } else {
            String::new()
        };
        Failure(format!("--{what} is not JSON: {e}{hint}"))
    })
}

fn eval(args: &EvalArgs) -> Outcome {
    let (snapshot, _) = args.source.load()?;
    let context = json_arg("context", args.context.as_deref().unwrap_or_default())?;
    let default = json_arg("default", &args.default)?;
    let flag = args.flag.as_deref().unwrap_or_default();
    let detail = snapshot.variation_detail_json(flag, &context, &default, args.value_type);
    println!("{}", detail_json(&detail));
    Ok(ExitCode::SUCCESS)
}

fn batch(args: &EvalArgs) -> Outcome {
    let (snapshot, _) = args.source.load()?;
    // Our own buffer, so that we can see whether more input is already waiting.
    let mut input = io::BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let mut output = BufWriter::new(io::stdout().lock());
    let mut line = String::new();
    let (mut number, mut bad) = (0u64, 0u64);
    let write_failed = |e: io::Error| Failure(format!("cannot write the output: {e}"));
    loop {
        line.clear();
        if input
            .read_line(&mut line)
            .map_err(|e| Failure(format!("cannot read stdin: {e}")))?
            == 0
        {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Value>(&line) {
            Ok(request) => answer(&snapshot, &request, args),
            Err(e) => Err(format!("not JSON: {e}")),
        };
        let answer = answer.unwrap_or_else(|message| {
            bad += 1;
            json!({"error": {"code": "BAD_REQUEST", "line": number, "message": message}})
                .to_string()
        });
        output.write_all(answer.as_bytes()).map_err(write_failed)?;
        output.write_all(b"\n").map_err(write_failed)?;
        // Flush whenever the next read would wait, so that a caller talking
        // to us line by line gets each answer at once.
        if input.buffer().is_empty() {
            output.flush().map_err(write_failed)?;
        }
    }
    output.flush().map_err(write_failed)?;
    if bad > 0 {
        eprintln!("flagcore: {bad} of {number} request line(s) were not valid requests");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A detail as LaunchDarkly writes it: `{"value", "variationIndex", "reason"}` in that order.
fn detail_json(detail: &Detail<'_>) -> String {
    serde_json::to_string(detail).unwrap_or_default()
}

/// One batch request's answer: a detail, or every flag's detail by key.
fn answer(snapshot: &Snapshot, request: &Value, args: &EvalArgs) -> Result<String, String> {
    let Value::Object(request) = request else {
        return Err("a request must be a JSON object".to_owned());
    };
    let context = request.get("context").unwrap_or(&Value::Null);
    let default = request.get("default").unwrap_or(&Value::Null);
    let value_type = match request.get("type") {
        None | Some(Value::Null) => args.value_type,
        Some(Value::String(t)) => parse_type(t)?,
        Some(other) => return Err(format!("\"type\" must be a string, not {other}")),
    };
    match request.get("flag") {
        Some(Value::String(flag)) => Ok(detail_json(
            &snapshot.variation_detail_json(flag, context, default, value_type),
        )),
        None | Some(Value::Null) => {
            let all: Vec<String> = snapshot
                .flag_keys()
                .iter()
                .map(|key| {
                    let detail = snapshot.variation_detail_json(key, context, default, value_type);
                    format!("{}:{}", Value::from(key.as_str()), detail_json(&detail))
                })
                .collect();
            Ok(format!("{{{}}}", all.join(",")))
        }
        Some(other) => Err(format!("\"flag\" must be a string, not {other}")),
    }
}

fn check(args: &CheckArgs) -> Outcome {
    let path = args.file.path("check")?;
    let bytes =
        fs::read(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    let name = path.display();
    let snapshot = match Snapshot::from_json_with_prefix(&bytes, args.file.prefix.as_deref()) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            if args.json {
                let error =
                    json!({"code": e.code().as_str(), "path": e.path(), "message": e.message()});
                println!("{}", json!({"valid": false, "error": error}));
            } else {
                println!("{name}: cannot be loaded");
                println!("error  {}  {}  {}", e.code(), e.path(), e.message());
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let problems = snapshot.check();
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    let source = snapshot.source();
    if args.json {
        let report = json!({
            "valid": errors == 0,
            "id": snapshot.id(),
            "format": source.format.as_str(),
            "flags": snapshot.flag_keys().len(),
            "segments": snapshot.segment_keys().len(),
            "problems": problems,
        });
        println!("{report}");
    } else {
        println!(
            "{name}: {}, {} ({} format), snapshot id {}",
            count(snapshot.flag_keys().len(), "flag"),
            count(snapshot.segment_keys().len(), "segment"),
            source.format.as_str(),
            snapshot.id()
        );
        for p in &problems {
            let severity = match p.severity {
                Severity::Error => "error  ",
                Severity::Warning => "warning",
            };
            println!("{severity}  {}  {}  {}", p.code, p.path, p.message);
        }
        println!("{}, {}", count(errors, "error"), count(warnings, "warning"));
    }
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
