//! Random throwaway secrets (from /dev/urandom; no RNG crate needed).

use std::fs::File;
use std::io::Read;

use anyhow::{Context, Result};

const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// An alphanumeric string of `len` random characters.
pub fn random_string(len: usize) -> Result<String> {
    let mut bytes = vec![0_u8; len];
    File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect())
}
