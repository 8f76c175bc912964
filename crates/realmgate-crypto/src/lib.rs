//! `realmgate-crypto` owns every cryptographic primitive Realmgate uses: asymmetric signing keys
//! (RSA 2048, P-256, Ed25519) and their JWK form, JOSE compact JWS signing and verification,
//! envelope encryption of secrets at rest under the master key (AES-256-GCM), refresh tokens
//! (family, generation and an HMAC), the bounded argon2id
//! password hashing pool, and the hashes and random values behind tokens (token hashes, PKCE,
//! `at_hash`/`c_hash`, HMAC, constant-time comparison). All primitives come from `aws-lc-rs`
//! (plus `argon2` for passwords). It performs no database or HTTP I/O; the only file it touches is
//! the master key file in [`MasterKey::load_or_create`], and it never puts secret material (keys,
//! passwords, plaintexts) into error messages or `Debug` output.

pub mod alg;
mod argon_workers;
pub mod error;
pub mod hashing;
pub mod master_key;
pub mod password;
pub mod phc;
pub mod refresh_token;
pub mod signing;
pub mod verify;

pub use alg::SigAlg;
pub use error::CryptoError;
pub use hashing::{
    b64url, b64url_decode, constant_time_eq, hmac_sha256, oidc_half_hash, pkce_s256, random_bytes,
    random_token, token_hash,
};
pub use master_key::MasterKey;
pub use password::{PasswordHasher, PasswordParams, PasswordVerdict, hash_password_blocking};
pub use phc::check_argon2id_phc;
pub use refresh_token::{RefreshTokenForm, RefreshTokenKey};
pub use signing::SigningKey;
pub use verify::{JwtParts, VerifyingKey, decode_header, decode_unverified, verify_jwt};
