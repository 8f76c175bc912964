//! Refresh tokens as a token family's generation, authenticated by a MAC, so nothing secret is
//! stored per token and a rotation only moves the family's generation on.
//!
//! Format (version 2; the random 32-byte tokens of version 1 are 43 characters and never 55):
//!
//! ```text
//! base64url( 0x02 || family uuid (16) || generation (u64 big-endian, 8) || MAC (16) )
//! ```
//!
//! The MAC is HMAC-SHA-256, truncated to 128 bits, over the realm id and the first 25 bytes,
//! under a key derived from the master key. A token is thus bound to its realm: the same bytes
//! presented to another realm do not verify.

use aws_lc_rs::hmac;

use crate::MasterKey;
use crate::hashing::{b64url, b64url_decode};

const VERSION: u8 = 2;
const BODY_LEN: usize = 1 + 16 + 8;
const MAC_LEN: usize = 16;
/// Length of a version-2 token in base64url: 41 bytes.
const TOKEN_CHARS: usize = 55;
const LABEL: &str = "realmgate/refresh-token-mac/v2";

/// What a presented refresh token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTokenForm {
    /// A generation token whose MAC verified for this realm.
    Generation { family: [u8; 16], generation: u64 },
    /// Not a generation token: possibly a stored (hashed) token from before, to be looked up.
    Legacy,
    /// Shaped like a generation token but not valid for this realm (bad MAC or encoding).
    Invalid,
}

/// The MAC key for refresh tokens, derived once from the master key.
pub struct RefreshTokenKey {
    key: hmac::Key,
}

impl std::fmt::Debug for RefreshTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshTokenKey(<redacted>)")
    }
}

impl RefreshTokenKey {
    pub fn new(master: &MasterKey) -> Self {
        let derived = master.derive(LABEL);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &derived[..]),
        }
    }

    fn mac(&self, realm: &str, body: &[u8]) -> [u8; MAC_LEN] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&(realm.len() as u64).to_be_bytes());
        ctx.update(realm.as_bytes());
        ctx.update(body);
        let tag = ctx.sign();
        let mut out = [0u8; MAC_LEN];
        for (o, t) in out.iter_mut().zip(tag.as_ref()) {
            *o = *t;
        }
        out
    }

    /// The token for `generation` of `family` in `realm`.
    pub fn mint(&self, realm: &str, family: [u8; 16], generation: u64) -> String {
        let mut raw = Vec::with_capacity(BODY_LEN + MAC_LEN);
        raw.push(VERSION);
        raw.extend_from_slice(&family);
        raw.extend_from_slice(&generation.to_be_bytes());
        let mac = self.mac(realm, &raw);
        raw.extend_from_slice(&mac);
        b64url(&raw)
    }

    /// Reads a presented token (constant-time MAC check).
    pub fn open(&self, realm: &str, token: &str) -> RefreshTokenForm {
        if token.len() != TOKEN_CHARS {
            return RefreshTokenForm::Legacy;
        }
        let Ok(raw) = b64url_decode(token) else {
            return RefreshTokenForm::Invalid;
        };
        let (Some(body), Some(mac)) = (raw.get(..BODY_LEN), raw.get(BODY_LEN..)) else {
            return RefreshTokenForm::Invalid;
        };
        if mac.len() != MAC_LEN || body.first() != Some(&VERSION) {
            return RefreshTokenForm::Invalid;
        }
        let expected = self.mac(realm, body);
        if !crate::constant_time_eq(&expected, mac) {
            return RefreshTokenForm::Invalid;
        }
        let mut family = [0u8; 16];
        let mut generation = [0u8; 8];
        family.copy_from_slice(body.get(1..17).unwrap_or(&[0u8; 16]));
        generation.copy_from_slice(body.get(17..BODY_LEN).unwrap_or(&[0u8; 8]));
        RefreshTokenForm::Generation {
            family,
            generation: u64::from_be_bytes(generation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REALM: &str = "0190d1a2-0000-7000-8000-000000000001";
    const FAMILY: [u8; 16] = [7; 16];

    #[test]
    fn a_minted_token_opens_to_its_family_and_generation() {
        let key = RefreshTokenKey::new(&MasterKey::generate());
        let t = key.mint(REALM, FAMILY, 42);
        assert_eq!(t.len(), TOKEN_CHARS);
        assert_eq!(
            key.open(REALM, &t),
            RefreshTokenForm::Generation {
                family: FAMILY,
                generation: 42
            }
        );
    }

    #[test]
    fn another_realm_another_key_or_a_changed_bit_is_invalid() {
        let master = MasterKey::generate();
        let key = RefreshTokenKey::new(&master);
        let t = key.mint(REALM, FAMILY, 1);
        assert_eq!(
            key.open("0190d1a2-0000-7000-8000-000000000002", &t),
            RefreshTokenForm::Invalid
        );
        let other = RefreshTokenKey::new(&MasterKey::generate());
        assert_eq!(other.open(REALM, &t), RefreshTokenForm::Invalid);
        // Generation 1 → 2 without a new MAC.
        let mut raw = b64url_decode(&t).unwrap_or_default();
        if let Some(b) = raw.get_mut(24) {
            *b ^= 3;
        }
        assert_eq!(key.open(REALM, &b64url(&raw)), RefreshTokenForm::Invalid);
        assert_eq!(
            key.open(REALM, &"A".repeat(TOKEN_CHARS)),
            RefreshTokenForm::Invalid
        );
        assert_eq!(
            key.open(REALM, &"!".repeat(TOKEN_CHARS)),
            RefreshTokenForm::Invalid
        );
    }

    #[test]
    fn a_random_legacy_token_is_legacy() {
        let key = RefreshTokenKey::new(&MasterKey::generate());
        assert_eq!(
            key.open(REALM, &crate::random_token(32)),
            RefreshTokenForm::Legacy
        );
    }
}
