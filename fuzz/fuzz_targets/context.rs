//! Context parsing, through the JavaScript hosts' context cache (js-glue),
//! then evaluation of the bundled example snapshot for whatever parses.
#![no_main]

use flagcore_js_glue::{evaluate_packed, ContextCache};
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let snapshot = common::example();
    let mut cache = ContextCache::default();
    let id = cache.prepare(0, text);
    let flags = snapshot.flag_keys().len() as u32;
    for flag in 0..flags {
        let packed = cache.with_text(text, |parsed| {
            evaluate_packed(snapshot, flag, parsed, 0, 0.0)
        });
        let prepared = cache.with_prepared(id.abs() as u64, |parsed| {
            evaluate_packed(snapshot, flag, parsed, 0, 0.0)
        });
        assert_eq!(Some(packed), prepared);
    }
    if let Ok(context) = flagcore::Context::from_json(text) {
        common::evaluate_all(snapshot, &flagcore::Scope::new(context), 0);
    }
});
