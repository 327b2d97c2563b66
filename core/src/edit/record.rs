//! The record an edit leaves beside the generation it published: who made
//! it, why, when, and what it changed, so that `flagcore history` needs no
//! other store. One record per generation, under [`record_name`], written
//! once the generation's head is written (by the publisher that won).

use serde_json::{json, Value};

use super::{percent, Change};
use crate::snapshot::Snapshot;

/// The most bytes a record holds: a reader refuses a larger one unread.
pub const MAX_RECORD_BYTES: usize = 65_536;
/// The most characters a comment holds.
pub const MAX_COMMENT_CHARS: usize = 2_000;
/// The most characters an author's name holds.
pub const MAX_AUTHOR_CHARS: usize = 200;

/// Where the records are, beside the head: `history/<sequence>.json`.
pub const HISTORY_DIR: &str = "history";

/// What one generation's publisher said of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The generation's sequence (its head's), which orders the records.
    pub sequence: i64,
    /// The generation's snapshot id.
    pub id: String,
    /// The id of the generation it replaced, when there was one.
    pub previous: Option<String>,
    /// When, in milliseconds since the epoch, by the publisher's clock.
    pub published_at: i64,
    /// Who: a name or an address.
    pub author: String,
    /// Why: never empty.
    pub comment: String,
    /// What changed, one line each (see [`summary`]).
    pub changes: Vec<String>,
    /// For a generation the canary's controller published: the decisions
    /// it made since the generation it published before, oldest first, the
    /// last the one that published this, with its figures (see
    /// `canary::Outcome::decisions`). Empty for a person's edit.
    pub decisions: Vec<Value>,
    /// How many older decisions did not fit the record's bound.
    pub decisions_left_out: u64,
}

/// The record's name for a generation of `sequence`: zero-padded, so that
/// names sort as sequences do, in a directory and under a DynamoDB sort key.
pub fn record_name(sequence: i64) -> String {
    format!("{HISTORY_DIR}/{:020}.json", sequence.max(0))
}

/// Why a comment or an author is refused, for the person typing it.
pub fn check_comment(comment: &str, author: &str) -> Result<(), String> {
    if comment.trim().is_empty() {
        return Err(
            "every change needs a comment: give --comment TEXT (or FLAGCORE_COMMENT) saying why"
                .into(),
        );
    }
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(format!(
            "a comment holds at most {MAX_COMMENT_CHARS} characters: link to the longer story"
        ));
    }
    if author.trim().is_empty() || author.chars().count() > MAX_AUTHOR_CHARS {
        return Err(format!(
            "the author is a name of 1 to {MAX_AUTHOR_CHARS} characters: give --author NAME (or FLAGCORE_AUTHOR)"
        ));
    }
    Ok(())
}

impl Record {
    /// The record as JSON text, within [`MAX_RECORD_BYTES`] whatever it
    /// holds: change lines past what fits are summed up in a last line
    /// (`… and 12 more`), and a comment or an author past its bound is cut.
    pub fn to_json(&self) -> String {
        let cut = |text: &str, most: usize| text.chars().take(most).collect::<String>();
        let (comment, author) = (
            cut(&self.comment, MAX_COMMENT_CHARS),
            cut(&self.author, MAX_AUTHOR_CHARS),
        );
        let mut changes: Vec<String> = self.changes.iter().map(|c| cut(c, 500)).collect();
        let (mut decisions, mut left_out) = (self.decisions.clone(), self.decisions_left_out);
        loop {
            let mut value = json!({
                "sequence": self.sequence, "id": self.id, "previous": self.previous,
                "publishedAt": self.published_at, "author": author,
                "comment": comment, "changes": changes,
            });
            if !decisions.is_empty() || left_out > 0 {
                value["decisions"] = json!(decisions);
                value["decisionsLeftOut"] = json!(left_out);
            }
            let text = value.to_string();
            if text.len() <= MAX_RECORD_BYTES {
                return text;
            }
            // The decisions go first, the oldest first: what changed stays
            // while any is left to let go.
            if !decisions.is_empty() {
                let mut freed = 0;
                while freed < text.len() - MAX_RECORD_BYTES && !decisions.is_empty() {
                    freed += decisions.remove(0).to_string().len() + 1;
                    left_out += 1;
                }
                continue;
            }
            if changes.iter().all(|c| left_over(c).is_some()) {
                return text;
            }
            // Drop lines from the end, enough of them for the text to fit
            // (each with its quotes and comma), and count them in a last line.
            let mut more = changes
                .last()
                .and_then(|line| left_over(line))
                .map_or(0, |n| {
                    changes.pop();
                    n
                });
            let mut over = text.len() - MAX_RECORD_BYTES + 32;
            while over > 0 {
                let Some(line) = changes.pop() else { break };
                over = over.saturating_sub(serde_json::to_string(&line).map_or(0, |t| t.len()) + 1);
                more += 1;
            }
            changes.push(format!("… and {more} more"));
        }
    }

