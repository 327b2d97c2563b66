//! Reading a context's text straight into its properties (see
//! [`super::Context::from_json`]), without a `Value` in between.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{Context, ContextError, Form, Single};

/// The names a context reads itself, apart from its attributes.
const BUILT_IN: [&str; 5] = ["kind", "key", "name", "anonymous", "_meta"];

/// A JSON object's properties as a context reads them, straight from the
/// text: the built-in ones by name, the rest as attributes sorted by name,
/// the last value of a repeated name winning (as a [`Map`] holds them).
/// No name of a built-in property is copied.
pub(super) struct Properties {
    built_in: [Option<Value>; 5],
    others: Vec<(String, Value)>,
}

impl Properties {
    pub(super) fn into_context(self) -> Result<Context, ContextError> {
        let Properties {
            built_in: [kind, key, name, anonymous, _meta],
            mut others,
        } = self;
        match Form::of_kind(kind.as_ref())? {
            Form::Single => {
                others.retain(|(_, value)| !value.is_null());
                Ok(Context::single(Single::checked(
                    kind, key, name, anonymous, others,
                )?))
            }
            // The rarer forms read every property as a map holds them.
            form => {
                let built_in = BUILT_IN
                    .into_iter()
                    .zip([kind, key, name, anonymous, _meta])
                    .filter_map(|(name, value)| Some((name.to_owned(), value?)));
                let object: Map<String, Value> = built_in.chain(others).collect();
                match form {
                    Form::Multi => Context::multi(object.into_iter()),
                    _ => Ok(Context::single(Single::old_user(&object)?)),
                }
            }
        }
    }
}

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PropertiesVisitor)
    }
}

/// A property's name: which built-in property, or an attribute's name.
struct Name(Result<usize, String>);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl Visitor<'_> for NameVisitor {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Name, E> {
        Ok(Name(
            BUILT_IN
                .iter()
                .position(|built_in| *built_in == name)
                .ok_or_else(|| name.to_owned()),
        ))
    }
}

struct PropertiesVisitor;

impl<'de> Visitor<'de> for PropertiesVisitor {
    type Value = Properties;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Properties, A::Error> {
        let mut properties = Properties {
            built_in: Default::default(),
            others: Vec::with_capacity(map.size_hint().unwrap_or(4)),
        };
        while let Some((Name(name), value)) = map.next_entry::<Name, Value>()? {
            match name {
                Ok(n) => {
                    if let Some(slot) = properties.built_in.get_mut(n) {
                        *slot = Some(value);
                    }
                }
                Err(name) => properties.others.push((name, value)),
            }
        }
        // Stable, so that of a repeated name the last value comes last.
        let others = &mut properties.others;
        others.sort_by(|a, b| a.0.cmp(&b.0));
        others.dedup_by(|later, earlier| {
            let repeated = later.0 == earlier.0;
            if repeated {
                std::mem::swap(&mut later.1, &mut earlier.1);
            }
            repeated
        });
        Ok(properties)
    }
}
