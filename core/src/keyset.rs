//! O(1) membership for key lists (targets, segment `included`/`excluded`,
//! `in` clauses with many values) without copying the keys: the table holds
//! indexes into the list that the model already keeps for the snapshot id.

use std::fmt;
use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// Lists this short are scanned; a scan beats hashing for them.
const LINEAR_MAX: usize = 8;

/// A fixed seed keeps hashing identical on every platform, WASM included. The
/// tables are built from snapshot data, not from what users send, so an
/// attacker choosing lookup keys cannot make them collide.
const HASHER: FixedState = FixedState::with_seed(0x6c61_6e67_7561_6765);

#[derive(Clone, Default)]
pub(crate) struct KeySet {
    table: HashTable<u32>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeySet({} indexed)", self.table.len())
    }
}

impl KeySet {
    /// Indexes a list of keys.
    pub(crate) fn new(values: &[String]) -> Self {
        Self::build(values.iter().map(String::as_str).enumerate(), values.len())
    }

    /// Indexes the string items of a list; `len` is the whole list's length
    /// and each item comes with its position in it.
    pub(crate) fn build<'a>(items: impl Iterator<Item = (usize, &'a str)>, len: usize) -> Self {
        let mut table = HashTable::new();
        if len <= LINEAR_MAX || len > u32::MAX as usize {
            return KeySet { table };
        }
        // Position -> key, only while building: the finished table keeps positions.
        let mut at: Vec<Option<&'a str>> = vec![None; len];
        table.reserve(len, |_| 0); // empty table: nothing to rehash yet
        for (position, key) in items {
            let hash = HASHER.hash_one(key);
            if table.find(hash, |&i| at.get(i as usize) == Some(&Some(key))).is_some() {
                continue;
            }
            if let Some(slot) = at.get_mut(position) {
                *slot = Some(key);
                let keys = &at;
                table.insert_unique(hash, position as u32, |&i| {
                    keys.get(i as usize)
                        .copied()
                        .flatten()
                        .map_or(0, |k| HASHER.hash_one(k))
                });
            }
        }
        KeySet { table }
    }

    /// Whether `key` is in `values` (the list this set was built from);
    /// `get(i)` reads item `i` of it as a string.
    pub(crate) fn contains_with<'v>(
        &self,
        key: &str,
        len: usize,
        get: impl Fn(usize) -> Option<&'v str>,
    ) -> bool {
        if self.table.is_empty() {
            return (0..len).any(|i| get(i) == Some(key));
        }
        self.table
            .find(HASHER.hash_one(key), |&i| get(i as usize) == Some(key))
            .is_some()
    }

    /// Whether `key` is in `values`, the list this set was built from.
    pub(crate) fn contains(&self, values: &[String], key: &str) -> bool {
        self.contains_with(key, values.len(), |i| values.get(i).map(String::as_str))
    }
}
