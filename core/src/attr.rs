//! Attribute references: `name`, or `/a/b` paths with `~1` for `/` and `~0`
//! for `~` (§4.2 of the evaluation spec).

/// A parsed reference. Parse failures are kept as `None` by callers and turn
/// into `MALFORMED_FLAG` only when the clause or rollout is actually used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttrRef {
    first: String,
    rest: Vec<String>,
}

impl AttrRef {
    /// The reference to the context key, which rollouts use by default.
    pub(crate) fn key() -> Self {
        AttrRef {
            first: "key".to_owned(),
            rest: Vec::new(),
        }
    }

    /// Reads `text` the way its owner says: as a reference when the owner
    /// has a non-empty context kind, as one literal name otherwise.
    pub(crate) fn parse_for(text: &str, has_context_kind: bool) -> Option<Self> {
        if has_context_kind {
            Self::parse(text)
        } else {
            Self::literal(text)
        }
    }

    /// One literal top-level name, which may contain `/` and `~`.
    pub(crate) fn literal(name: &str) -> Option<Self> {
        if name.is_empty() {
            return None;
        }
        Some(AttrRef {
            first: name.to_owned(),
            rest: Vec::new(),
        })
    }

    /// A reference: a plain name, or a `/`-separated path.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let Some(path) = text.strip_prefix('/') else {
            return Self::literal(text);
        };
        let mut components = path.split('/').map(unescape);
        let first = components.next()??;
        let rest = components.collect::<Option<Vec<_>>>()?;
        Some(AttrRef { first, rest })
    }

    /// The top-level attribute name.
    pub(crate) fn first(&self) -> &str {
        &self.first
    }

    /// The object properties below the top level, outermost first.
    pub(crate) fn rest(&self) -> &[String] {
        &self.rest
    }
}

/// One path component: non-empty, `~` only as `~0` or `~1`.
fn unescape(component: &str) -> Option<String> {
    if component.is_empty() {
        return None;
    }
    if !component.contains('~') {
        return Some(component.to_owned());
    }
    let mut out = String::with_capacity(component.len());
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(r: &AttrRef) -> Vec<&str> {
        std::iter::once(r.first())
            .chain(r.rest().iter().map(String::as_str))
            .collect()
    }

    #[test]
    fn paths_split_and_unescape() {
        let r = AttrRef::parse("/a~1b/c~0d").unwrap();
        assert_eq!(parts(&r), ["a/b", "c~d"]);
        assert_eq!(
            parts(&AttrRef::parse("plain/name").unwrap()),
            ["plain/name"]
        );
    }

    #[test]
    fn invalid_references_are_refused() {
        for bad in ["", "/", "//", "/a/", "///", "/a~b", "/a~"] {
            assert!(AttrRef::parse(bad).is_none(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn literal_names_keep_slashes() {
        let r = AttrRef::parse_for("/attr/a", false).unwrap();
        assert_eq!(parts(&r), ["/attr/a"]);
    }
}
