//! JWS compact verification: public keys from JWKs, header decoding and signature checks.
//!
//! Verification only proves who signed the token; claim checks (`exp`, `iss`, `aud`, …) belong to
//! the caller, which owns the clock.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use serde_json::{Map, Value, json};

use crate::hashing::{b64url, b64url_decode};
use crate::{CryptoError, SigAlg};

/// RSA moduli accepted for RS256, in bytes (2048 to 8192 bits).
const RSA_MODULUS_BYTES: std::ops::RangeInclusive<usize> = 256..=1024;
/// Coordinate / key length for P-256 and Ed25519.
const COORD_LEN: usize = 32;

/// Raw public key components, kept so the key can be rendered back as a JWK.
#[derive(Clone)]
pub(crate) enum PublicMaterial {
    /// Big-endian modulus and exponent without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// P-256 affine coordinates, 32 bytes each.
    Ec { x: Vec<u8>, y: Vec<u8> },
    /// Ed25519 public key, 32 bytes.
    Ed { x: Vec<u8> },
}

/// A public key able to verify JWS signatures of exactly one algorithm. Cheap to clone.
#[derive(Clone)]
pub struct VerifyingKey {
    inner: Arc<Inner>,
}

struct Inner {
    kid: Option<String>,
    alg: SigAlg,
    material: PublicMaterial,
    parsed: ParsedPublicKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.inner.kid)
            .field("alg", &self.inner.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Builds a key from raw components, validating sizes and (for EC) that the point is on the
    /// curve.
    pub(crate) fn from_material(
        kid: Option<String>,
        material: PublicMaterial,
    ) -> Result<Self, CryptoError> {
        let (alg, parsed) = match &material {
            PublicMaterial::Rsa { n, e } => {
                if !RSA_MODULUS_BYTES.contains(&n.len()) || e.is_empty() {
                    return Err(CryptoError::InvalidKey);
                }
                let components = RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                };
                let parsed = components
                    .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
                    .map_err(|_| CryptoError::InvalidKey)?;
                (SigAlg::RS256, parsed)
            }
            PublicMaterial::Ec { x, y } => {
                if x.len() != COORD_LEN || y.len() != COORD_LEN {
                    return Err(CryptoError::InvalidKey);
                }
                let mut point = Vec::with_capacity(1 + 2 * COORD_LEN);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                let parsed = ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
                    .map_err(|_| CryptoError::InvalidKey)?;
                (SigAlg::ES256, parsed)
            }
            PublicMaterial::Ed { x } => {
                if x.len() != COORD_LEN {
                    return Err(CryptoError::InvalidKey);
                }
                let parsed = ParsedPublicKey::new(&signature::ED25519, x)
                    .map_err(|_| CryptoError::InvalidKey)?;
                (SigAlg::EdDSA, parsed)
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                kid,
                alg,
                material,
                parsed,
            }),
        })
    }

    /// Parses a public JWK (RFC 7517): `RSA` (`n`, `e`), `EC` P-256 (`x`, `y`) or `OKP` Ed25519
    /// (`x`). `kid` is optional; the algorithm is inferred from `kty`/`crv`, and a present `alg`
    /// must agree with it. Keys marked `"use": "enc"` or whose `key_ops` lack `verify` are refused.
    /// Private members (`d`, …) are ignored.
    pub fn from_jwk(jwk: &Value) -> Result<Self, CryptoError> {
        let obj = jwk.as_object().ok_or(CryptoError::InvalidKey)?;
        if let Some(usage) = obj.get("use")
            && usage.as_str() != Some("sig")
        {
            return Err(CryptoError::InvalidKey);
        }
        if let Some(ops) = obj.get("key_ops") {
            let allows_verify = ops
                .as_array()
                .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
            if !allows_verify {
                return Err(CryptoError::InvalidKey);
            }
        }
        let kid = match obj.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(CryptoError::InvalidKey),
        };
        let material = match str_member(obj, "kty")? {
            "RSA" => PublicMaterial::Rsa {
                n: strip_leading_zeros(b64_member(obj, "n")?),
                e: strip_leading_zeros(b64_member(obj, "e")?),
            },
            "EC" if str_member(obj, "crv")? == "P-256" => PublicMaterial::Ec {
                x: b64_member(obj, "x")?,
                y: b64_member(obj, "y")?,
            },
            "OKP" if str_member(obj, "crv")? == "Ed25519" => PublicMaterial::Ed {
                x: b64_member(obj, "x")?,
            },
            _ => return Err(CryptoError::InvalidKey),
        };
        let key = Self::from_material(kid, material)?;
        if let Some(alg) = obj.get("alg")
            && alg.as_str() != Some(key.alg().as_str())
        {
            return Err(CryptoError::InvalidKey);
        }
        Ok(key)
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.inner.kid.as_deref()
    }

    /// The single algorithm this key verifies.
    pub fn alg(&self) -> SigAlg {
        self.inner.alg
    }

    /// The public JWK: `kty`, `kid` (when set), `use: "sig"`, `alg` and the key members, all
    /// binary values base64url without padding.
    pub fn to_jwk(&self) -> Value {
        let mut jwk = match &self.inner.material {
            PublicMaterial::Rsa { n, e } => json!({ "kty": "RSA", "n": b64url(n), "e": b64url(e) }),
            PublicMaterial::Ec { x, y } => {
                json!({ "kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y) })
            }
            PublicMaterial::Ed { x } => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64url(x) }),
        };
        if let Some(obj) = jwk.as_object_mut() {
            if let Some(kid) = &self.inner.kid {
                obj.insert("kid".to_owned(), Value::String(kid.clone()));
            }
            obj.insert("use".to_owned(), Value::String("sig".to_owned()));
            obj.insert(
                "alg".to_owned(),
                Value::String(self.inner.alg.as_str().to_owned()),
            );
        }
        jwk
    }

    /// Checks a detached signature over `signing_input` with this key's algorithm (the
    /// counterpart of [`crate::SigningKey::sign`]).
    pub fn verify_signature(&self, signing_input: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        self.inner
            .parsed
            .verify_sig(signing_input, sig)
            .map_err(|_| CryptoError::BadSignature)
    }
}

