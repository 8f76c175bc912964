//! Validation of argon2id PHC strings imported from elsewhere (the admin API's hashed credential
//! import), so a stored hash is one the server can verify at an acceptable cost.

use argon2::Params;
use argon2::password_hash::phc::PasswordHash;

use crate::{CryptoError, PasswordParams};

/// Longest PHC string accepted (ours are ~100 characters).
pub const MAX_PHC_LEN: usize = 512;
/// Most memory an imported hash may ask of each verification: 256 MiB.
pub const MAX_IMPORT_M_COST: u32 = 262_144;
/// Most iterations an imported hash may ask for.
pub const MAX_IMPORT_T_COST: u32 = 64;
/// Most lanes an imported hash may ask for.
pub const MAX_IMPORT_P_COST: u32 = 16;
/// Shortest salt accepted, in bytes.
pub const MIN_SALT_LEN: usize = 8;
/// Accepted hash output lengths, in bytes.
pub const HASH_LEN: std::ops::RangeInclusive<usize> = 16..=64;

fn refuse(why: impl Into<String>) -> CryptoError {
    CryptoError::Hash(why.into())
}

/// Checks that `phc` is `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>` with parameters this server
/// will verify (bounded memory, iterations and lanes; salt of at least 8 bytes; hash of 16–64
/// bytes), and returns its parameters. The error's message says what is wrong and never
/// repeats the input.
pub fn check_argon2id_phc(phc: &str) -> Result<PasswordParams, CryptoError> {
    if phc.len() > MAX_PHC_LEN {
        return Err(refuse(format!(
            "it is longer than {MAX_PHC_LEN} characters"
        )));
    }
    let parsed = PasswordHash::new(phc).map_err(|_| refuse("it is not a PHC string"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(refuse("the algorithm must be argon2id"));
    }
    if parsed.version != Some(0x13) {
        return Err(refuse("the version must be v=19"));
    }
    let params = Params::try_from(&parsed).map_err(|_| refuse("invalid argon2 parameters"))?;
    if params.m_cost() > MAX_IMPORT_M_COST
        || params.t_cost() > MAX_IMPORT_T_COST
        || params.p_cost() > MAX_IMPORT_P_COST
    {
        return Err(refuse(format!(
            "the parameters exceed the limits (m ≤ {MAX_IMPORT_M_COST}, t ≤ {MAX_IMPORT_T_COST}, \
             p ≤ {MAX_IMPORT_P_COST})"
        )));
    }
    let Some(salt) = parsed.salt else {
        return Err(refuse("the salt is missing"));
    };
    if salt.len() < MIN_SALT_LEN {
        return Err(refuse(format!(
            "the salt is shorter than {MIN_SALT_LEN} bytes"
        )));
    }
    let Some(hash) = parsed.hash else {
        return Err(refuse("the hash is missing"));
    };
    if !HASH_LEN.contains(&hash.len()) {
        return Err(refuse(format!(
            "the hash is {} bytes (16 to 64 accepted)",
            hash.len()
        )));
    }
    Ok(PasswordParams {
        m_cost: params.m_cost(),
        t_cost: params.t_cost(),
        p_cost: params.p_cost(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash_password_blocking;

    const FAST: PasswordParams = PasswordParams {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn reason(phc: &str) -> String {
        match check_argon2id_phc(phc) {
            Err(CryptoError::Hash(m)) => m,
            other => format!("unexpected {other:?}"),
        }
    }

    #[test]
    fn our_own_hashes_pass() -> Result<(), CryptoError> {
        let phc = hash_password_blocking(FAST, "pw")?;
        assert_eq!(check_argon2id_phc(&phc)?, FAST);
        Ok(())
    }

    #[test]
    fn bad_strings_are_refused_with_a_reason() -> Result<(), CryptoError> {
        let phc = hash_password_blocking(FAST, "pw")?;
        assert_eq!(reason("nope"), "it is not a PHC string");
        assert_eq!(reason(""), "it is not a PHC string");
        assert_eq!(
            reason(&phc.replace("argon2id", "argon2i")),
            "the algorithm must be argon2id"
        );
        assert_eq!(
            reason(&phc.replace("v=19", "v=16")),
            "the version must be v=19"
        );
        assert_eq!(
            reason(&phc.replace("m=64", "m=999999")),
            "the parameters exceed the limits (m ≤ 262144, t ≤ 64, p ≤ 16)"
        );
        assert_eq!(
            reason(&phc.replace("m=64", "m=1")),
            "invalid argon2 parameters"
        );
        let no_hash = phc.rsplit_once('$').map(|(a, _)| a).unwrap_or_default();
        assert_eq!(reason(no_hash), "the hash is missing");
        // The PHC parser itself refuses salts under 8 bytes.
        assert_eq!(
            reason("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA"),
            "it is not a PHC string"
        );
        assert_eq!(
            reason("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo"),
            "the hash is 12 bytes (16 to 64 accepted)"
        );
        assert!(reason(&"x".repeat(600)).starts_with("it is longer than"));
        Ok(())
    }
}
