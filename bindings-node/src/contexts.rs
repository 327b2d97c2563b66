//! The parsed form of recent contexts, so that a handler evaluating several
//! flags for one user parses its context once.
//!
//! Plain objects arrive as JSON text and are keyed by that whole text, so a
//! changed context is a new entry, never a stale answer. Prepared `Context`s
//! are registered once under a number and then cross as that number alone,
//! which spares copying the text on every call. One cache per thread: Node's
//! worker threads share this module.

use std::cell::RefCell;

use flagcore::{Context, ContextError};

const ENTRIES: usize = 8;

type Parsed = Result<Context, ContextError>;

#[derive(PartialEq)]
enum Key {
    Text(String),
    Prepared(u64),
}

#[derive(Default)]
struct Cache {
    entries: Vec<(Key, Parsed)>,
    next: usize,
}

impl Cache {
    fn find(&self, key: &Key) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    fn insert(&mut self, key: Key, parsed: Parsed) -> Option<usize> {
        if self.entries.len() < ENTRIES {
            self.entries.push((key, parsed));
            return Some(self.entries.len() - 1);
        }
        let slot = self.next % ENTRIES;
        self.next = self.next.wrapping_add(1);
        *self.entries.get_mut(slot)? = (key, parsed);
        Some(slot)
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// Calls `f` with the parsed context for `json`, parsing it only on a miss.
pub(crate) fn with_text<R>(json: &str, f: impl FnOnce(Result<&Context, &ContextError>) -> R) -> R {
    CACHE.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return f(Context::from_json(json).as_ref());
        };
        let key = Key::Text(json.to_owned());
        let position = match cache.find(&key) {
            Some(position) => Some(position),
            None => cache.insert(key, Context::from_json(json)),
        };
        match position.and_then(|p| cache.entries.get(p)) {
            Some((_, parsed)) => f(parsed.as_ref()),
            None => f(Context::from_json(json).as_ref()),
        }
    })
}

/// Registers a prepared context under `id`; answers why it is invalid, if it is.
pub(crate) fn prepare(id: u64, json: &str) -> Option<String> {
    let parsed = Context::from_json(json);
    let error = parsed.as_ref().err().map(ToString::to_string);
    CACHE.with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            let key = Key::Prepared(id);
            match cache.find(&key).and_then(|p| cache.entries.get_mut(p)) {
                Some(entry) => entry.1 = parsed,
                None => {
                    cache.insert(key, parsed);
                }
            }
        }
    });
    error
}

/// Calls `f` with prepared context `id`, or answers `None` when it has been
/// evicted and must be registered again.
pub(crate) fn with_prepared<R>(
    id: u64,
    f: impl FnOnce(Result<&Context, &ContextError>) -> R,
) -> Option<R> {
    CACHE.with(|cache| {
        let cache = cache.try_borrow().ok()?;
        let (_, parsed) = cache.entries.get(cache.find(&Key::Prepared(id))?)?;
        Some(f(parsed.as_ref()))
    })
}