fn str_member<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, CryptoError> {
    obj.get(name)
        .and_then(Value::as_str)
        .ok_or(CryptoError::InvalidKey)
}

fn b64_member(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, CryptoError> {
    b64url_decode(str_member(obj, name)?).map_err(|_| CryptoError::InvalidKey)
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// A decoded JWT: the protected header and the claims set, both JSON objects.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtParts {
    pub header: Value,
    pub claims: Value,
}

/// The three segments of a compact JWS.
struct Compact<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

fn invalid(msg: &str) -> CryptoError {
    CryptoError::InvalidToken(msg.to_owned())
}

fn split(token: &str) -> Result<Compact<'_>, CryptoError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS"));
    };
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or_else(|| invalid("not a compact JWS"))?;
    Ok(Compact {
        header,
        payload,
        signature,
        signing_input,
    })
}

fn json_object(segment: &str, what: &str) -> Result<Value, CryptoError> {
    let bytes = b64url_decode(segment).map_err(|_| invalid(what))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(invalid(what)),
    }
}

/// Decodes the protected header without verifying anything (e.g. to read `kid` or `alg`).
pub fn decode_header(token: &str) -> Result<Value, CryptoError> {
    json_object(split(token)?.header, "malformed header")
}

/// Decodes header and claims without verifying the signature. Never trust the result.
pub fn decode_unverified(token: &str) -> Result<JwtParts, CryptoError> {
    let compact = split(token)?;
    Ok(JwtParts {
        header: json_object(compact.header, "malformed header")?,
        claims: json_object(compact.payload, "malformed claims")?,
    })
}

