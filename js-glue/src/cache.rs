//! The parsed form of recent contexts, one cache per thread: Node's worker
//! threads share a module, and a WASM instance runs on one thread.

use std::cell::RefCell;

use flagcore::token::TokenStatus;

use crate::envelope::{context_with_token, registration};
use flagcore::{Context, ContextError, Scope};
use serde_json::Value;

/// How many parsed contexts a [`ContextCache`] keeps.
const ENTRIES: usize = 8;

#[derive(PartialEq)]
enum Key {
    Text(String),
    Prepared(u64),
}

/// The parsed form of recent contexts, so that a handler evaluating several
/// flags for one user parses its context once.
///
/// Plain objects arrive as JSON text and are keyed by that whole text, so a
/// changed context is a new entry, never a stale answer. Prepared contexts
/// are registered once under a number the cache hands out, and then cross
/// as that number alone: every copy of a host's API that shares the cache
/// (two module registries in one process, say) gets numbers of its own.
#[derive(Default)]
pub struct ContextCache {
    entries: Vec<(Key, Result<Scope, ContextError>)>,
    next: usize,
    last_id: u64,
}

impl ContextCache {
    fn find(&self, key: &Key) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    fn insert(&mut self, key: Key, parsed: Result<Scope, ContextError>) -> Option<usize> {
        if self.entries.len() < ENTRIES {
            self.entries.push((key, parsed));
            return Some(self.entries.len() - 1);
        }
        let slot = self.next % ENTRIES;
        self.next = self.next.wrapping_add(1);
        *self.entries.get_mut(slot)? = (key, parsed);
        Some(slot)
    }

