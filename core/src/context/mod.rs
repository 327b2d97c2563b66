//! Evaluation contexts: single-kind, multi-kind, and old-style user objects
//! (§4.1 of the evaluation spec).

use std::fmt;

use serde_json::{Map, Value};

use crate::attr::AttrRef;

/// The attributes of an old-style user that are plain strings.
const OLD_USER_STRINGS: [&str; 7] = [
    "name",
    "firstName",
    "lastName",
    "email",
    "country",
    "avatar",
    "ip",
];

/// A validated evaluation context: one or more individual contexts, each of a
/// distinct kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    parts: Parts,
}

/// The individual contexts: one, held inline (a context is parsed per
/// request, and this saves an allocation), or several, sorted by kind so
/// that equal contexts compare equal.
#[derive(Debug, Clone, PartialEq)]
enum Parts {
    One(Single),
    Many(Vec<Single>),
}

/// One individual context. `kind`, `key` and `anonymous` are kept as JSON
/// values so that attribute lookups can hand out references to them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Single {
    kind: Value,
    key: Value,
    name: Option<Value>,
    anonymous: Value,
    attributes: Vec<(String, Value)>,
}

/// Why a context was refused. Evaluating with it answers the default and
/// `ERROR`/`USER_NOT_SPECIFIED`, as LaunchDarkly's SDKs do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextError(String);

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid context: {}", self.0)
    }
}

impl std::error::Error for ContextError {}

fn invalid<T>(message: impl Into<String>) -> Result<T, ContextError> {
    Err(ContextError(message.into()))
}

impl Context {
    /// Parses LaunchDarkly's JSON context forms.
    pub fn from_json(text: &str) -> Result<Context, ContextError> {
        // A context is parsed per request: natively, its properties are read
        // straight into a list, with no map in between (a third less time).
        // Text that is not an object (or not JSON) is read again as a value,
        // for the error. The WASM build reads every text as a value: the
        // second parser would cost 6.7 KB of its size budget. Both routes
        // give the same context (`text_reads_as_its_value_does`).
        #[cfg(not(target_arch = "wasm32"))]
        if let Ok(properties) = serde_json::from_str::<properties::Properties>(text) {
            return properties.into_context();
        }
        match crate::json::parse(text) {
            Ok(value) => Context::from_owned(value),
            Err(e) => invalid(format!("not JSON: {e}")),
        }
    }

    /// Reads a context from a JSON value: `{"kind": ..., "key": ...}`,
    /// `{"kind": "multi", ...}`, or an old-style user (no `kind`).
    pub fn from_value(value: &Value) -> Result<Context, ContextError> {
        let Value::Object(object) = value else {
            return invalid("a context must be a JSON object");
        };
        // What the context keeps is copied, the rest only read.
        let copied = || object.iter().map(|(k, v)| (k.clone(), v.clone()));
        match Form::of(object)? {
            Form::OldUser => Ok(Context::single(Single::old_user(object)?)),
            Form::Multi => Context::multi(copied()),
            Form::Single => Ok(Context::single(Single::new(None, copied())?)),
        }
    }

    /// Reads a context as [`Context::from_value`] does, from a value it
    /// takes: its strings and attribute values move into the context, with
    /// no copy (what the hosts' conversions use).
    pub fn from_owned(value: Value) -> Result<Context, ContextError> {
        let Value::Object(object) = value else {
            return invalid("a context must be a JSON object");
        };
        match Form::of(&object)? {
            Form::OldUser => Ok(Context::single(Single::old_user(&object)?)),
            Form::Multi => Context::multi(object.into_iter()),
            Form::Single => Ok(Context::single(Single::new(None, object.into_iter())?)),
        }
    }

    /// A single-kind context with only a key, e.g. for synthetic rollouts.
    pub fn new(kind: &str, key: &str) -> Result<Context, ContextError> {
        check_kind(kind)?;
        if key.is_empty() {
            return invalid("\"key\" must not be empty");
        }
        Ok(Context::single(Single {
            kind: Value::String(kind.to_owned()),
            key: Value::String(key.to_owned()),
            name: None,
            anonymous: Value::Bool(false),
            attributes: Vec::new(),
        }))
    }

    fn single(part: Single) -> Context {
        Context {
            parts: Parts::One(part),
        }
    }

