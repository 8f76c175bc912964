//! Decoding portable columns (TEXT, BIGINT, INTEGER 0/1, TEXT-as-JSON, BLOB/BYTEA) out of an
//! [`AnyRow`], and encoding the values the schema stores in a non-native shape.

use crate::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;

fn corrupt(column: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{column}: {e}"))
}

pub(crate) trait RowExt {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
    fn blob(&self, column: &str) -> Result<Vec<u8>, StoreError>;
    fn opt_blob(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError>;
}

impl RowExt for AnyRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.try_get(column).map_err(|e| corrupt(column, e))
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.try_get(column).map_err(|e| corrupt(column, e))
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.try_get(column).map_err(|e| corrupt(column, e))
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.try_get(column).map_err(|e| corrupt(column, e))
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.int(column).map(|v| v != 0)
    }
    fn blob(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        self.try_get(column).map_err(|e| corrupt(column, e))
    }
    fn opt_blob(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.try_get(column).map_err(|e| corrupt(column, e))
    }
    fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        let raw = self.text(column)?;
        serde_json::from_str(&raw).map_err(|e| corrupt(column, e))
    }
}

/// A boolean as the schema stores it (INTEGER 0/1).
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// A value as the schema stores JSON (TEXT).
pub(crate) fn json<T: Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("encoding json: {e}")))
}

/// `LIMIT`/`OFFSET` arguments: never negative (Postgres rejects a negative LIMIT, SQLite reads it
/// as "no limit").
pub(crate) fn page(first: i64, max: i64) -> (i64, i64) {
    (max.max(0), first.max(0))
}

/// A case-insensitive substring pattern for `LOWER(col) LIKE $n ESCAPE '\'`.
pub(crate) fn contains_pattern(s: &str) -> String {
    format!("%{}%", escape_like(&s.to_lowercase()))
}

/// A case-insensitive exact pattern for `LOWER(col) LIKE $n ESCAPE '\'`.
pub(crate) fn exact_pattern(s: &str) -> String {
    escape_like(&s.to_lowercase())
}

/// Escapes `%`, `_` and the escape character itself for a LIKE pattern using `ESCAPE '\'`.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("A%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(exact_pattern("Bob"), "bob");
        assert_eq!(page(-5, -1), (0, 0));
    }
}
