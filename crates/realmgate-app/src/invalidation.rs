//! Keeping every node's caches honest: a change applies its [`Invalidation`] locally and
//! publishes it through the store; a listener task applies what other nodes publish. When
//! messages may have been lost, the listener drops every cache (the safety TTL bounds the rest).

use crate::App;
use crate::cache::Invalidation;

impl App {
    /// Drops stale cache entries here and on every other node.
    pub async fn invalidate(&self, inv: Invalidation) {
        self.caches().apply(&inv);
        match serde_json::to_string(&inv) {
            Ok(payload) => {
                if let Err(e) = self.store().notify(&payload).await {
                    tracing::warn!(error = %e, "could not publish a cache invalidation; other nodes catch up within the cache TTL");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not encode a cache invalidation"),
        }
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
                    Ok(Some(payload)) => match serde_json::from_str::<Invalidation>(&payload) {
                        Ok(inv) => app.caches().apply(&inv),
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
