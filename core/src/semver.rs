//! Lenient semantic versions for the `semVer*` operators: missing minor and
//! patch read as 0 (`2-rc` is `2.0.0-rc`), build metadata is ignored.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SemVer {
    core: [u64; 3],
    pre: Vec<Identifier>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Identifier {
    Numeric(u64),
    Alpha(String),
}

impl SemVer {
    pub(crate) fn parse(text: &str) -> Option<SemVer> {
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (text, None),
        };
        if let Some(build) = build {
            if !build.split('.').all(valid_identifier) {
                return None;
            }
        }
        let (version, pre) = match rest.split_once('-') {
            Some((version, pre)) => (version, Some(pre)),
            None => (rest, None),
        };
        let mut core = [0u64; 3];
        for (i, part) in version.split('.').enumerate() {
            *core.get_mut(i)? = number(part)?;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => pre
                .split('.')
                .map(|id| {
                    if !valid_identifier(id) {
                        None
                    } else if id.bytes().all(|b| b.is_ascii_digit()) {
                        number(id).map(Identifier::Numeric)
                    } else {
                        Some(Identifier::Alpha(id.to_owned()))
                    }
                })
                .collect::<Option<Vec<_>>>()?,
        };
        Some(SemVer { core, pre })
    }
}

/// A decimal number with no leading zero.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 1 && text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

fn valid_identifier(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core.cmp(&other.core).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                // A prerelease is lower than its release.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => a.cmp(b),
            (Identifier::Numeric(_), Identifier::Alpha(_)) => Ordering::Less,
            (Identifier::Alpha(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::Alpha(a), Identifier::Alpha(b)) => a.as_bytes().cmp(b.as_bytes()),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> SemVer {
        SemVer::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn missing_components_are_zero() {
        assert_eq!(v("2-rc"), v("2.0.0-rc"));
        assert_eq!(v("2+build"), v("2.0.0"));
        assert_eq!(v("2.1"), v("2.1.0"));
    }

    #[test]
    fn precedence_follows_semver() {
        assert!(v("1.0.0-rc.2") < v("1.0.0-rc.10"));
        assert!(v("1.0.0-rc.2.green") < v("1.0.0-rc.2.red"));
        assert!(v("1.0.0-rc.2.green") < v("1.0.0-rc.2.green.1"));
        assert!(v("1.0.0-rc") < v("1.0.0"));
        assert!(v("1.0.0-1") < v("1.0.0-a"));
    }

    #[test]
    fn malformed_versions_are_refused() {
        for bad in [
            "02.0.0", "v2.0.0", "2.0.0.0", "", "1..2", "1.0.0-", "1.0.0-01", "1.0.0+", "a",
        ] {
            assert!(SemVer::parse(bad).is_none(), "{bad:?} should be refused");
        }
    }
}
