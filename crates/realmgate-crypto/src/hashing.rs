//! Random values, digests and encodings behind tokens: opaque token generation and the hash the
//! database stores, PKCE S256, OIDC `at_hash`/`c_hash`, HMAC-SHA-256, constant-time comparison and
//! unpadded base64url.

use aws_lc_rs::{digest, hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use crate::{CryptoError, SigAlg};

/// Fills `buf` from the system CSPRNG.
///
/// AWS-LC's `RAND_bytes` aborts the process itself rather than fail, so the error branch is not
/// reachable in practice; if it ever were, continuing with predictable "random" bytes would be a
/// silent security failure, so the process is aborted instead.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if rand::fill(buf).is_err() {
        std::process::abort();
    }
}

/// `N` bytes from the system CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill_random(&mut out);
    out
}

/// A fresh opaque token of `bytes` random bytes, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    b64url(&buf)
}

/// SHA-256 of the raw token, base64url without padding: the form the database stores.
pub fn token_hash(raw: &str) -> String {
    b64url(digest::digest(&digest::SHA256, raw.as_bytes()).as_ref())
}

/// Compares two byte strings in time independent of their contents (length may leak).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// PKCE `S256` code challenge: `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
pub fn pkce_s256(verifier: &str) -> String {
    token_hash(verifier)
}

/// OIDC `at_hash` / `c_hash` (OIDC Core §3.1.3.6, §3.3.2.11): the left-most half of the hash of
/// the ASCII value, base64url. The hash is the one the ID token's `alg` uses: SHA-256 for RS256 and
/// ES256, SHA-512 for EdDSA (Ed25519).
pub fn oidc_half_hash(alg: SigAlg, value: &str) -> String {
    let algorithm = match alg {
        SigAlg::RS256 | SigAlg::ES256 => &digest::SHA256,
        SigAlg::EdDSA => &digest::SHA512,
    };
    let d = digest::digest(algorithm, value.as_bytes());
    let full = d.as_ref();
    b64url(full.get(..full.len() / 2).unwrap_or(full))
}

/// HMAC-SHA-256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = [0u8; 32];
    for (o, t) in out.iter_mut().zip(tag.as_ref()) {
        *o = *t;
    }
    out
}

/// base64url without padding (RFC 7515 §2).
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Strict base64url decoding: no padding, no whitespace, canonical trailing bits.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, CryptoError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| CryptoError::InvalidToken("invalid base64url".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_s256_appendix_b_vector() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn oidc_core_a3_at_hash_vector() {
        // OIDC Core 1.0 Appendix A.3 (RS256 ID token with access token).
        assert_eq!(
            oidc_half_hash(SigAlg::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            oidc_half_hash(SigAlg::ES256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn oidc_core_a4_c_hash_vector() {
        // OIDC Core 1.0 Appendix A.4 (RS256 ID token with code).
        assert_eq!(
            oidc_half_hash(
                SigAlg::RS256,
                "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
            ),
            "LDktKdoQak3Pk0cnXxCltA"
        );
    }

    #[test]
    fn eddsa_half_hash_uses_left_half_of_sha512() {
        // Left 32 bytes of SHA-512("jHkWEdUX...") — computed independently with Python hashlib.
        let h = oidc_half_hash(SigAlg::EdDSA, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y");
        assert_eq!(h, "q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM");
        assert_eq!(b64url_decode(&h).map(|b| b.len()), Ok(32));
    }

    #[test]
    fn rfc4231_test_case_2_hmac_sha256() {
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn token_hash_is_sha256_base64url() {
        // SHA-256("abc") = ba7816bf...; base64url of it:
        assert_eq!(
            token_hash("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert!(!token_hash("abc").contains('='));
    }

    #[test]
    fn random_token_has_expected_length_and_is_unique() {
        let a = random_token(32);
        let b = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(b64url_decode(&a).map(|v| v.len()), Ok(32));
        assert_ne!(random_bytes::<16>(), random_bytes::<16>());
    }

    #[test]
    fn constant_time_eq_compares_contents_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn rfc7515_base64url_rejects_padding_and_std_alphabet() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8"), Ok(vec![0xfb, 0xff]));
        assert!(b64url_decode("-_8=").is_err());
        assert!(b64url_decode("+/8").is_err());
        assert!(b64url_decode("a b").is_err());
    }
}
