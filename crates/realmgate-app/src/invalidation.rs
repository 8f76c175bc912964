//! Keeping every node's caches honest: a change applies its [`Invalidation`] locally and
//! publishes it through the store; a listener task applies what other nodes publish. When
//! messages may have been lost, the listener drops every cache (the safety TTL bounds the rest).
//!
//! A published invalidation carries its node's id (`"n"`, beside the invalidation's own fields),
//! and a node skips its own when they come back: it applied them before publishing, and applying
//! the echo again would drop what it cached since — after generating a realm's first key, the
//! node caches the new keys, and the echo used to drop them, so every realm read and unsealed its
//! keys once more on its next token (at 100,000 fresh realms, most tokens of a load test). An
//! invalidation without `"n"` (from a node before this change) is applied. The echo is no
//! safety net for a load that raced with the change either: such loads are not cached (the
//! stamps of `RealmCache` and of the realms cache), and this node's key loads take turns with
//! its key writes (`App::signer`).

use crate::App;
use crate::cache::Invalidation;

/// The field of a published invalidation that names the node that published it.
const NODE_FIELD: &str = "n";

impl App {
    /// Drops stale cache entries here and on every other node.
    pub async fn invalidate(&self, inv: Invalidation) {
        self.caches().apply(&inv);
        match self.published(&inv) {
            Ok(payload) => {
                if let Err(e) = self.store().notify(&payload).await {
                    tracing::warn!(error = %e, "could not publish a cache invalidation; other nodes catch up within the cache TTL");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not encode a cache invalidation"),
        }
    }

    /// `inv` as published: its JSON with this node's id beside its fields.
    fn published(&self, inv: &Invalidation) -> Result<String, serde_json::Error> {
        let mut v = serde_json::to_value(inv)?;
        if let serde_json::Value::Object(fields) = &mut v {
            fields.insert(
                NODE_FIELD.to_owned(),
                serde_json::Value::String(self.node_id().to_owned()),
            );
        }
        serde_json::to_string(&v)
    }

    /// What a received payload asks of this node: `None` for its own (already applied when it was
    /// published), the invalidation otherwise.
    pub(crate) fn received(
        &self,
        payload: &str,
    ) -> Result<Option<Invalidation>, serde_json::Error> {
        let v: serde_json::Value = serde_json::from_str(payload)?;
        if v.get(NODE_FIELD).and_then(|n| n.as_str()) == Some(self.node_id()) {
            return Ok(None);
        }
        serde_json::from_value(v).map(Some)
    }

    /// After a commit that changed a user or revoked a token, family or session in `realm`.
    pub async fn subjects_changed(&self, realm: &realmgate_domain::RealmId) {
        self.invalidate(Invalidation::Subjects {
            realm: realm.clone(),
        })
        .await;
    }

    /// Subscribes to other nodes' invalidations and applies them until the store closes.
    pub async fn spawn_invalidation_listener(
        &self,
    ) -> Result<tokio::task::JoinHandle<()>, crate::AppError> {
        let mut sub = self.store().subscribe().await?;
        let app = self.clone();
        Ok(tokio::spawn(async move {
            loop {
                match sub.recv().await {
                    Ok(Some(payload)) => match app.received(&payload) {
                        Ok(Some(inv)) => app.caches().apply(&inv),
                        Ok(None) => {}
                        Err(_) => tracing::warn!("ignoring an unreadable cache invalidation"),
                    },
                    Ok(None) => {
                        tracing::info!("cache invalidations may have been missed; clearing caches");
                        app.caches().clear();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cache invalidation listener stopped");
                        app.caches().clear();
                        break;
                    }
                }
            }
        }))
    }
}

#[cfg(test)]
#[path = "invalidation_tests.rs"]
mod tests;
