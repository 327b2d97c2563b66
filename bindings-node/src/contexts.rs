//! The parsed form of the last few contexts, keyed by their JSON text.
//!
//! A handler evaluates several flags for one user; each call sends the
//! context as JSON text, and parsing it again would cost more than the
//! evaluation. The key is the whole text, so a changed context is a new
//! entry, never a stale answer. One cache per thread: Node's worker threads
//! share this module.

use std::cell::RefCell;

use flagcore::{Context, ContextError};

const ENTRIES: usize = 8;

type Parsed = Result<Context, ContextError>;

#[derive(Default)]
struct Cache {
    entries: Vec<(String, Parsed)>,
    next: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// Calls `f` with the parsed context for `json`, parsing it only on a miss.
pub(crate) fn with_context<R>(
    json: &str,
    f: impl FnOnce(Result<&Context, &ContextError>) -> R,
) -> R {
    CACHE.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            // Only re-entrance could hold the borrow; parse without the cache.
            return f(Context::from_json(json).as_ref());
        };
        let position = match cache.entries.iter().position(|(text, _)| text == json) {
            Some(position) => position,
            None => {
                let entry = (json.to_owned(), Context::from_json(json));
                if cache.entries.len() < ENTRIES {
                    cache.entries.push(entry);
                    cache.entries.len() - 1
                } else {
                    let slot = cache.next % ENTRIES;
                    cache.next = cache.next.wrapping_add(1);
                    match cache.entries.get_mut(slot) {
                        Some(old) => *old = entry,
                        None => return f(entry.1.as_ref()),
                    }
                    slot
                }
            }
        };
        match cache.entries.get(position) {
            Some((_, parsed)) => f(parsed.as_ref()),
            None => f(Context::from_json(json).as_ref()),
        }
    })
}
