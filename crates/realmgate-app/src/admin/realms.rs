//! Realm lifecycle through the admin API: list, create, read, partial update (Keycloak's PUT only
//! changes the fields it carries) and delete. The lifecycle itself lives in `crate::realms`.

use super::{AdminPrincipal, RealmAdmin, non_empty};
use crate::realms::RealmInput;
use crate::{App, AppError};
use realmgate_crypto::SigAlg;
use realmgate_domain::{Realm, RealmSettings};
use std::str::FromStr;

/// The realm fields the admin API understands; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealmPatch {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub access_token_lifespan: Option<i64>,
    pub access_code_lifespan: Option<i64>,
    pub access_code_lifespan_login: Option<i64>,
    pub sso_session_idle_timeout: Option<i64>,
    pub sso_session_max_lifespan: Option<i64>,
    pub brute_force_protected: Option<bool>,
    pub failure_factor: Option<i64>,
    pub wait_increment_seconds: Option<i64>,
    pub max_failure_wait_seconds: Option<i64>,
    pub max_delta_time_seconds: Option<i64>,
    pub default_signature_algorithm: Option<String>,
    pub display_name_html: Option<String>,
    /// On create only (our extension): the shard to place the realm on; placement decides when
    /// absent. Ignored on update — moving a realm is `realmgate realm move`.
    pub shard: Option<String>,
}

impl RealmPatch {
    /// Applies the patch to `settings`, validating every value it sets.
    pub fn apply(&self, settings: &mut RealmSettings) -> Result<(), AppError> {
        fn positive(field: &str, v: Option<i64>, target: &mut i64) -> Result<(), AppError> {
            if let Some(v) = v {
                if v <= 0 || v > realmgate_domain::MAX_LIFESPAN_SECONDS {
                    return Err(AppError::invalid(format!(
                        "{field} must be a positive number of seconds, at most {}",
                        realmgate_domain::MAX_LIFESPAN_SECONDS
                    )));
                }
                *target = v;
            }
            Ok(())
        }
        positive(
            "accessTokenLifespan",
            self.access_token_lifespan,
            &mut settings.access_token_lifespan,
        )?;
        positive(
            "accessCodeLifespan",
            self.access_code_lifespan,
            &mut settings.access_code_lifespan,
        )?;
        positive(
            "accessCodeLifespanLogin",
            self.access_code_lifespan_login,
            &mut settings.login_lifespan,
        )?;
        positive(
            "ssoSessionIdleTimeout",
            self.sso_session_idle_timeout,
            &mut settings.sso_session_idle_timeout,
        )?;
        positive(
            "ssoSessionMaxLifespan",
            self.sso_session_max_lifespan,
            &mut settings.sso_session_max_lifespan,
        )?;
        let bf = &mut settings.brute_force;
        if let Some(on) = self.brute_force_protected {
            bf.enabled = on;
        }
        positive("failureFactor", self.failure_factor, &mut bf.failure_factor)?;
        positive(
            "waitIncrementSeconds",
            self.wait_increment_seconds,
            &mut bf.wait_increment_seconds,
        )?;
        positive(
            "maxFailureWaitSeconds",
            self.max_failure_wait_seconds,
            &mut bf.max_wait_seconds,
        )?;
        positive(
            "maxDeltaTimeSeconds",
            self.max_delta_time_seconds,
            &mut bf.failure_reset_seconds,
        )?;
        if let Some(alg) = self
            .default_signature_algorithm
            .as_deref()
            .filter(|a| !a.is_empty())
        {
            let alg = SigAlg::from_str(alg).map_err(|_| {
                AppError::invalid("defaultSignatureAlgorithm must be RS256, ES256 or EdDSA")
            })?;
            settings.default_signature_algorithm = alg.as_str().to_owned();
        }
        if let Some(html) = &self.display_name_html {
            settings.display_name_html = non_empty(Some(html.clone()));
        }
        Ok(())
    }
}

