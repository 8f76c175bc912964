//! `/admin/realms` and `/admin/realms/{realm}`: RealmRepresentation in and out.

use super::extract::{Admin, Body, Params, Principal};
use super::problem::Problem;
use super::{created, location};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use realmgate_app::App;
use realmgate_app::admin::RealmPatch;
use realmgate_app::domain::Realm;
use serde::{Deserialize, Serialize};

/// The realm fields we read from a RealmRepresentation; everything else is ignored, as Keycloak
/// ignores what it does not know.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RealmRep {
    pub id: Option<String>,
    pub realm: Option<String>,
    pub display_name: Option<String>,
    pub display_name_html: Option<String>,
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
    /// Our extension, on create: the shard to place the realm on.
    pub shard: Option<String>,
}

impl RealmRep {
    /// The patch; only `realm` renames. On create, `id` names the realm when `realm` is absent.
    fn into_patch(self, create: bool) -> RealmPatch {
        let id = if create { self.id.clone() } else { None };
        let mut patch = RealmPatch::from(self);
        patch.name = patch.name.or(id);
        patch
    }
}

impl From<RealmRep> for RealmPatch {
    fn from(r: RealmRep) -> Self {
        RealmPatch {
            name: r.realm,
            display_name: r.display_name,
            enabled: r.enabled,
            access_token_lifespan: r.access_token_lifespan,
            access_code_lifespan: r.access_code_lifespan,
            access_code_lifespan_login: r.access_code_lifespan_login,
            sso_session_idle_timeout: r.sso_session_idle_timeout,
            sso_session_max_lifespan: r.sso_session_max_lifespan,
            brute_force_protected: r.brute_force_protected,
            failure_factor: r.failure_factor,
            wait_increment_seconds: r.wait_increment_seconds,
            max_failure_wait_seconds: r.max_failure_wait_seconds,
            max_delta_time_seconds: r.max_delta_time_seconds,
            default_signature_algorithm: r.default_signature_algorithm,
            display_name_html: r.display_name_html,
            shard: r.shard,
        }
    }
}

/// RealmRepresentation as we return it. `id` is the realm name, as for realms Keycloak creates
/// through its admin API.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RealmOut {
    pub id: String,
    pub realm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name_html: Option<String>,
    pub enabled: bool,
    pub access_token_lifespan: i64,
    pub access_code_lifespan: i64,
    pub access_code_lifespan_login: i64,
    pub sso_session_idle_timeout: i64,
    pub sso_session_max_lifespan: i64,
    pub brute_force_protected: bool,
    pub permanent_lockout: bool,
    pub failure_factor: i64,
    pub wait_increment_seconds: i64,
    pub max_failure_wait_seconds: i64,
    pub max_delta_time_seconds: i64,
    pub default_signature_algorithm: String,
    pub organizations_enabled: bool,
}

impl From<&Realm> for RealmOut {
    fn from(r: &Realm) -> Self {
        let s = &r.settings;
        Self {
            id: r.name.as_str().to_owned(),
            realm: r.name.as_str().to_owned(),
            display_name: r.display_name.clone(),
            display_name_html: s.display_name_html.clone(),
            enabled: r.enabled,
            access_token_lifespan: s.access_token_lifespan,
            access_code_lifespan: s.access_code_lifespan,
            access_code_lifespan_login: s.login_lifespan,
            sso_session_idle_timeout: s.sso_session_idle_timeout,
            sso_session_max_lifespan: s.sso_session_max_lifespan,
            brute_force_protected: s.brute_force.enabled,
            permanent_lockout: false,
            failure_factor: s.brute_force.failure_factor,
            wait_increment_seconds: s.brute_force.wait_increment_seconds,
            max_failure_wait_seconds: s.brute_force.max_wait_seconds,
            max_delta_time_seconds: s.brute_force.failure_reset_seconds,
            default_signature_algorithm: s.default_signature_algorithm.clone(),
            organizations_enabled: true,
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListQuery {
    first: Option<i64>,
    max: Option<i64>,
}

pub async fn list(
    State(app): State<App>,
    Principal(p): Principal,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<RealmOut>>, Problem> {
    let realms = app.admin_list_realms(&p, q.first, q.max).await?;
    Ok(Json(realms.iter().map(RealmOut::from).collect()))
}

pub async fn create(
    State(app): State<App>,
    Principal(p): Principal,
    Body(rep): Body<RealmRep>,
) -> Result<Response, Problem> {
    let realm = app.admin_create_realm(&p, rep.into_patch(true)).await?;
    Ok(created(location(&app, realm.name.as_str(), &[])))
}

pub async fn get(Admin(a): Admin) -> Json<RealmOut> {
    Json(RealmOut::from(&a.get_realm()))
}

pub async fn update(Admin(a): Admin, Body(rep): Body<RealmRep>) -> Result<StatusCode, Problem> {
    a.update_realm(rep.into_patch(false)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(Admin(a): Admin) -> Result<StatusCode, Problem> {
    a.delete_realm().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use realmgate_app::domain::{RealmId, RealmName, RealmSettings};

    #[test]
    fn realm_rep_maps_to_a_patch_and_ignores_unknown_fields() {
        let json = r#"{"realm":"acme","enabled":true,"displayName":"Acme","organizationsEnabled":true,
            "accessTokenLifespan":600,"bruteForceProtected":false,"smtpServer":{"host":"x"}}"#;
        let rep: Option<RealmRep> = serde_json::from_str(json).ok();
        let patch = RealmPatch::from(rep.unwrap_or_default());
        assert_eq!(patch.name.as_deref(), Some("acme"));
        assert_eq!(patch.display_name.as_deref(), Some("Acme"));
        assert_eq!(patch.access_token_lifespan, Some(600));
        assert_eq!(patch.brute_force_protected, Some(false));
        assert_eq!(patch.sso_session_idle_timeout, None);
    }

    #[test]
    fn only_realm_renames_and_id_names_a_new_realm() {
        let rep = || RealmRep {
            id: Some("some-uuid".into()),
            ..RealmRep::default()
        };
        assert_eq!(rep().into_patch(false).name, None);
        assert_eq!(rep().into_patch(true).name.as_deref(), Some("some-uuid"));
    }

    #[test]
    fn realm_out_uses_the_name_as_id_and_keycloak_field_names() {
        let realm = Realm {
            id: RealmId::new(),
            name: RealmName::master(),
            display_name: Some("Master".into()),
            enabled: true,
            settings: RealmSettings::default(),
            created_at: 0,
        };
        let v = serde_json::to_value(RealmOut::from(&realm)).unwrap_or_default();
        assert_eq!(v["id"], "master");
        assert_eq!(v["realm"], "master");
        assert_eq!(v["displayName"], "Master");
        assert_eq!(v["accessTokenLifespan"], 300);
        assert_eq!(v["ssoSessionIdleTimeout"], 1800);
        assert_eq!(v["bruteForceProtected"], true);
        assert_eq!(v["defaultSignatureAlgorithm"], "RS256");
    }
}