    fn multi(properties: impl Iterator<Item = (String, Value)>) -> Result<Context, ContextError> {
        let mut parts = Vec::with_capacity(properties.size_hint().0.saturating_sub(1));
        for (kind, value) in properties {
            if kind == "kind" {
                continue;
            }
            check_kind(&kind)?;
            let Value::Object(inner) = value else {
                return invalid(format!("the \"{kind}\" context must be an object"));
            };
            parts.push(Single::new(Some(Value::String(kind)), inner.into_iter())?);
        }
        if parts.is_empty() {
            return invalid("a multi-kind context needs at least one kind");
        }
        parts.sort_by(|a, b| a.kind().cmp(b.kind()));
        // A multi-kind context of one kind is that single context.
        let parts = match <[Single; 1]>::try_from(parts) {
            Ok([only]) => Parts::One(only),
            Err(parts) => Parts::Many(parts),
        };
        Ok(Context { parts })
    }

    /// LaunchDarkly's canonical key, which spans carry as
    /// `feature_flag.context.id`: a user's key as it is; `kind:key` for
    /// another kind; `kind:key` pairs in kind order, joined by `:`, for
    /// several kinds. In the pairs, `%` and `:` in keys are escaped as
    /// `%25` and `%3A`. A multi-kind context of one kind is that kind's
    /// context (as LaunchDarkly's SDKs build it).
    pub fn canonical_key(&self) -> String {
        match self.parts() {
            [only] if only.kind() == "user" => only.key().to_owned(),
            parts => {
                let mut out = String::new();
                for (n, part) in parts.iter().enumerate() {
                    if n > 0 {
                        out.push(':');
                    }
                    out.push_str(part.kind());
                    out.push(':');
                    for c in part.key().chars() {
                        match c {
                            '%' => out.push_str("%25"),
                            ':' => out.push_str("%3A"),
                            c => out.push(c),
                        }
                    }
                }
                out
            }
        }
    }

    /// Whether this is a multi-kind context.
    pub fn is_multi(&self) -> bool {
        matches!(self.parts, Parts::Many(_))
    }

    /// The kinds it holds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.parts().iter().map(Single::kind)
    }

    /// The key of the individual context of `kind`, if there is one.
    pub fn key(&self, kind: &str) -> Option<&str> {
        self.individual(kind).map(Single::key)
    }

    pub(crate) fn individual(&self, kind: &str) -> Option<&Single> {
        self.parts().iter().find(|part| part.kind() == kind)
    }

    pub(crate) fn parts(&self) -> &[Single] {
        match &self.parts {
            Parts::One(only) => std::slice::from_ref(only),
            Parts::Many(parts) => parts,
        }
    }
}

/// Which of LaunchDarkly's context forms an object is, by its `kind`.
enum Form {
    OldUser,
    Multi,
    Single,
}

impl Form {
    fn of(object: &Map<String, Value>) -> Result<Form, ContextError> {
        Form::of_kind(object.get("kind"))
    }

    fn of_kind(kind: Option<&Value>) -> Result<Form, ContextError> {
        match kind {
            None => Ok(Form::OldUser),
            Some(Value::String(kind)) if kind == "multi" => Ok(Form::Multi),
            Some(Value::String(kind)) => check_kind(kind).map(|()| Form::Single),
            Some(_) => invalid("\"kind\" must be a string"),
        }
    }
}

/// Reading a context's text straight into its properties (see
/// [`Context::from_json`]).
#[cfg(not(target_arch = "wasm32"))]
mod properties;

