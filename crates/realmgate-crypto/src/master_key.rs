//! The master key and envelope encryption of secrets at rest (client secrets, private signing
//! keys, TOTP seeds).
//!
//! Sealed format (version 1), all AES-256-GCM with 96-bit random nonces:
//!
//! ```text
//! 0x01 || wrap_nonce(12) || wrapped_dek(32) || wrap_tag(16) || data_nonce(12) || ciphertext || data_tag(16)
//! ```
//!
//! A fresh random 256-bit data key (DEK) encrypts the plaintext; the master key encrypts ("wraps")
//! the DEK. The caller's AAD, prefixed with the version byte, authenticates both layers, so a
//! sealed value cannot be moved to another row/column (different AAD) or downgraded.

use std::fmt;
use std::io::{ErrorKind, Write as _};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use zeroize::{Zeroize as _, Zeroizing};

use crate::CryptoError;
use crate::hashing::random_bytes;

const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
const VERSION: u8 = 1;
const WRAPPED_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;
/// Smallest valid sealed value: header, wrapped DEK, data nonce and tag of an empty plaintext.
const MIN_SEALED_LEN: usize = 1 + WRAPPED_LEN + NONCE_LEN + TAG_LEN;

/// The 32-byte AES-256-GCM key-encryption key. Zeroed on drop; `Debug` never prints it.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self {
            bytes: Zeroizing::new(random_bytes::<KEY_LEN>()),
        }
    }

    /// A key from exactly 32 raw bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if b.len() != KEY_LEN {
            return Err(CryptoError::InvalidKey);
        }
        bytes.copy_from_slice(b);
        Ok(Self { bytes })
    }

    /// A key from base64 (standard or URL-safe alphabet, padding optional, surrounding whitespace
    /// ignored) — e.g. the output of `openssl rand -base64 32`.
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let normalized: Zeroizing<String> = Zeroizing::new(
            s.trim()
                .trim_end_matches('=')
                .chars()
                .map(|c| match c {
                    '-' => '+',
                    '_' => '/',
                    c => c,
                })
                .collect(),
        );
        let decoded = Zeroizing::new(
            STANDARD_NO_PAD
                .decode(normalized.as_bytes())
                .map_err(|_| CryptoError::InvalidKey)?,
        );
        Self::from_bytes(&decoded)
    }

    /// Standard padded base64 of the key (what the key file holds).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes.as_slice())
    }

    /// Loads the key from `path`, or creates it (random, mode 0600, parent directories created)
    /// when the file does not exist. Returns the key and whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), CryptoError> {
        match Self::load(path) {
            Ok(key) => return Ok((key, false)),
            Err(LoadError::Missing) => {}
            Err(LoadError::Failed(e)) => return Err(e),
        }
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, &e))?;
        }
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(path) {
            Ok(file) => file,
            // Another process created it between our read and create: use theirs.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return match Self::load(path) {
                    Ok(key) => Ok((key, false)),
                    Err(LoadError::Missing) => Err(io_error(path, &e)),
                    Err(LoadError::Failed(e)) => Err(e),
                };
            }
            Err(e) => return Err(io_error(path, &e)),
        };
        let mut line = Zeroizing::new(key.to_base64());
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(path, &e))?;
        Ok((key, true))
    }

    fn load(path: &Path) -> Result<Self, LoadError> {
        match std::fs::read_to_string(path) {
            Ok(mut text) => {
                let key = Self::from_base64(&text);
                text.zeroize();
                key.map_err(|_| {
                    LoadError::Failed(CryptoError::Io(format!(
                        "{}: does not hold a base64 32-byte key",
                        path.display()
                    )))
                })
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Err(LoadError::Missing),
            Err(e) => Err(LoadError::Failed(io_error(path, &e))),
        }
    }

    /// A 256-bit key for one purpose (`label`), derived from the master key with HMAC-SHA-256, so
    /// a key used for MACs is never the key that wraps secrets.
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(crate::hashing::hmac_sha256(
            &self.bytes[..],
            label.as_bytes(),
        ))
    }

    /// Encrypts `plaintext` bound to `aad` (see the module docs for the format).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let full_aad = versioned_aad(aad);
        let dek = Zeroizing::new(random_bytes::<KEY_LEN>());

        let mut out = Vec::with_capacity(MIN_SEALED_LEN + plaintext.len());
        out.push(VERSION);
        seal_into(&self.bytes[..], &full_aad, &dek[..], &mut out)?;
        seal_into(&dek[..], &full_aad, plaintext, &mut out)?;
        Ok(out)
    }

    /// Decrypts a value from [`MasterKey::seal`]. Any failure — wrong key, wrong AAD, unknown
    /// version, truncation or tampering — is [`CryptoError::Decrypt`].
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < MIN_SEALED_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (&version, rest) = sealed.split_first().ok_or(CryptoError::Decrypt)?;
        if version != VERSION {
            return Err(CryptoError::Decrypt);
        }
        let (wrapped, data) = rest.split_at(WRAPPED_LEN);
        let full_aad = versioned_aad(aad);
        let dek = Zeroizing::new(open_one(&self.bytes[..], &full_aad, wrapped)?);
        if dek.len() != KEY_LEN {
            return Err(CryptoError::Decrypt);
        }
        open_one(&dek, &full_aad, data)
    }
}

enum LoadError {
    Missing,
    Failed(CryptoError),
}