impl App {
    /// The realms the principal may administer (all of them for a master admin).
    /// `first`/`max` page the list (our extension: Keycloak returns every realm, which at
    /// 100,000 realms is tens of megabytes; without them we do the same).
    pub async fn admin_list_realms(
        &self,
        principal: &AdminPrincipal,
        first: Option<i64>,
        max: Option<i64>,
    ) -> Result<Vec<Realm>, AppError> {
        if principal.can_manage_all() {
            return self
                .list_realms_page(first.unwrap_or(0), max.unwrap_or(-1))
                .await;
        }
        if !principal.is_admin() {
            return Err(AppError::Forbidden);
        }
        let ctx = self.realm(&principal.realm).await?;
        Ok(vec![ctx.realm.clone()])
    }

    /// Creates a realm; only a master admin may.
    pub async fn admin_create_realm(
        &self,
        principal: &AdminPrincipal,
        patch: RealmPatch,
    ) -> Result<Realm, AppError> {
        if !principal.can_manage_all() {
            return Err(AppError::Forbidden);
        }
        let name = non_empty(patch.name.clone())
            .ok_or_else(|| AppError::invalid("realm: name is required"))?;
        let mut settings = RealmSettings::default();
        patch.apply(&mut settings)?;
        let shard = non_empty(patch.shard);
        self.create_realm_on(
            RealmInput {
                name: Some(name),
                display_name: non_empty(patch.display_name),
                enabled: patch.enabled,
                settings: Some(settings),
            },
            shard.as_deref(),
        )
        .await
    }
}

impl RealmAdmin {
    pub fn get_realm(&self) -> Realm {
        self.realm().realm.clone()
    }

    /// Applies a partial update (and a rename when `name` differs) and returns the new realm.
    pub async fn update_realm(&self, patch: RealmPatch) -> Result<Realm, AppError> {
        let current = &self.realm().realm;
        let mut settings = current.settings.clone();
        patch.apply(&mut settings)?;
        let name = non_empty(patch.name).filter(|n| n != current.name.as_str());
        if name.is_some() && !self.principal().can_manage_all() {
            // A realm admin renaming its own realm would orphan every token it holds.
            return Err(AppError::Forbidden);
        }
        self.app()
            .update_realm(
                self.realm_name(),
                RealmInput {
                    name,
                    display_name: patch.display_name,
                    enabled: patch.enabled,
                    settings: Some(settings),
                },
            )
            .await
    }

    pub async fn delete_realm(&self) -> Result<(), AppError> {
        self.app().delete_realm(self.realm_name()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_changes_only_what_it_carries() {
        let mut s = RealmSettings::default();
        let before = s.clone();
        RealmPatch::default().apply(&mut s).ok();
        assert_eq!(s, before);
        let patch = RealmPatch {
            access_token_lifespan: Some(600),
            brute_force_protected: Some(false),
            failure_factor: Some(3),
            default_signature_algorithm: Some("ES256".into()),
            ..RealmPatch::default()
        };
        assert!(patch.apply(&mut s).is_ok());
        assert_eq!(s.access_token_lifespan, 600);
        assert!(!s.brute_force.enabled);
        assert_eq!(s.brute_force.failure_factor, 3);
        assert_eq!(s.default_signature_algorithm, "ES256");
        assert_eq!(s.sso_session_idle_timeout, before.sso_session_idle_timeout);
    }

    #[test]
    fn patch_rejects_nonsense() {
        let mut s = RealmSettings::default();
        let bad_alg = RealmPatch {
            default_signature_algorithm: Some("HS256".into()),
            ..RealmPatch::default()
        };
        assert!(matches!(bad_alg.apply(&mut s), Err(AppError::Invalid(_))));
        let bad_life = RealmPatch {
            access_token_lifespan: Some(0),
            ..RealmPatch::default()
        };
        assert!(matches!(bad_life.apply(&mut s), Err(AppError::Invalid(_))));
    }
}