fn check_kind(kind: &str) -> Result<(), ContextError> {
    if kind.is_empty() {
        return invalid("\"kind\" must not be empty");
    }
    if kind == "kind" || kind == "multi" {
        return invalid(format!("\"{kind}\" is not a valid context kind"));
    }
    if !kind
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return invalid(format!(
            "context kind {kind:?} may hold only ASCII letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

impl Single {
    /// A new-style individual context from its JSON properties: `kind`
    /// (checked) among them, or given for a part of a multi-kind context.
    fn new(
        kind: Option<Value>,
        properties: impl Iterator<Item = (String, Value)>,
    ) -> Result<Single, ContextError> {
        // One pass over the properties (a context is parsed per request);
        // the checks then run in a fixed order, whatever the order of the
        // properties. A multi-kind context's parts get their kind from it.
        let given_kind = kind.is_some();
        let (mut kind, mut key, mut name, mut anonymous) = (kind, None, None, None);
        let mut attributes = Vec::with_capacity(properties.size_hint().0);
        for (property, value) in properties {
            match property.as_str() {
                "kind" if given_kind => {}
                "kind" => kind = Some(value),
                "key" => key = Some(value),
                "name" => name = Some(value),
                "anonymous" => anonymous = Some(value),
                "_meta" => {}
                _ if value.is_null() => {}
                _ => attributes.push((property, value)),
            }
        }
        Single::checked(kind, key, name, anonymous, attributes)
    }

    /// An individual context from its built-in properties (`kind` already
    /// checked) and its attributes (no nulls among them).
    fn checked(
        kind: Option<Value>,
        key: Option<Value>,
        name: Option<Value>,
        anonymous: Option<Value>,
        attributes: Vec<(String, Value)>,
    ) -> Result<Single, ContextError> {
        let key = match key {
            Some(Value::String(key)) if !key.is_empty() => key,
            Some(Value::String(_)) => return invalid("\"key\" must not be empty"),
            Some(_) => return invalid("\"key\" must be a string"),
            None => return invalid("\"key\" is required"),
        };
        let name = match name {
            None | Some(Value::Null) => None,
            Some(name @ Value::String(_)) => Some(name),
            Some(_) => return invalid("\"name\" must be a string"),
        };
        let anonymous = match anonymous {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return invalid("\"anonymous\" must be a boolean"),
        };
        Ok(Single {
            kind: kind.unwrap_or(Value::Null),
            key: Value::String(key),
            name,
            anonymous: Value::Bool(anonymous),
            attributes,
        })
    }

    /// An old-style user: no `kind`, built-in string attributes, `custom`
    /// (a rare form: it copies what it keeps).
    fn old_user(object: &Map<String, Value>) -> Result<Single, ContextError> {
        let key = match object.get("key") {
            // The old form allows an empty key.
            Some(Value::String(key)) => key.clone(),
            Some(_) => return invalid("\"key\" must be a string"),
            None => return invalid("\"key\" is required"),
        };
        let anonymous = match object.get("anonymous") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return invalid("\"anonymous\" must be a boolean"),
        };
        let mut name = None;
        let mut attributes: Vec<(String, Value)> = Vec::new();
        for attr in OLD_USER_STRINGS {
            match object.get(attr) {
                None | Some(Value::Null) => {}
                Some(value @ Value::String(_)) if attr == "name" => name = Some(value.clone()),
                Some(value @ Value::String(_)) => attributes.push((attr.to_owned(), value.clone())),
                Some(_) => return invalid(format!("\"{attr}\" must be a string")),
            }
        }
        match object.get("custom") {
            None | Some(Value::Null) => {}
            Some(Value::Object(custom)) => {
                for (attr, value) in custom {
                    if value.is_null()
                        || matches!(
                            attr.as_str(),
                            "kind" | "key" | "name" | "anonymous" | "_meta"
                        )
                    {
                        continue;
                    }
                    match attributes.iter_mut().find(|(name, _)| name == attr) {
                        Some(slot) => slot.1 = value.clone(),
                        None => attributes.push((attr.clone(), value.clone())),
                    }
                }
            }
            Some(_) => return invalid("\"custom\" must be an object"),
        }
        Ok(Single {
            kind: Value::String("user".to_owned()),
            key: Value::String(key),
            name,
            anonymous: Value::Bool(anonymous),
            attributes,
        })
    }

    pub(crate) fn kind(&self) -> &str {
        self.kind.as_str().unwrap_or_default()
    }

    pub(crate) fn key(&self) -> &str {
        self.key.as_str().unwrap_or_default()
    }

    pub(crate) fn kind_value(&self) -> &Value {
        &self.kind
    }

    /// Looks up an attribute; `None` for missing (nulls were dropped on parse).
    pub(crate) fn get(&self, attr: &AttrRef) -> Option<&Value> {
        let mut value = match attr.first() {
            "kind" => &self.kind,
            "key" => &self.key,
            "name" => self.name.as_ref()?,
            "anonymous" => &self.anonymous,
            other => &self.attributes.iter().find(|(name, _)| name == other)?.1,
        };
        // Arrays cannot be indexed: each further component is an object property.
        for component in attr.rest() {
            value = value.as_object()?.get(component)?;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests;