fn io_error(path: &Path, e: &std::io::Error) -> CryptoError {
    CryptoError::Io(format!("{}: {}", path.display(), e.kind()))
}

fn versioned_aad(aad: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(1 + aad.len());
    full.push(VERSION);
    full.extend_from_slice(aad);
    full
}

/// Appends `nonce || AES-256-GCM(key, nonce, aad, plaintext) || tag` to `out`.
fn seal_into(
    key: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    let key =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::Internal)?);
    let nonce = random_bytes::<NONCE_LEN>();
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            out.get_mut(start..).ok_or(CryptoError::Internal)?,
        )
        .map_err(|_| CryptoError::Internal)?;
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

/// Opens `nonce || ciphertext || tag`.
fn open_one(key: &[u8], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::Decrypt)?);
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
    let mut buf = ciphertext.to_vec();
    let len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: &[u8] = b"realm:acme/client:web/secret";

    #[test]
    fn seal_open_roundtrip() -> Result<(), CryptoError> {
        let key = MasterKey::generate();
        for plaintext in [&b""[..], b"s3cr3t", &[7u8; 4096][..]] {
            let sealed = key.seal(AAD, plaintext)?;
            assert_eq!(sealed.len(), MIN_SEALED_LEN + plaintext.len());
            assert_eq!(sealed[0], VERSION);
            assert_eq!(key.open(AAD, &sealed)?, plaintext);
        }
        Ok(())
    }

    #[test]
    fn sealing_is_randomized() -> Result<(), CryptoError> {
        let key = MasterKey::generate();
        assert_ne!(key.seal(AAD, b"same")?, key.seal(AAD, b"same")?);
        Ok(())
    }

    #[test]
    fn wrong_aad_fails() -> Result<(), CryptoError> {
        let key = MasterKey::generate();
        let sealed = key.seal(AAD, b"s3cr3t")?;
        assert_eq!(
            key.open(b"realm:acme/client:other/secret", &sealed),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(key.open(b"", &sealed), Err(CryptoError::Decrypt));
        Ok(())
    }

    #[test]
    fn wrong_key_fails() -> Result<(), CryptoError> {
        let sealed = MasterKey::generate().seal(AAD, b"s3cr3t")?;
        assert_eq!(
            MasterKey::generate().open(AAD, &sealed),
            Err(CryptoError::Decrypt)
        );
        Ok(())
    }

    #[test]
    fn any_flipped_bit_or_truncation_fails() -> Result<(), CryptoError> {
        let key = MasterKey::generate();
        let sealed = key.seal(AAD, b"s3cr3t")?;
        for i in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                key.open(AAD, &tampered),
                Err(CryptoError::Decrypt),
                "byte {i}"
            );
        }
        for len in 0..sealed.len() {
            assert_eq!(key.open(AAD, &sealed[..len]), Err(CryptoError::Decrypt));
        }
        let mut extended = sealed.clone();
        extended.push(0);
        assert_eq!(key.open(AAD, &extended), Err(CryptoError::Decrypt));
        Ok(())
    }

    #[test]
    fn base64_roundtrip_and_lengths() -> Result<(), CryptoError> {
        let key = MasterKey::generate();
        let b64 = key.to_base64();
        assert_eq!(b64.len(), 44);
        let again = MasterKey::from_base64(&format!("  {b64}\n"))?;
        let sealed = key.seal(AAD, b"x")?;
        assert_eq!(again.open(AAD, &sealed)?, b"x");
        // URL-safe, unpadded form is accepted too.
        let url = b64
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_");
        assert_eq!(MasterKey::from_base64(&url)?.open(AAD, &sealed)?, b"x");
        assert_eq!(
            MasterKey::from_bytes(&[0u8; 31]).err(),
            Some(CryptoError::InvalidKey)
        );
        assert_eq!(
            MasterKey::from_bytes(&[0u8; 33]).err(),
            Some(CryptoError::InvalidKey)
        );
        assert_eq!(
            MasterKey::from_base64("AAAA").err(),
            Some(CryptoError::InvalidKey)
        );
        assert_eq!(
            MasterKey::from_base64("not base64!").err(),
            Some(CryptoError::InvalidKey)
        );
        Ok(())
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let key = MasterKey::generate();
        let debug = format!("{key:?}");
        assert_eq!(debug, "MasterKey(<redacted>)");
        assert!(!debug.contains(&key.to_base64()));
    }

    #[test]
    fn load_or_create_creates_0600_file_then_loads_it() -> Result<(), CryptoError> {
        let dir = std::env::temp_dir().join(format!(
            "realmgate-crypto-test-{}",
            crate::hashing::random_token(9)
        ));
        let path = dir.join("nested").join("master.key");
        let (created, was_created) = MasterKey::load_or_create(&path)?;
        assert!(was_created);
        let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, &e))?;
        assert_eq!(text, format!("{}\n", created.to_base64()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .map_err(|e| io_error(&path, &e))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (loaded, was_created) = MasterKey::load_or_create(&path)?;
        assert!(!was_created);
        assert_eq!(loaded.to_base64(), created.to_base64());

        std::fs::write(&path, "garbage\n").map_err(|e| io_error(&path, &e))?;
        assert!(matches!(
            MasterKey::load_or_create(&path),
            Err(CryptoError::Io(_))
        ));
        std::fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, &e))?;
        Ok(())
    }
}
