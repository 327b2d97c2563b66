//! O(1) membership for key lists (targets, segment `included`/`excluded`,
//! `in` clauses with many values) without copying the keys: the table holds
//! indexes into the list that the model already keeps for the snapshot id.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
            if table
                .find(hash, |&i| at.get(i as usize) == Some(&Some(key)))
                .is_some()
            {
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
}

/// A list of keys (target values, segment `included`/`excluded`) stored as
/// one string and its boundaries: a 1,000-key segment costs three
/// allocations, not a thousand, to parse and to free. Its hash index is
/// built on the first lookup, so a cold start pays only for the flags it
/// evaluates.
#[derive(Clone, Default)]
pub(crate) struct KeyList {
    text: String,
    ends: Vec<usize>,
    index: OnceLock<KeySet>,
}

impl fmt::Debug for KeyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl KeyList {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        self.text.get(start..end)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    fn push(&mut self, key: &str) {
        self.text.push_str(key);
        self.ends.push(self.text.len());
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        if self.len() <= LINEAR_MAX {
            return self.iter().any(|k| k == key);
        }
        self.index
            .get_or_init(|| KeySet::build(self.iter().enumerate(), self.len()))
            .contains_with(key, self.len(), |i| self.get(i))
    }
}

impl<S: AsRef<str>> FromIterator<S> for KeyList {
    fn from_iter<I: IntoIterator<Item = S>>(keys: I) -> Self {
        let mut list = KeyList::default();
        for key in keys {
            list.push(key.as_ref());
        }
        list
    }
}

impl Serialize for KeyList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(ListVisitor)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = KeyList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
        let mut list = KeyList::default();
        while seq.next_element_seed(Append(&mut list))?.is_some() {}
        Ok(list)
    }
}

/// Appends one string element to the list without allocating it on its own.
struct Append<'l>(&'l mut KeyList);

impl<'de> DeserializeSeed<'de> for Append<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Append<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
        self.0.push(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lists_round_trip_and_find_keys() {
        let keys: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
        let list: KeyList = serde_json::from_value(serde_json::json!(keys)).unwrap();
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            serde_json::json!(keys)
        );
        assert!(list.contains("k49") && list.contains("k0") && !list.contains("k50"));
        let short: KeyList = ["a", "", "b"].into_iter().collect();
        assert!(short.contains("") && short.contains("b") && !short.contains("c"));
        assert!(serde_json::from_value::<KeyList>(serde_json::json!(["a", 1])).is_err());
    }
}
