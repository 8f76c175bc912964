//! The crate's single error type. Messages are fixed texts or non-secret context; no variant ever
//! carries key material, plaintext or a password.

/// Errors from key handling, JOSE, encryption and password hashing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Key bytes or a JWK could not be parsed, do not match the algorithm, or are too weak.
    #[error("invalid or unsupported key")]
    InvalidKey,
    /// An algorithm name is not one of `RS256`, `ES256`, `EdDSA`.
    #[error("unsupported algorithm")]
    UnsupportedAlg,
    /// A JWT is malformed or its header is unacceptable (e.g. `alg: none`).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// No supplied key matches the token's `kid` / `alg`.
    #[error("no matching verification key")]
    KeyNotFound,
    /// The signature does not verify under any candidate key.
    #[error("signature verification failed")]
    BadSignature,
    /// Sealed data could not be opened: wrong key, wrong AAD, truncated or tampered.
    #[error("decryption failed")]
    Decrypt,
    /// The password hashing pool's queue is full; retry later (HTTP 503 + `Retry-After`).
    #[error("password hashing pool overloaded")]
    Overloaded,
    /// Password hashing failed or a stored PHC string is unusable.
    #[error("password hash error: {0}")]
    Hash(String),
    /// Reading or writing the master key file failed (message holds path and error kind only).
    #[error("key file error: {0}")]
    Io(String),
    /// The underlying crypto library reported an internal failure (e.g. signing, serialization).
    #[error("internal cryptographic failure")]
    Internal,
}
