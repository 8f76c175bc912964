//! Remembered consents of users to clients.

use crate::row::{RowExt, json};
use crate::{RealmTx, StoreError};
use realmgate_domain::{ClientUuid, Consent, UserId};

impl RealmTx {
    pub async fn consent_of(
        &mut self,
        user: &UserId,
        client: &ClientUuid,
    ) -> Result<Option<Consent>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(
            "SELECT user_id, client_uuid, scopes, granted_at FROM consents \
             WHERE realm_id = $1 AND user_id = $2 AND client_uuid = $3",
        )
        .bind(realm)
        .bind(user.as_str())
        .bind(client.as_str())
        .fetch_optional(db)
        .await?;
        row.map(|row| {
            Ok(Consent {
                user_id: UserId(row.text("user_id")?),
                client: ClientUuid(row.text("client_uuid")?),
                scopes: row.json("scopes")?,
                granted_at: row.int("granted_at")?,
            })
        })
        .transpose()
    }

    /// Inserts or replaces the consent. `NotFound` if the user or client is absent.
    pub async fn upsert_consent(&mut self, c: &Consent) -> Result<(), StoreError> {
        let scopes = json(&c.scopes)?;
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO consents (realm_id, user_id, client_uuid, scopes, granted_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (realm_id, user_id, client_uuid) DO UPDATE \
             SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        )
        .bind(realm)
        .bind(c.user_id.as_str())
        .bind(c.client.as_str())
        .bind(scopes)
        .bind(c.granted_at)
        .execute(db)
        .await?;
        Ok(())
    }

    /// Forgets the consent (idempotent).
    pub async fn delete_consent(
        &mut self,
        user: &UserId,
        client: &ClientUuid,
    ) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        sqlx::query(
            "DELETE FROM consents WHERE realm_id = $1 AND user_id = $2 AND client_uuid = $3",
        )
        .bind(realm)
        .bind(user.as_str())
        .bind(client.as_str())
        .execute(db)
        .await?;
        Ok(())
    }
}
