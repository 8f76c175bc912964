//! The JWS signature algorithms Realmgate supports.

use std::fmt;
use std::str::FromStr;

use crate::CryptoError;

/// A JWS `alg` value (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SigAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RSA 2048+).
    RS256,
    /// ECDSA P-256 with SHA-256, signature as fixed 64-byte `r || s`.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl SigAlg {
    /// Every supported algorithm.
    pub const ALL: [SigAlg; 3] = [SigAlg::RS256, SigAlg::ES256, SigAlg::EdDSA];

    /// The JOSE name, e.g. `"ES256"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SigAlg::RS256 => "RS256",
            SigAlg::ES256 => "ES256",
            SigAlg::EdDSA => "EdDSA",
        }
    }
}

impl fmt::Display for SigAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigAlg {
    type Err = CryptoError;

    /// Exact, case-sensitive JOSE names only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SigAlg::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or(CryptoError::UnsupportedAlg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7518_alg_names_roundtrip_exactly() {
        for alg in SigAlg::ALL {
            assert_eq!(alg.as_str().parse::<SigAlg>(), Ok(alg));
            assert_eq!(alg.to_string(), alg.as_str());
        }
        assert_eq!("rs256".parse::<SigAlg>(), Err(CryptoError::UnsupportedAlg));
        assert_eq!("none".parse::<SigAlg>(), Err(CryptoError::UnsupportedAlg));
        assert_eq!("HS256".parse::<SigAlg>(), Err(CryptoError::UnsupportedAlg));
    }

    #[test]
    fn serde_uses_jose_names() {
        assert_eq!(
            serde_json::to_string(&SigAlg::EdDSA).ok().as_deref(),
            Some("\"EdDSA\"")
        );
        let parsed: Result<SigAlg, _> = serde_json::from_str("\"ES256\"");
        assert_eq!(parsed.ok(), Some(SigAlg::ES256));
    }
}
