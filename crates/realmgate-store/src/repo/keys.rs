//! Realm signing keys (private part sealed with the master key).

use super::found;
use crate::row::RowExt;
use crate::{RealmTx, StoreError};
use realmgate_domain::{KeyStatus, StoredKey};
use sqlx::any::AnyRow;

fn key_from_row(row: &AnyRow) -> Result<StoredKey, StoreError> {
    let status = row.text("status")?;
    Ok(StoredKey {
        kid: row.text("kid")?,
        alg: row.text("alg")?,
        status: KeyStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status: {status:?}")))?,
        private_sealed: row.blob("private_sealed")?,
        public_jwk: row.text("public_jwk")?,
        created_at: row.int("created_at")?,
    })
}

impl RealmTx {
    /// `Conflict("signing_keys_kid")` when the kid exists in this realm.
    pub async fn insert_key(&mut self, k: &StoredKey) -> Result<(), StoreError> {
        self.keys_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO signing_keys (realm_id, kid, alg, status, private_sealed, public_jwk, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(realm)
        .bind(k.kid.as_str())
        .bind(k.alg.as_str())
        .bind(k.status.as_str())
        .bind(k.private_sealed.as_slice())
        .bind(k.public_jwk.as_str())
        .bind(k.created_at)
        .execute(db)
        .await?;
        Ok(())
    }

    /// All the realm's keys, newest first.
    pub async fn keys(&mut self) -> Result<Vec<StoredKey>, StoreError> {
        let (realm, db) = self.parts();
        let rows = sqlx::query(
            "SELECT kid, alg, status, private_sealed, public_jwk, created_at FROM signing_keys \
             WHERE realm_id = $1 ORDER BY created_at DESC, kid DESC",
        )
        .bind(realm)
        .fetch_all(db)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// `NotFound` if there is no such kid in this realm.
    pub async fn set_key_status(&mut self, kid: &str, status: KeyStatus) -> Result<(), StoreError> {
        self.keys_changed();
        let (realm, db) = self.parts();
        let done =
            sqlx::query("UPDATE signing_keys SET status = $3 WHERE realm_id = $1 AND kid = $2")
                .bind(realm)
                .bind(kid)
                .bind(status.as_str())
                .execute(db)
                .await?;
        found(done.rows_affected())
    }

    /// `NotFound` if there is no such kid in this realm.
    pub async fn delete_key(&mut self, kid: &str) -> Result<(), StoreError> {
        self.keys_changed();
        let (realm, db) = self.parts();
        let done = sqlx::query("DELETE FROM signing_keys WHERE realm_id = $1 AND kid = $2")
            .bind(realm)
            .bind(kid)
            .execute(db)
            .await?;
        found(done.rows_affected())
    }
}