/// Verifies a compact JWS signature and returns header and claims.
///
/// Key selection: when the header has a `kid`, the keys with that `kid` are used (falling back to
/// keys without a `kid`, as in a JWKS that omits them); without a `kid`, every key is a
/// candidate. Only candidates whose algorithm equals the header's `alg` are tried. `alg: none`,
/// unknown algorithms and any `crit` header are rejected. Claims (`exp`, …) are not checked.
pub fn verify_jwt(token: &str, keys: &[VerifyingKey]) -> Result<JwtParts, CryptoError> {
    let compact = split(token)?;
    let header = json_object(compact.header, "malformed header")?;
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("missing alg"))?;
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(invalid("alg none is not accepted"));
    }
    let alg: SigAlg = alg_name.parse().map_err(|_| invalid("unsupported alg"))?;
    if header.get("crit").is_some() {
        return Err(invalid("unsupported crit header"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(invalid("kid is not a string")),
    };

    let named: Vec<&VerifyingKey> = match kid {
        Some(kid) => keys.iter().filter(|k| k.kid() == Some(kid)).collect(),
        None => Vec::new(),
    };
    let candidates: Vec<&VerifyingKey> = if !named.is_empty() {
        if !named.iter().any(|k| k.alg() == alg) {
            return Err(invalid("alg does not match the key"));
        }
        named
    } else {
        keys.iter()
            .filter(|k| kid.is_none() || k.kid().is_none())
            .collect()
    };
    let mut matching = candidates.into_iter().filter(|k| k.alg() == alg).peekable();
    if matching.peek().is_none() {
        return Err(CryptoError::KeyNotFound);
    }

    let sig = b64url_decode(compact.signature).map_err(|_| invalid("malformed signature"))?;
    let signing_input = compact.signing_input.as_bytes();
    if !matching.any(|key| key.verify_signature(signing_input, &sig).is_ok()) {
        return Err(CryptoError::BadSignature);
    }
    Ok(JwtParts {
        header,
        claims: json_object(compact.payload, "malformed claims")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7515 Appendix A.2: RS256 example (JWS signing input, key and signature).
    const RFC7515_A2_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
    const RFC7515_A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

    /// RFC 7515 Appendix A.3: ES256 example with a 64-byte JOSE (r || s) signature.
    const RFC7515_A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

    /// RFC 8037 Appendix A.4: Ed25519 JWS over a non-JSON payload.
    const RFC8037_A4_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn a2_key() -> Result<VerifyingKey, CryptoError> {
        VerifyingKey::from_jwk(&json!({ "kty": "RSA", "n": RFC7515_A2_N, "e": "AQAB" }))
    }

    fn a3_key() -> Result<VerifyingKey, CryptoError> {
        VerifyingKey::from_jwk(&json!({
            "kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }))
    }

    fn a4_key() -> Result<VerifyingKey, CryptoError> {
        VerifyingKey::from_jwk(&json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        }))
    }

    #[test]
    fn rfc7515_a2_rs256_vector_verifies() -> Result<(), CryptoError> {
        let key = a2_key()?;
        assert_eq!(key.alg(), SigAlg::RS256);
        let parts = verify_jwt(RFC7515_A2_TOKEN, &[key])?;
        assert_eq!(parts.header, json!({ "alg": "RS256" }));
        assert_eq!(parts.claims["iss"], "joe");
        assert_eq!(parts.claims["exp"], 1_300_819_380);
        Ok(())
    }

    #[test]
    fn rfc7515_a3_es256_vector_verifies_with_jose_signature() -> Result<(), CryptoError> {
        let key = a3_key()?;
        assert_eq!(key.alg(), SigAlg::ES256);
        let parts = verify_jwt(RFC7515_A3_TOKEN, &[key])?;
        assert_eq!(parts.claims["http://example.com/is_root"], true);
        let sig = RFC7515_A3_TOKEN.rsplit('.').next().unwrap_or_default();
        assert_eq!(b64url_decode(sig)?.len(), 64);
        Ok(())
    }

    #[test]
    fn rfc8037_a4_ed25519_vector_verifies() -> Result<(), CryptoError> {
        let key = a4_key()?;
        assert_eq!(key.alg(), SigAlg::EdDSA);
        let compact = split(RFC8037_A4_TOKEN)?;
        let sig = b64url_decode(compact.signature)?;
        key.verify_signature(compact.signing_input.as_bytes(), &sig)?;
        assert_eq!(
            b64url_decode(compact.payload)?,
            b"Example of Ed25519 signing".to_vec()
        );
        // The payload is not a JSON object, so it is not a JWT.
        assert!(matches!(
            verify_jwt(RFC8037_A4_TOKEN, &[key]),
            Err(CryptoError::InvalidToken(_))
        ));
        Ok(())
    }

    #[test]
    fn rfc7515_a3_tampered_payload_fails() -> Result<(), CryptoError> {
        let token = RFC7515_A3_TOKEN.replacen(".eyJpc3MiOiJqb2Ui", ".eyJpc3MiOiJqb2Xi", 1);
        assert_ne!(token, RFC7515_A3_TOKEN);
        assert_eq!(
            verify_jwt(&token, &[a3_key()?]),
            Err(CryptoError::BadSignature)
        );
        Ok(())
    }

    #[test]
    fn rfc7518_3_6_alg_none_is_rejected() -> Result<(), CryptoError> {
        let header = b64url(br#"{"alg":"none"}"#);
        let claims = b64url(br#"{"iss":"joe"}"#);
        let keys = [a2_key()?, a3_key()?, a4_key()?];
        for token in [
            format!("{header}.{claims}."),
            format!("{header}.{claims}.AAAA"),
        ] {
            assert!(matches!(
                verify_jwt(&token, &keys),
                Err(CryptoError::InvalidToken(_))
            ));
        }
        let upper = b64url(br#"{"alg":"NONE"}"#);
        assert!(matches!(
            verify_jwt(&format!("{upper}.{claims}."), &keys),
            Err(CryptoError::InvalidToken(_))
        ));
        Ok(())
    }

    #[test]
    fn rfc8725_3_1_alg_must_match_the_key() -> Result<(), CryptoError> {
        // Re-label the ES256 vector as RS256/EdDSA: the only keys are of other algorithms.
        let (_, rest) = RFC7515_A3_TOKEN.split_once('.').unwrap_or_default();
        for alg in ["RS256", "EdDSA", "HS256"] {
            let header = b64url(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
            let token = format!("{header}.{rest}");
            assert!(verify_jwt(&token, &[a3_key()?]).is_err());
        }
        // kid names an ES256 key but the header claims RS256.
        let key = VerifyingKey::from_jwk(&json!({
            "kty": "EC", "crv": "P-256", "kid": "k1",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }))?;
        let header = b64url(br#"{"alg":"RS256","kid":"k1"}"#);
        assert_eq!(
            verify_jwt(&format!("{header}.{rest}"), &[key]),
            Err(invalid("alg does not match the key"))
        );
        Ok(())
    }

    #[test]
    fn rfc7515_4_1_11_crit_header_is_rejected() -> Result<(), CryptoError> {
        let header = b64url(br#"{"alg":"ES256","crit":["exp"],"exp":1}"#);
        let (_, rest) = RFC7515_A3_TOKEN.split_once('.').unwrap_or_default();
        assert_eq!(
            verify_jwt(&format!("{header}.{rest}"), &[a3_key()?]),
            Err(invalid("unsupported crit header"))
        );
        Ok(())
    }

    #[test]
    fn rfc7515_7_1_malformed_compact_serializations_fail() -> Result<(), CryptoError> {
        let keys = [a3_key()?];
        for token in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.AAAA",
            "e30.e30.AAAA",
            "eyJhbGciOiJFUzI1NiJ9.e30.A=",
            "W10.e30.AAAA",
        ] {
            assert!(
                matches!(verify_jwt(token, &keys), Err(CryptoError::InvalidToken(_))),
                "{token}"
            );
        }
        assert!(decode_header("a.b").is_err());
        Ok(())
    }

    #[test]
    fn no_key_for_alg_is_key_not_found() -> Result<(), CryptoError> {
        assert_eq!(
            verify_jwt(RFC7515_A3_TOKEN, &[a2_key()?, a4_key()?]),
            Err(CryptoError::KeyNotFound)
        );
        assert_eq!(
            verify_jwt(RFC7515_A3_TOKEN, &[]),
            Err(CryptoError::KeyNotFound)
        );
        Ok(())
    }

    #[test]
    fn decode_unverified_reads_header_and_claims() -> Result<(), CryptoError> {
        let parts = decode_unverified(RFC7515_A2_TOKEN)?;
        assert_eq!(parts.header["alg"], "RS256");
        assert_eq!(parts.claims["iss"], "joe");
        assert_eq!(decode_header(RFC7515_A3_TOKEN)?, json!({ "alg": "ES256" }));
        Ok(())
    }

    #[test]
    fn rfc7517_jwk_roundtrips_through_to_jwk() -> Result<(), CryptoError> {
        for key in [a2_key()?, a3_key()?, a4_key()?] {
            let again = VerifyingKey::from_jwk(&key.to_jwk())?;
            assert_eq!(again.to_jwk(), key.to_jwk());
            assert_eq!(again.to_jwk()["use"], "sig");
            assert_eq!(again.alg(), key.alg());
        }
        assert_eq!(a2_key()?.to_jwk()["n"], RFC7515_A2_N);
        Ok(())
    }

    #[test]
    fn rfc7517_unusable_jwks_are_rejected() {
        let x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
        let y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
        let bad = [
            json!("not an object"),
            json!({ "kty": "oct", "k": "AAAA" }),
            json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y }),
            json!({ "kty": "EC", "crv": "P-256", "x": x }),
            json!({ "kty": "EC", "crv": "P-256", "x": x, "y": x }), // not on the curve
            json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "use": "enc" }),
            json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "alg": "RS256" }),
            json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "key_ops": ["encrypt"] }),
            json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": 7 }),
            json!({ "kty": "OKP", "crv": "X25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }),
            json!({ "kty": "OKP", "crv": "Ed25519", "x": "AAAA" }),
            json!({ "kty": "RSA", "n": "AQAB", "e": "AQAB" }), // far below 2048 bits
            json!({ "kty": "RSA", "n": RFC7515_A2_N, "e": "AA" }),
        ];
        for jwk in bad {
            assert_eq!(
                VerifyingKey::from_jwk(&jwk).err(),
                Some(CryptoError::InvalidKey),
                "{jwk}"
            );
        }
    }

    #[test]
    fn verifying_key_debug_shows_only_kid_and_alg() -> Result<(), CryptoError> {
        let debug = format!("{:?}", a3_key()?);
        assert!(debug.contains("ES256"));
        assert!(!debug.contains("f83O"));
        Ok(())
    }
}
