//! [`KeyPart`]: a part of a per-realm cache key (a realm id, a user id, a jti, a client id, a
//! token digest) held inside the cache's own entry instead of behind a `String`'s pointer.
//!
//! Spread over 100,000 realms, every cache read is a cold read: the table's control bytes, the
//! entry, and, with `String` keys, one more cache line per key part for the bytes the probe
//! compares, so a `(RealmId, String)` key cost two extra misses per read on top of the entry's.
//! A profile of userinfo at 100,000 realms against 10 had hash-table probes and key
//! comparisons grow from 1.6% to 9.9% of the server's CPU (`docs/performance.md`). Ids are
//! canonical UUIDs, so most parts fit in 16 bytes; other strings of up to 46 bytes are held
//! inline too, and only longer ones keep a heap copy.
//!
//! The mapping is one-to-one: only the canonical form of a UUID (36 characters, lowercase hex,
//! hyphens at 8, 13, 18 and 23) becomes a number, which that form alone maps back to; every
//! other string keeps its exact bytes. Two different strings never give equal parts.

use realmgate_domain::UserId;

/// Bytes of a string held inline.
const SHORT: usize = 46;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyPart {
    /// A canonical UUID's 128 bits.
    Uuid(u128),
    /// A string of up to [`SHORT`] bytes, zero-padded.
    Short {
        len: u8,
        bytes: [u8; SHORT],
    },
    Long(Box<str>),
}

impl KeyPart {
    pub fn of(s: &str) -> Self {
        if let Some(u) = canonical_uuid(s) {
            return Self::Uuid(u);
        }
        let b = s.as_bytes();
        let mut bytes = [0u8; SHORT];
        match (bytes.get_mut(..b.len()), u8::try_from(b.len())) {
            (Some(dst), Ok(len)) => {
                dst.copy_from_slice(b);
                Self::Short { len, bytes }
            }
            _ => Self::Long(s.into()),
        }
    }
}

/// The value of `s` if it is a UUID in its canonical text form.
fn canonical_uuid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut v: u128 = 0;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | u128::from(digit);
    }
    Some(v)
}

/// What a [`crate::realm_cache::RealmCache`] may be keyed by within a realm.
pub trait AsKeyPart {
    fn key_part(&self) -> KeyPart;
}

impl AsKeyPart for String {
    fn key_part(&self) -> KeyPart {
        KeyPart::of(self)
    }
}

impl AsKeyPart for UserId {
    fn key_part(&self) -> KeyPart {
        KeyPart::of(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uuids_become_numbers_and_nothing_else_does() {
        let id = uuid::Uuid::now_v7();
        let text = id.to_string();
        assert_eq!(KeyPart::of(&text), KeyPart::Uuid(id.as_u128()));
        // Other spellings of the same UUID stay text, so they never equal the canonical one.
        for other in [
            text.to_uppercase(),
            id.simple().to_string(),
            format!("{{{text}}}"),
        ] {
            assert!(!matches!(KeyPart::of(&other), KeyPart::Uuid(_)), "{other}");
            assert_ne!(KeyPart::of(&other), KeyPart::of(&text));
        }
        assert!(matches!(
            KeyPart::of("0192e4a5-1b2c-7d3e-8f40-5a6b7c8d9e0g"),
            KeyPart::Short { .. }
        ));
    }

    #[test]
    fn strings_keep_their_exact_bytes() {
        let parts = [
            "",
            "a",
            "a\0",
            "lb-client",
            &"x".repeat(46),
            &"x".repeat(47),
        ];
        for (i, a) in parts.iter().enumerate() {
            for (j, b) in parts.iter().enumerate() {
                assert_eq!(KeyPart::of(a) == KeyPart::of(b), i == j, "{a:?} vs {b:?}");
            }
        }
        assert!(matches!(
            KeyPart::of(&"x".repeat(46)),
            KeyPart::Short { .. }
        ));
        assert_eq!(
            KeyPart::of(&"x".repeat(47)),
            KeyPart::Long("x".repeat(47).into())
        );
    }
}