    /// Reads a record, refusing one larger than [`MAX_RECORD_BYTES`] or
    /// without its fields: the message says which.
    pub fn from_json(input: &[u8]) -> Result<Record, String> {
        if input.len() > MAX_RECORD_BYTES {
            return Err(format!(
                "larger than {MAX_RECORD_BYTES} bytes: not a record flagcore wrote"
            ));
        }
        let value: Value = std::str::from_utf8(input)
            .ok()
            .and_then(|text| crate::json::parse(text).ok())
            .ok_or("not JSON")?;
        let text = |name: &str| value[name].as_str().map(str::to_owned);
        let missing = |name: &str| format!("has no {name}");
        Ok(Record {
            sequence: value["sequence"]
                .as_i64()
                .ok_or_else(|| missing("sequence"))?,
            id: text("id").ok_or_else(|| missing("id"))?,
            previous: text("previous"),
            published_at: value["publishedAt"]
                .as_i64()
                .ok_or_else(|| missing("publishedAt"))?,
            author: text("author").ok_or_else(|| missing("author"))?,
            comment: text("comment").ok_or_else(|| missing("comment"))?,
            changes: value["changes"]
                .as_array()
                .ok_or_else(|| missing("changes"))?
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect(),
            decisions: value["decisions"]
                .as_array()
                .map(|d| d.iter().filter(|d| d.is_object()).cloned().collect())
                .unwrap_or_default(),
            decisions_left_out: value["decisionsLeftOut"].as_u64().unwrap_or(0),
        })
    }
}

/// How many change lines a record's last line (`… and 12 more`) sums up.
fn left_over(line: &str) -> Option<usize> {
    line.strip_prefix("… and ")
        .and_then(|rest| rest.strip_suffix(" more"))
        .and_then(|n| n.parse().ok())
}

/// `change`, made to `before`, in one line: `canary: rollout true 10%,
/// false 90%`.
pub fn summary(change: &Change, before: &Snapshot) -> String {
    let values = |key: &str| before.variations(key).map(<[Value]>::to_vec);
    let value = |key: &str, index: usize| {
        values(key)
            .and_then(|v| v.get(index).cloned())
            .map_or_else(|| format!("variation {index}"), |v| v.to_string())
    };
    match change {
        Change::Create { key, variations } => {
            let list = variations
                .as_ref()
                .map_or_else(|| "true, false".to_owned(), |v| join(v));
            format!("{key}: created, off ({list})")
        }
        Change::On { key } => format!("{key}: on"),
        Change::Off { key } => format!("{key}: off"),
        Change::Rollout { key, weights } => {
            let shares: Vec<String> = weights
                .iter()
                .enumerate()
                .map(|(n, w)| format!("{} {}%", value(key, n), percent(*w)))
                .collect();
            format!("{key}: rollout {}", shares.join(", "))
        }
        Change::Target {
            key,
            variation,
            kind,
            add,
            remove,
        } => {
            let mut parts = Vec::new();
            if !add.is_empty() {
                parts.push(format!("+{}", add.join(", +")));
            }
            if !remove.is_empty() {
                parts.push(format!("-{}", remove.join(", -")));
            }
            format!(
                "{key}: target {kind} {} → {}",
                parts.join(", "),
                value(key, *variation)
            )
        }
        Change::OffVariation { key, variation } => {
            format!("{key}: off variation {}", value(key, *variation))
        }
        Change::Archive { key } => format!("{key}: archived"),
    }
}

