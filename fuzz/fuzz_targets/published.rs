//! The published layout's reading: a head's text, its chunks, a pinned
//! request's composite and the publish plan over whatever head is there.
//! Nothing may panic; a head that reads names at most the bounds allow; a
//! snapshot that assembles is the one its head names; and a publish over any
//! head orders its generation after it.
#![no_main]

use flagcore::published::{self, Head, Plan, CHUNK_BYTES, MAX_CHUNKS, MAX_HEAD_BYTES};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    // The input is a head's text, then (after the first 0xff byte) the
    // bytes of its chunks, cut where the head says each one ends.
    let (head_text, rest) = match data.iter().position(|&b| b == 0xff) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let example = common::example();
    if let Ok(head) = Head::from_json(head_text) {
        assert!(head_text.len() <= MAX_HEAD_BYTES);
        assert!(!head.chunks.is_empty() && head.chunks.len() <= MAX_CHUNKS);
        assert!(head.chunks.iter().all(|c| c.size <= CHUNK_BYTES));
        let mut chunks = Vec::new();
        let mut at = 0;
        for info in &head.chunks {
            let end = (at + info.size).min(rest.len());
            chunks.push(&rest[at..end]);
            at = end;
        }
        if let Ok(snapshot) = head.assemble(&chunks) {
            assert_eq!(snapshot.id(), head.id);
            let composite = published::pinned(&snapshot, head.sequence, example, i64::MAX);
            if let Some(composite) = composite {
                assert_eq!(composite.id(), snapshot.id());
                for context in common::contexts() {
                    common::evaluate_all(&composite, &flagcore::Scope::new(context), 0);
                }
            }
        }
        // A publish over it follows it in the order of generations.
        if let Ok(Plan::Write(writes)) = published::plan(example, Some(head_text), 0, true) {
            assert!(writes.published.head.sequence > head.sequence || head.sequence == i64::MAX);
        }
    } else {
        let _ = published::plan(example, Some(head_text), 0, true);
    }
});
