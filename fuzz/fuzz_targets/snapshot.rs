//! Snapshot parsing, in every format, then evaluation of whatever parses:
//! nothing may panic, and a parsed snapshot answers every flag.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a DynamoDB prefix, so prefixed items are reached too.
    let (prefix, input) = match data.split_first() {
        Some((b'p', rest)) => (Some("prod"), rest),
        _ => (None, data),
    };
    let Ok(snapshot) = flagcore::Snapshot::from_json_with_prefix(input, prefix) else {
        return;
    };
    assert_eq!(snapshot.id().len(), 16);
    let _ = snapshot.check();
    let _ = snapshot.source_problems();
    for context in common::contexts() {
        common::evaluate_all(&snapshot, &flagcore::Scope::new(context), 0);
    }
});