fn join(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_many_changes_fits_and_says_how_many_it_left_out() {
        let record = Record {
            sequence: 7,
            id: "0123456789abcdef".into(),
            previous: None,
            published_at: 1,
            author: "é".repeat(MAX_AUTHOR_CHARS + 5),
            comment: "é".repeat(MAX_COMMENT_CHARS + 5),
            changes: (0..3000)
                .map(|n| format!("canary: target user +user-{n} → true"))
                .collect(),
            decisions: Vec::new(),
            decisions_left_out: 0,
        };
        let text = record.to_json();
        assert!(text.len() <= MAX_RECORD_BYTES, "{}", text.len());
        let back = Record::from_json(text.as_bytes()).unwrap();
        let last = back.changes.last().unwrap();
        let kept = back.changes.len() - 1;
        assert_eq!(last, &format!("… and {} more", 3000 - kept));
        assert_eq!(back.comment.chars().count(), MAX_COMMENT_CHARS);
        assert_eq!(back.author.chars().count(), MAX_AUTHOR_CHARS);
        // A small one is written as it is.
        let small = Record {
            changes: vec!["canary: on".into()],
            ..record
        };
        assert_eq!(
            Record::from_json(small.to_json().as_bytes())
                .unwrap()
                .changes,
            ["canary: on"]
        );
    }

    #[test]
    fn a_canary_record_keeps_its_newest_decisions_and_counts_the_rest() {
        let decision = |n: u64| json!({"atMs": n, "action": "hold", "reason": "baking", "figures": {"pad": "x".repeat(1000)}});
        let record = Record {
            sequence: 3,
            id: "0123456789abcdef".into(),
            previous: None,
            published_at: 1,
            author: "flagcore canary".into(),
            comment: "canary: step 1 of 4 (1%) → 10%".into(),
            changes: vec!["canary: rollout true 10%, false 90%".into()],
            decisions: (0..200).map(decision).collect(),
            decisions_left_out: 7,
        };
        let text = record.to_json();
        assert!(text.len() <= MAX_RECORD_BYTES, "{}", text.len());
        let back = Record::from_json(text.as_bytes()).unwrap();
        assert_eq!(back.changes, record.changes);
        let kept = back.decisions.len() as u64;
        assert!(kept > 50 && kept < 200, "{kept}");
        assert_eq!(back.decisions_left_out, 7 + 200 - kept);
        // The newest are the ones kept.
        assert_eq!(back.decisions.last(), record.decisions.last());
        assert_eq!(back.decisions[0]["atMs"], 200 - kept);
        // A decision too large for any record goes, counted, and what
        // changed stays.
        let huge = Record {
            decisions: vec![json!({"reason": "y".repeat(MAX_RECORD_BYTES)})],
            decisions_left_out: 0,
            ..record.clone()
        };
        let back = Record::from_json(huge.to_json().as_bytes()).unwrap();
        assert!(back.decisions.is_empty());
        assert_eq!(back.decisions_left_out, 1);
        assert_eq!(back.changes, record.changes);
        // A person's edit has no decisions, and its record says none.
        let person = Record {
            decisions: Vec::new(),
            decisions_left_out: 0,
            ..record
        };
        assert!(!person.to_json().contains("decisions"));
    }
}