    /// Calls `f` with the parsed context for `json`, parsing it only on a miss.
    pub fn with_text<R>(
        &mut self,
        json: &str,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> R {
        let key = Key::Text(json.to_owned());
        let position = match self.find(&key) {
            Some(position) => Some(position),
            None => self.insert(key, parse(json)),
        };
        match position.and_then(|p| self.entries.get(p)) {
            Some((_, parsed)) => f(parsed.as_ref()),
            None => f(parse(json).as_ref()),
        }
    }

    /// Calls `f` with prepared context `id`, or for `id` 0 with the context
    /// parsed from `json` (cached as [`ContextCache::with_text`] does);
    /// `None` when `id` has been let go and must be registered again.
    pub fn with_prepared_or_text<R>(
        &mut self,
        id: u64,
        json: &str,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> Option<R> {
        if id == 0 {
            return Some(self.with_text(json, f));
        }
        self.with_prepared(id, f)
    }

    /// Registers a prepared context and answers its number: positive for a
    /// valid context, negated for an invalid one (see
    /// [`ContextCache::context_error`]). `id` 0 asks for a new number; a
    /// number this cache handed out registers the context again under it,
    /// after the cache let it go.
    pub fn prepare(&mut self, id: u64, json: &str) -> f64 {
        let parsed = parse(json);
        let valid = parsed.is_ok();
        let id = self.store(id, parsed);
        if valid {
            id as f64
        } else {
            -(id as f64)
        }
    }

    /// Registers a prepared context as [`ContextCache::prepare`] does, and
    /// calls `f` with it: a context's first evaluation registers it in the
    /// same crossing. Answers the number (negated for an invalid context)
    /// and what `f` answered.
    pub fn prepare_then<R>(
        &mut self,
        id: u64,
        json: &str,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> (f64, R) {
        let number = self.prepare(id, json);
        let key = Key::Prepared(number.abs() as u64);
        match self.entries.iter().find(|(k, _)| *k == key) {
            Some((_, parsed)) => (number, f(parsed.as_ref())),
            // Registered just now, so it is there; were it not, parse again.
            None => (number, f(parse(json).as_ref())),
        }
    }

    /// Why prepared context `id` is invalid; `None` when it is valid or gone.
    pub fn context_error(&self, id: u64) -> Option<String> {
        let (_, parsed) = self.entries.get(self.find(&Key::Prepared(id))?)?;
        parsed.as_ref().err().map(ToString::to_string)
    }

    fn store(&mut self, id: u64, parsed: Result<Scope, ContextError>) -> u64 {
        let id = if id == 0 || id > self.last_id {
            self.last_id += 1;
            self.last_id
        } else {
            id
        };
        let key = Key::Prepared(id);
        match self.find(&key).and_then(|p| self.entries.get_mut(p)) {
            Some(entry) => entry.1 = parsed,
            None => {
                self.insert(key, parsed);
            }
        }
        id
    }

    /// Registers a prepared context with a decision token, as
    /// [`ContextCache::prepare`] does; answers `{"id", "context": why the
    /// context is invalid or null, "token": what became of the token}` (see
    /// [`context_with_token`]).
    pub fn prepare_with_token(
        &mut self,
        id: u64,
        json: &str,
        token: Option<&str>,
        signing_key: &[u8],
        now_ms: f64,
        max_ttl_seconds: f64,
    ) -> Value {
        let (parsed, status) =
            context_with_token(json, token, signing_key, now_ms, max_ttl_seconds);
        let error = parsed.as_ref().err().map(ToString::to_string);
        let id = self.store(id, parsed);
        registration(id, error.as_deref(), &status)
    }

    /// Calls `f` with prepared context `id`, or answers `None` when it has
    /// been let go and must be registered again.
    pub fn with_prepared<R>(
        &self,
        id: u64,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> Option<R> {
        let (_, parsed) = self.entries.get(self.find(&Key::Prepared(id))?)?;
        Some(f(parsed.as_ref()))
    }
}

/// The context in `json`, with no token.
pub fn parse(json: &str) -> Result<Scope, ContextError> {
    Context::from_json(json).map(Scope::new)
}

/// The canonical key of the context in `json` ([`Context::canonical_key`]),
/// or `None` when it is not a valid context.
pub fn canonical_key(json: &str) -> Option<String> {
    Context::from_json(json)
        .ok()
        .map(|context| context.canonical_key())
}

thread_local! {
    static CACHE: RefCell<ContextCache> = RefCell::new(ContextCache::default());
}

/// This thread's cache, as the bindings' functions use it. A borrow that is
/// taken (only re-entrance could hold it) falls back on parsing anew.
pub mod local {
    use super::*;

    /// Calls `f` with the parsed context for `json`, parsing it only on a miss.
    pub fn with_text<R>(json: &str, f: impl FnOnce(Result<&Scope, &ContextError>) -> R) -> R {
        CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => cache.with_text(json, f),
            Err(_) => f(parse(json).as_ref()),
        })
    }

    /// Calls `f` with prepared context `id`, or for `id` 0 with the context
    /// parsed from `json`; `None` when `id` must be registered again.
    pub fn with_prepared_or_text<R>(
        id: u64,
        json: &str,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> Option<R> {
        CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => cache.with_prepared_or_text(id, json, f),
            Err(_) => Some(f(parse(json).as_ref())),
        })
    }

    /// Calls `f` with prepared context `id`, or `None` when it must be registered again.
    pub fn with_prepared<R>(
        id: u64,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> Option<R> {
        CACHE.with(|cache| cache.try_borrow().ok()?.with_prepared(id, f))
    }

    /// Registers a prepared context (see [`ContextCache::prepare`]); NaN
    /// when the cache is busy.
    pub fn prepare(id: u64, json: &str) -> f64 {
        CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => cache.prepare(id, json),
            Err(_) => f64::NAN,
        })
    }

    /// Registers a prepared context and calls `f` with it (see
    /// [`ContextCache::prepare_then`]).
    pub fn prepare_then<R>(
        id: u64,
        json: &str,
        f: impl FnOnce(Result<&Scope, &ContextError>) -> R,
    ) -> (f64, R) {
        CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => cache.prepare_then(id, json, f),
            Err(_) => (f64::NAN, f(parse(json).as_ref())),
        })
    }

    /// Why prepared context `id` is invalid, or `None`.
    pub fn context_error(id: u64) -> Option<String> {
        CACHE.with(|cache| cache.try_borrow().ok()?.context_error(id))
    }

    /// Registers a prepared context with a decision token (see
    /// [`ContextCache::prepare_with_token`]).
    pub fn prepare_with_token(
        id: u64,
        json: &str,
        token: Option<&str>,
        signing_key: &[u8],
        now_ms: f64,
        max_ttl_seconds: f64,
    ) -> Value {
        CACHE.with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => {
                cache.prepare_with_token(id, json, token, signing_key, now_ms, max_ttl_seconds)
            }
            Err(_) => registration(0, Some("the context cache is busy"), &TokenStatus::Absent),
        })
    }
}
