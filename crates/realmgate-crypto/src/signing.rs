//! Private signing keys (RSA 2048, P-256, Ed25519) held in memory, their PKCS#8 storage form, and
//! JWS compact signing of JWT claims.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::hashing::b64url;
use crate::verify::PublicMaterial;
use crate::{CryptoError, SigAlg, VerifyingKey};

/// Uncompressed SEC1 point prefix.
const SEC1_UNCOMPRESSED: u8 = 0x04;

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private signing key with its `kid`. `Send + Sync`; share it behind an `Arc`.
pub struct SigningKey {
    kid: String,
    alg: SigAlg,
    pair: Pair,
    verifying: VerifyingKey,
    /// base64url headers for [`PRECOMPUTED_TYPS`].
    headers: Vec<(Option<&'static str>, String)>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// JWS `typ` values whose encoded header each key precomputes.
const PRECOMPUTED_TYPS: [Option<&str>; 3] = [None, Some("at+jwt"), Some("JWT")];

fn encode_header(alg: SigAlg, kid: &str, typ: Option<&str>) -> Result<String, CryptoError> {
    let json = serde_json::to_vec(&Header {
        alg: alg.as_str(),
        kid,
        typ,
    })
    .map_err(|_| CryptoError::Internal)?;
    Ok(b64url(&json))
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

impl SigningKey {
    /// Generates a fresh key: RSA 2048 for RS256, P-256 for ES256, Ed25519 for EdDSA.
    pub fn generate(alg: SigAlg, kid: String) -> Result<Self, CryptoError> {
        let pair = match alg {
            SigAlg::RS256 => Pair::Rsa(
                RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| CryptoError::Internal)?,
            ),
            SigAlg::ES256 => Pair::Ec(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| CryptoError::Internal)?,
            ),
            SigAlg::EdDSA => {
                Pair::Ed(Ed25519KeyPair::generate().map_err(|_| CryptoError::Internal)?)
            }
        };
        Self::from_pair(alg, kid, pair)
    }

    /// Parses an unencrypted PKCS#8 private key (v1, or v2 for Ed25519) for `alg`. The key type
    /// must match `alg`; RSA keys must be 2048 to 8192 bits.
    pub fn from_pkcs8(alg: SigAlg, kid: String, der: &[u8]) -> Result<Self, CryptoError> {
        let pair = match alg {
            SigAlg::RS256 => {
                Pair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| CryptoError::InvalidKey)?)
            }
            SigAlg::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| CryptoError::InvalidKey)?,
            ),
            SigAlg::EdDSA => {
                Pair::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(|_| CryptoError::InvalidKey)?)
            }
        };
        Self::from_pair(alg, kid, pair)
    }

    fn from_pair(alg: SigAlg, kid: String, pair: Pair) -> Result<Self, CryptoError> {
        let material = match &pair {
            Pair::Rsa(kp) => {
                let public = kp.public_key();
                PublicMaterial::Rsa {
                    n: public.modulus().big_endian_without_leading_zero().to_vec(),
                    e: public.exponent().big_endian_without_leading_zero().to_vec(),
                }
            }
            Pair::Ec(kp) => match kp.public_key().as_ref().split_first() {
                Some((&SEC1_UNCOMPRESSED, xy)) if xy.len() == 64 => {
                    let (x, y) = xy.split_at(32);
                    PublicMaterial::Ec {
                        x: x.to_vec(),
                        y: y.to_vec(),
                    }
                }
                _ => return Err(CryptoError::InvalidKey),
            },
            Pair::Ed(kp) => PublicMaterial::Ed {
                x: kp.public_key().as_ref().to_vec(),
            },
        };
        // Also enforces the RSA size policy (2048..=8192 bits) for imported keys.
        let verifying = VerifyingKey::from_material(Some(kid.clone()), material)?;
        let headers = PRECOMPUTED_TYPS
            .iter()
            .map(|t| encode_header(alg, &kid, *t).map(|h| (*t, h)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            kid,
            alg,
            pair,
            verifying,
            headers,
        })
    }

    /// The private key as unencrypted PKCS#8 DER (v1 for RSA/P-256, v2 for Ed25519), for storage.
    /// The caller must seal it (see [`crate::MasterKey::seal`]) before it leaves memory.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, CryptoError> {
        let der = match &self.pair {
            Pair::Rsa(kp) => AsDer::<Pkcs8V1Der<'static>>::as_der(kp).map(|d| d.as_ref().to_vec()),
            Pair::Ec(kp) => kp.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Pair::Ed(kp) => kp.to_pkcs8().map(|d| d.as_ref().to_vec()),
        };
        der.map_err(|_| CryptoError::Internal)
    }

    /// The key id placed in JWS headers and the JWK.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> SigAlg {
        self.alg
    }

    /// The public JWK for the JWKS endpoint: `kty`, `kid`, `use: "sig"`, `alg` and
    /// `n`/`e`, `crv`/`x`/`y` or `crv: "Ed25519"`/`x` (base64url, no padding).
    pub fn public_jwk(&self) -> serde_json::Value {
        self.verifying.to_jwk()
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// Signs `claims` (which must serialize to a JSON object) as a compact JWS with header
    /// `{"alg","kid","typ"?}`. ES256 signatures are the 64-byte JOSE `r || s` form (RFC 7518
    /// §3.4), not DER.
    pub fn sign_jwt<C: Serialize>(
        &self,
        typ: Option<&str>,
        claims: &C,
    ) -> Result<String, CryptoError> {
        let payload = serde_json::to_vec(claims)
            .map_err(|_| CryptoError::InvalidToken("claims are not serializable".to_owned()))?;
        self.sign_jwt_json(typ, &payload)
    }

    /// [`SigningKey::sign_jwt`] of claims already serialised: `payload` must be a JSON object.
    pub fn sign_jwt_json(&self, typ: Option<&str>, payload: &[u8]) -> Result<String, CryptoError> {
        if payload.first() != Some(&b'{') {
            return Err(CryptoError::InvalidToken(
                "claims must be a JSON object".to_owned(),
            ));
        }
        // One buffer for the whole token: header, payload and signature are base64url-encoded
        // straight into it (the hot path of every grant).
        let header = self.encoded_header(typ)?;
        let mut token = String::with_capacity(
            header.len() + 2 + (payload.len() * 4).div_ceil(3) + self.signature_b64_len(),
        );
        token.push_str(&header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        self.sign_into(&mut token)?;
        Ok(token)
    }

    /// The base64url JWS header for `typ`: precomputed for the types Realmgate mints.
    fn encoded_header(&self, typ: Option<&str>) -> Result<std::borrow::Cow<'_, str>, CryptoError> {
        if let Some((_, h)) = self.headers.iter().find(|(t, _)| *t == typ) {
            return Ok(std::borrow::Cow::Borrowed(h.as_str()));
        }
        encode_header(self.alg, &self.kid, typ).map(std::borrow::Cow::Owned)
    }

    fn signature_b64_len(&self) -> usize {
        let raw = match &self.pair {
            Pair::Rsa(kp) => kp.public_modulus_len(),
            Pair::Ec(_) | Pair::Ed(_) => 64,
        };
        (raw * 4).div_ceil(3)
    }

    /// Signs `token` (the JWS signing input) and appends `.` and the base64url signature.
    fn sign_into(&self, token: &mut String) -> Result<(), CryptoError> {
        match &self.pair {
            Pair::Ec(kp) => {
                let sig = kp
                    .sign(&SystemRandom::new(), token.as_bytes())
                    .map_err(|_| CryptoError::Internal)?;
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(sig.as_ref(), token);
            }
            Pair::Ed(kp) => {
                let sig = kp
                    .try_sign(token.as_bytes())
                    .map_err(|_| CryptoError::Internal)?;
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(sig.as_ref(), token);
            }
            Pair::Rsa(_) => {
                let sig = self.sign(token.as_bytes())?;
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(&sig, token);
            }
        }
        Ok(())
    }

    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.pair {
            Pair::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
                    .map_err(|_| CryptoError::Internal)?;
                Ok(sig)
            }
            Pair::Ec(kp) => kp
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Internal),
            Pair::Ed(kp) => kp
                .try_sign(msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use serde_json::json;

    use super::*;
    use crate::hashing::b64url_decode;
    use crate::{decode_header, verify_jwt};

    /// Key generation (RSA especially) is slow; generate one key per algorithm per test binary.
    fn key(alg: SigAlg) -> Result<&'static SigningKey, CryptoError> {
        static KEYS: OnceLock<Result<[SigningKey; 3], CryptoError>> = OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            Ok([
                SigningKey::generate(SigAlg::RS256, "rs".to_owned())?,
                SigningKey::generate(SigAlg::ES256, "es".to_owned())?,
                SigningKey::generate(SigAlg::EdDSA, "ed".to_owned())?,
            ])
        });
        let keys = keys.as_ref().map_err(Clone::clone)?;
        keys.iter()
            .find(|k| k.alg() == alg)
            .ok_or(CryptoError::InvalidKey)
    }

    fn claims() -> serde_json::Value {
        json!({ "iss": "https://idp.example/realms/acme", "sub": "u1", "exp": 2_000_000_000 })
    }

    fn segments(token: &str) -> Vec<&str> {
        token.split('.').collect()
    }

    #[test]
    fn signing_key_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SigningKey>();
        assert_send_sync::<VerifyingKey>();
    }

    #[test]
    fn rfc7515_sign_verify_roundtrip_each_alg() -> Result<(), CryptoError> {
        for alg in SigAlg::ALL {
            let key = key(alg)?;
            let token = key.sign_jwt(Some("JWT"), &claims())?;
            let parts = verify_jwt(&token, &[key.verifying_key()])?;
            assert_eq!(parts.claims, claims());
            assert_eq!(
                parts.header,
                json!({ "alg": alg.as_str(), "kid": key.kid(), "typ": "JWT" })
            );
        }
        Ok(())
    }

    #[test]
    fn rfc7515_header_omits_typ_when_none() -> Result<(), CryptoError> {
        let key = key(SigAlg::EdDSA)?;
        let token = key.sign_jwt(None, &claims())?;
        assert_eq!(
            decode_header(&token)?,
            json!({ "alg": "EdDSA", "kid": "ed" })
        );
        Ok(())
    }

    #[test]
    fn rfc7515_tampered_payload_fails_each_alg() -> Result<(), CryptoError> {
        for alg in SigAlg::ALL {
            let key = key(alg)?;
            let token = key.sign_jwt(None, &claims())?;
            let parts = segments(&token);
            let forged = b64url(br#"{"iss":"https://idp.example/realms/acme","sub":"admin"}"#);
            let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
            assert_eq!(
                verify_jwt(&tampered, &[key.verifying_key()]),
                Err(CryptoError::BadSignature)
            );
        }
        Ok(())
    }

    #[test]
    fn wrong_kid_fails() -> Result<(), CryptoError> {
        let signer = SigningKey::generate(SigAlg::ES256, "signer".to_owned())?;
        let other = key(SigAlg::ES256)?;
        let token = signer.sign_jwt(None, &claims())?;
        // Only a differently-named key is known: no candidate.
        assert_eq!(
            verify_jwt(&token, &[other.verifying_key()]),
            Err(CryptoError::KeyNotFound)
        );
        // A different key published under the signer's kid: bad signature.
        let impostor =
            SigningKey::from_pkcs8(SigAlg::ES256, "signer".to_owned(), &other.to_pkcs8()?)?;
        assert_eq!(
            verify_jwt(&token, &[impostor.verifying_key()]),
            Err(CryptoError::BadSignature)
        );
        // The right key among others is found by kid.
        let keys = [other.verifying_key(), signer.verifying_key()];
        assert!(verify_jwt(&token, &keys).is_ok());
        Ok(())
    }

    #[test]
    fn rfc7517_4_5_kid_less_jwks_keys_are_tried_by_alg() -> Result<(), CryptoError> {
        let signer = key(SigAlg::EdDSA)?;
        let token = signer.sign_jwt(None, &claims())?;
        let mut jwk = signer.public_jwk();
        if let Some(obj) = jwk.as_object_mut() {
            obj.remove("kid");
        }
        let kid_less = VerifyingKey::from_jwk(&jwk)?;
        assert_eq!(kid_less.kid(), None);
        let keys = [key(SigAlg::RS256)?.verifying_key(), kid_less];
        assert_eq!(verify_jwt(&token, &keys)?.claims, claims());
        Ok(())
    }

    #[test]
    fn detached_sign_verifies_and_rejects_other_messages() -> Result<(), CryptoError> {
        for alg in SigAlg::ALL {
            let key = key(alg)?;
            let sig = key.sign(b"<SignedInfo/>")?;
            let public = key.verifying_key();
            public.verify_signature(b"<SignedInfo/>", &sig)?;
            assert_eq!(
                public.verify_signature(b"<SignedInfo />", &sig),
                Err(CryptoError::BadSignature)
            );
        }
        Ok(())
    }

    #[test]
    fn rfc7518_3_4_es256_signature_is_64_byte_jose_format() -> Result<(), CryptoError> {
        let token = key(SigAlg::ES256)?.sign_jwt(None, &claims())?;
        let sig = b64url_decode(segments(&token)[2])?;
        assert_eq!(sig.len(), 64);
        // DER would start with a SEQUENCE tag and be 70-72 bytes.
        assert!(sig.len() != 70 && sig.len() != 71 && sig.len() != 72);
        Ok(())
    }

    #[test]
    fn signature_sizes_match_algorithms() -> Result<(), CryptoError> {
        for (alg, len) in [(SigAlg::RS256, 256), (SigAlg::EdDSA, 64)] {
            let token = key(alg)?.sign_jwt(None, &claims())?;
            assert_eq!(b64url_decode(segments(&token)[2])?.len(), len);
        }
        Ok(())
    }

    #[test]
    fn rfc7517_public_jwk_members_and_roundtrip() -> Result<(), CryptoError> {
        for alg in SigAlg::ALL {
            let key = key(alg)?;
            let jwk = key.public_jwk();
            assert_eq!(jwk["kid"], key.kid());
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["alg"], alg.as_str());
            assert!(jwk.get("d").is_none());
            match alg {
                SigAlg::RS256 => {
                    assert_eq!(jwk["kty"], "RSA");
                    assert_eq!(jwk["e"], "AQAB");
                    let n = jwk["n"].as_str().ok_or(CryptoError::InvalidKey)?;
                    assert_eq!(b64url_decode(n)?.len(), 256);
                }
                SigAlg::ES256 => {
                    assert_eq!(jwk["kty"], "EC");
                    assert_eq!(jwk["crv"], "P-256");
                    for c in ["x", "y"] {
                        let v = jwk[c].as_str().ok_or(CryptoError::InvalidKey)?;
                        assert_eq!(b64url_decode(v)?.len(), 32);
                    }
                }
                SigAlg::EdDSA => {
                    assert_eq!(jwk["kty"], "OKP");
                    assert_eq!(jwk["crv"], "Ed25519");
                    let x = jwk["x"].as_str().ok_or(CryptoError::InvalidKey)?;
                    assert_eq!(b64url_decode(x)?.len(), 32);
                }
            }
            // from_jwk(public_jwk()) verifies what the private key signed.
            let from_jwk = VerifyingKey::from_jwk(&jwk)?;
            assert_eq!(from_jwk.kid(), Some(key.kid()));
            assert_eq!(from_jwk.alg(), alg);
            let token = key.sign_jwt(Some("at+jwt"), &claims())?;
            assert_eq!(verify_jwt(&token, &[from_jwk])?.claims, claims());
        }
        Ok(())
    }

    #[test]
    fn rfc5208_pkcs8_roundtrip_each_alg() -> Result<(), CryptoError> {
        for alg in SigAlg::ALL {
            let key = key(alg)?;
            let der = key.to_pkcs8()?;
            let restored = SigningKey::from_pkcs8(alg, key.kid().to_owned(), &der)?;
            assert_eq!(restored.public_jwk(), key.public_jwk());
            let token = restored.sign_jwt(None, &claims())?;
            assert!(verify_jwt(&token, &[key.verifying_key()]).is_ok());
        }
        Ok(())
    }

    #[test]
    fn pkcs8_of_another_key_type_is_rejected() -> Result<(), CryptoError> {
        let ec = key(SigAlg::ES256)?.to_pkcs8()?;
        let ed = key(SigAlg::EdDSA)?.to_pkcs8()?;
        assert_eq!(
            SigningKey::from_pkcs8(SigAlg::RS256, "k".to_owned(), &ec).err(),
            Some(CryptoError::InvalidKey)
        );
        assert_eq!(
            SigningKey::from_pkcs8(SigAlg::ES256, "k".to_owned(), &ed).err(),
            Some(CryptoError::InvalidKey)
        );
        assert_eq!(
            SigningKey::from_pkcs8(SigAlg::EdDSA, "k".to_owned(), &ec).err(),
            Some(CryptoError::InvalidKey)
        );
        assert_eq!(
            SigningKey::from_pkcs8(SigAlg::EdDSA, "k".to_owned(), b"garbage").err(),
            Some(CryptoError::InvalidKey)
        );
        Ok(())
    }

    #[test]
    fn rfc7519_7_1_claims_must_be_a_json_object() -> Result<(), CryptoError> {
        let key = key(SigAlg::EdDSA)?;
        assert!(matches!(
            key.sign_jwt(None, &"just a string"),
            Err(CryptoError::InvalidToken(_))
        ));
        Ok(())
    }

    #[test]
    fn debug_never_prints_key_material() -> Result<(), CryptoError> {
        let debug = format!("{:?}", key(SigAlg::RS256)?);
        assert_eq!(debug, r#"SigningKey { kid: "rs", alg: RS256, .. }"#);
        Ok(())
    }
}
