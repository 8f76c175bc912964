//! Brute-force bookkeeping: failed logins per subject (`user:{id}` or `ip:{addr}`).

use crate::row::RowExt;
use crate::{RealmTx, StoreError};
use realmgate_domain::LoginFailures;

impl RealmTx {
    pub async fn failures_of(
        &mut self,
        subject: &str,
    ) -> Result<Option<LoginFailures>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(
            "SELECT subject, failures, last_failure, locked_until FROM login_failures \
             WHERE realm_id = $1 AND subject = $2",
        )
        .bind(realm)
        .bind(subject)
        .fetch_optional(db)
        .await?;
        row.map(|row| {
            Ok(LoginFailures {
                subject: row.text("subject")?,
                failures: row.int("failures")?,
                last_failure: row.int("last_failure")?,
                locked_until: row.int("locked_until")?,
            })
        })
        .transpose()
    }

    /// Inserts or replaces the subject's record.
    pub async fn put_failures(&mut self, f: &LoginFailures) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO login_failures (realm_id, subject, failures, last_failure, locked_until) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (realm_id, subject) DO UPDATE SET failures = excluded.failures, \
             last_failure = excluded.last_failure, locked_until = excluded.locked_until",
        )
        .bind(realm)
        .bind(f.subject.as_str())
        .bind(f.failures)
        .bind(f.last_failure)
        .bind(f.locked_until)
        .execute(db)
        .await?;
        Ok(())
    }

    /// Forgets the subject's failures (idempotent).
    pub async fn clear_failures(&mut self, subject: &str) -> Result<(), StoreError> {
        let (realm, db) = self.parts();
        sqlx::query("DELETE FROM login_failures WHERE realm_id = $1 AND subject = $2")
            .bind(realm)
            .bind(subject)
            .execute(db)
            .await?;
        Ok(())
    }
}
