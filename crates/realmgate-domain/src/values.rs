//! Validated values ("parse, don't validate"): each constructor owns its normalisation.

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A realm name as it appears in URLs: 1–64 chars of ASCII letters, digits, `-`, `_`, `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RealmName(String);

impl RealmName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if s.is_empty() || s.len() > 64 || !ok_chars || s.starts_with('.') {
            return Err(DomainError::new(
                "realm",
                "must be 1-64 characters of letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn master() -> Self {
        Self("master".to_owned())
    }
}

impl TryFrom<String> for RealmName {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}
impl From<RealmName> for String {
    fn from(v: RealmName) -> String {
        v.0
    }
}
impl fmt::Display for RealmName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A username, normalised to lower case as Keycloak does; 1–255 printable characters, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim();
        if s.is_empty() || s.len() > 255 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::new(
                "username",
                "must be 1-255 characters without spaces",
            ));
        }
        Ok(Self(s.to_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Username {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}
impl From<Username> for String {
    fn from(v: Username) -> String {
        v.0
    }
}

/// An email address, trimmed and lower-cased; a pragmatic shape check (one `@`, a dot in the domain).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let s = s.trim().to_lowercase();
        let valid = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid || s.len() > 254 {
            return Err(DomainError::new("email", "is not a valid email address"));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or("")
    }
}
impl TryFrom<String> for Email {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}
impl From<Email> for String {
    fn from(v: Email) -> String {
        v.0
    }
}

/// A registered redirect URI: absolute, no fragment (RFC 6749 §3.1.2). Matching is exact string
/// equality — no wildcards, no prefix matching — which is what OAuth 2.0 Security BCP asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let url = url::Url::parse(s)
            .map_err(|_| DomainError::new("redirect_uri", "must be an absolute URI"))?;
        if url.fragment().is_some() {
            return Err(DomainError::new(
                "redirect_uri",
                "must not contain a fragment",
            ));
        }
        if url.cannot_be_a_base() && url.scheme() != "urn" {
            return Err(DomainError::new("redirect_uri", "must be an absolute URI"));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for RedirectUri {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s)
    }
}
impl From<RedirectUri> for String {
    fn from(v: RedirectUri) -> String {
        v.0
    }
}

/// A set of OAuth scopes (RFC 6749 §3.3): space-delimited, each a run of NQCHAR.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let mut set = BTreeSet::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            let ok = token.chars().all(|c| {
                c == '\x21' || ('\x23'..='\x5b').contains(&c) || ('\x5d'..='\x7e').contains(&c)
            });
            if !ok {
                return Err(DomainError::new("scope", "contains an invalid character"));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }
    pub fn insert(&mut self, scope: &str) {
        self.0.insert(scope.to_owned());
    }
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Keeps only the scopes present in `allowed`.
    pub fn intersect(&self, allowed: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&allowed.0).cloned().collect())
    }
}

impl<S: Into<String>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Self {
        Self(items.into_iter().map(Into::into).collect())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_names_reject_path_characters() {
        assert!(RealmName::parse("acme-corp_1.eu").is_ok());
        for bad in ["", "a/b", "a b", "..", "ü", &"x".repeat(65)] {
            assert!(RealmName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_are_lowercased() {
        assert_eq!(
            Username::parse(" Alice ").map(|u| u.0).ok(),
            Some("alice".into())
        );
        assert!(Username::parse("a b").is_err());
    }

    #[test]
    fn rfc6749_3_1_2_redirect_uri_has_no_fragment() {
        assert!(RedirectUri::parse("https://app.example/cb").is_ok());
        assert!(RedirectUri::parse("https://app.example/cb#x").is_err());
        assert!(RedirectUri::parse("/relative").is_err());
    }

    #[test]
    fn rfc6749_3_3_scope_tokens() {
        let s = ScopeSet::parse("openid  profile email").ok();
        assert_eq!(
            s.map(|s| s.to_string()),
            Some("email openid profile".into())
        );
        assert!(ScopeSet::parse("open\"id").is_err());
    }

    #[test]
    fn email_shape() {
        assert_eq!(
            Email::parse("Bob@Example.COM").ok().map(|e| e.0),
            Some("bob@example.com".into())
        );
        for bad in ["bob", "bob@", "@x.y", "bob@x", "b ob@x.y"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
