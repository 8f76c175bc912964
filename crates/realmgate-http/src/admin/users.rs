//! `/admin/realms/{realm}/users/...`: UserRepresentation in and out, search and count, password
//! reset (CredentialRepresentation), logout and group membership.

use super::extract::{Admin, Body, Params, Segments};
use super::groups::GroupOut;
use super::problem::Problem;
use super::{access, attributes_in, created, location};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use realmgate_app::App;
use realmgate_app::admin::{ImportedPassword, NewUser, Page, PasswordInput, UserFilter, UserInput};
use realmgate_app::domain::{Attributes, User};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CredentialRepresentation as sent to `reset-password` or in `credentials`: a plain `value`, or
/// (user create and update only) Keycloak's hashed import, `secretData` and `credentialData`,
/// each a JSON document in a string (an object is accepted too).
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CredentialRep {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<String>,
    pub temporary: Option<bool>,
    pub secret_data: Option<serde_json::Value>,
    pub credential_data: Option<serde_json::Value>,
}

/// A password credential as given: plain (hashed here) or already hashed.
enum Secret {
    Plain(PasswordInput),
    Hashed(ImportedPassword),
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "invalid_request", detail)
}

/// `secretData` / `credentialData`: a JSON object, usually serialized into a string.
fn json_doc(
    field: &str,
    v: serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, Problem> {
    let v = match v {
        serde_json::Value::String(s) => serde_json::from_str(&s)
            .map_err(|_| invalid(format!("credentials: {field} is not a JSON document")))?,
        other => other,
    };
    match v {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(invalid(format!(
            "credentials: {field} must be a JSON object"
        ))),
    }
}

impl std::fmt::Debug for CredentialRep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRep")
            .field("type", &self.kind)
            .finish_non_exhaustive()
    }
}

impl CredentialRep {
    /// `reset-password`: a plain value only.
    fn password(self) -> Result<PasswordInput, Problem> {
        match self.secret()? {
            Secret::Plain(p) => Ok(p),
            Secret::Hashed(_) => Err(invalid(
                "reset-password takes a plain value; import a hash with the user representation",
            )),
        }
    }

    fn secret(self) -> Result<Secret, Problem> {
        match self.kind.as_deref() {
            None | Some("password") => {}
            Some(other) => {
                return Err(invalid(format!(
                    "credential type '{other}' is not supported"
                )));
            }
        }
        let temporary = self.temporary.unwrap_or(false);
        if self.secret_data.is_none() && self.credential_data.is_none() {
            return Ok(Secret::Plain(PasswordInput {
                value: self.value.unwrap_or_default(),
                temporary,
            }));
        }
        if self.value.is_some() {
            return Err(invalid(
                "credentials: give either value or secretData with credentialData, not both",
            ));
        }
        let (Some(secret), Some(data)) = (self.secret_data, self.credential_data) else {
            return Err(invalid(
                "credentials: secretData and credentialData go together",
            ));
        };
        let data = json_doc("credentialData", data)?;
        match data.get("algorithm") {
            Some(serde_json::Value::String(a)) if a == "argon2" => {}
            Some(serde_json::Value::String(a)) => {
                return Err(invalid(format!(
                    "credentials: credentialData.algorithm '{a}' is not supported; only 'argon2' \
                     (an argon2id PHC string in secretData.value) can be imported"
                )));
            }
            _ => {
                return Err(invalid(
                    "credentials: credentialData.algorithm is required ('argon2')",
                ));
            }
        }
        let secret = json_doc("secretData", secret)?;
        let Some(serde_json::Value::String(phc)) = secret.get("value") else {
            return Err(invalid(
                "credentials: secretData.value (an argon2id PHC string) is required",
            ));
        };
        Ok(Secret::Hashed(ImportedPassword {
            phc: phc.clone(),
            temporary,
        }))
    }
}

/// UserRepresentation as clients send it; unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UserRep {
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    pub attributes: Option<BTreeMap<String, serde_json::Value>>,
    pub credentials: Option<Vec<CredentialRep>>,
    pub groups: Option<Vec<String>>,
}

impl UserRep {
    fn into_input(self) -> Result<(UserInput, Vec<String>), Problem> {
        // The last password credential wins.
        let mut password = None;
        let mut imported_password = None;
        for c in self.credentials.unwrap_or_default() {
            match c.secret()? {
                Secret::Plain(p) => (password, imported_password) = (Some(p), None),
                Secret::Hashed(h) => (password, imported_password) = (None, Some(h)),
            }
        }
        let input = UserInput {
            username: self.username,
            email: self.email,
            email_verified: self.email_verified,
            first_name: self.first_name,
            last_name: self.last_name,
            enabled: self.enabled,
            attributes: attributes_in(self.attributes),
            password,
            imported_password,
        };
        Ok((input, self.groups.unwrap_or_default()))
    }
}

/// UserRepresentation as we return it (`brief` leaves out attributes and access).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserOut {
    pub id: String,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    pub enabled: bool,
    pub created_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disableable_credential_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_actions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<BTreeMap<&'static str, bool>>,
}

impl UserOut {
    pub fn brief(u: User) -> Self {
        Self {
            id: u.id.0,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            email_verified: u.email_verified,
            enabled: u.enabled,
            created_timestamp: u.created_at.saturating_mul(1000),
            service_account_client_id: u.service_account_client.map(|c| c.0),
            attributes: None,
            totp: None,
            disableable_credential_types: None,
            required_actions: None,
            not_before: None,
            access: None,
        }
    }

    pub fn full(u: User) -> Self {
        let attributes = (!u.attributes.is_empty()).then(|| u.attributes.clone());
        Self {
            attributes,
            totp: Some(false),
            disableable_credential_types: Some(vec![]),
            required_actions: Some(vec![]),
            not_before: Some(0),
            access: Some(access(&[
                "manageGroupMembership",
                "view",
                "mapRoles",
                "impersonate",
                "manage",
            ])),
            ..Self::brief(u)
        }
    }

    pub fn of(u: User, brief: bool) -> Self {
        if brief { Self::brief(u) } else { Self::full(u) }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SearchQuery {
    search: Option<String>,
    username: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    exact: Option<bool>,
    enabled: Option<bool>,
    first: Option<i64>,
    max: Option<i64>,
    brief_representation: Option<bool>,
}

impl SearchQuery {
    fn filter(&self) -> UserFilter {
        UserFilter {
            search: self.search.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            exact: self.exact,
            enabled: self.enabled,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PageQuery {
    pub search: Option<String>,
    pub first: Option<i64>,
    pub max: Option<i64>,
    pub brief_representation: Option<bool>,
}

pub async fn list(
    Admin(a): Admin,
    Params(q): Params<SearchQuery>,
) -> Result<Json<Vec<UserOut>>, Problem> {
    let users = a
        .search_users(&q.filter(), Page::new(q.first, q.max))
        .await?;
    let brief = q.brief_representation.unwrap_or(false);
    Ok(Json(
        users.into_iter().map(|u| UserOut::of(u, brief)).collect(),
    ))
}

pub async fn count(Admin(a): Admin, Params(q): Params<SearchQuery>) -> Result<Json<i64>, Problem> {
    Ok(Json(a.count_users(&q.filter()).await?))
}

pub async fn create(
    State(app): State<App>,
    Admin(a): Admin,
    Body(rep): Body<UserRep>,
) -> Result<Response, Problem> {
    let (user, groups) = rep.into_input()?;
    let u = a.create_user(NewUser { user, groups }).await?;
    Ok(created(location(
        &app,
        a.realm_name(),
        &["users", u.id.as_str()],
    )))
}

pub async fn get(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<UserOut>, Problem> {
    Ok(Json(UserOut::full(a.get_user(&id).await?)))
}

pub async fn update(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(rep): Body<UserRep>,
) -> Result<StatusCode, Problem> {
    let (input, _) = rep.into_input()?;
    a.update_user(&id, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<StatusCode, Problem> {
    a.delete_user(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn reset_password(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(cred): Body<CredentialRep>,
) -> Result<StatusCode, Problem> {
    a.reset_password(&id, cred.password()?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn logout(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<StatusCode, Problem> {
    a.logout_user(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn groups(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Vec<GroupOut>>, Problem> {
    let groups = a
        .user_groups(&id, q.search, Page::all_by_default(q.first, q.max))
        .await?;
    let brief = q.brief_representation.unwrap_or(true);
    Ok(Json(
        groups
            .into_iter()
            .map(|g| GroupOut::membership(g, brief))
            .collect(),
    ))
}

pub async fn count_groups(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Params(q): Params<PageQuery>,
) -> Result<Json<serde_json::Value>, Problem> {
    let n = a
        .user_groups(&id, q.search, Page::new(Some(0), Some(-1)))
        .await?
        .len();
    Ok(Json(serde_json::json!({ "count": n })))
}

pub async fn join_group(
    Admin(a): Admin,
    Segments((_, id, group)): Segments<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    a.join_group(&id, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn leave_group(
    Admin(a): Admin,
    Segments((_, id, group)): Segments<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    a.leave_group(&id, &group).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use realmgate_app::domain::{ClientUuid, UserId};

    fn rep(json: &str) -> UserRep {
        serde_json::from_str(json).unwrap_or_default()
    }

    #[test]
    fn keycloak_user_rep_maps_to_input() {
        let r = rep(
            r#"{"username":"bob","email":"bob@example.org","firstName":"Conf","lastName":"User",
            "enabled":true,"emailVerified":true,"groups":["/staff"],"realmRoles":["ignored"],
            "attributes":{"dept":"eng","langs":["en","de"]},
            "credentials":[{"type":"password","value":"pw","temporary":false}]}"#,
        );
        let (i, groups) = r.into_input().unwrap_or_default();
        assert_eq!(i.username.as_deref(), Some("bob"));
        assert_eq!(i.email.as_deref(), Some("bob@example.org"));
        assert_eq!(i.email_verified, Some(true));
        assert_eq!(groups, vec!["/staff".to_owned()]);
        assert_eq!(i.password.as_ref().map(|p| p.value.as_str()), Some("pw"));
        let attrs = i.attributes.unwrap_or_default();
        assert_eq!(attrs.get("dept"), Some(&vec!["eng".to_owned()]));
        assert_eq!(
            attrs.get("langs"),
            Some(&vec!["en".to_owned(), "de".to_owned()])
        );
    }

    #[test]
    fn hashed_credentials_are_imported() {
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
        let secret = serde_json::json!({ "value": phc, "salt": "" }).to_string();
        let data = serde_json::json!({ "algorithm": "argon2", "hashIterations": 2 }).to_string();
        let body = serde_json::json!({
            "username": "x",
            "credentials": [{ "type": "password", "secretData": secret, "credentialData": data }]
        });
        let (i, _) = rep(&body.to_string()).into_input().unwrap_or_default();
        assert!(i.password.is_none());
        assert_eq!(i.imported_password.map(|p| p.phc).as_deref(), Some(phc));
        // Objects instead of strings are accepted too; a later plain value replaces the import.
        let body = serde_json::json!({
            "username": "x",
            "credentials": [
                { "secretData": { "value": phc }, "credentialData": { "algorithm": "argon2" } },
                { "type": "password", "value": "pw" }
            ]
        });
        let (i, _) = rep(&body.to_string()).into_input().unwrap_or_default();
        assert!(i.imported_password.is_none() && i.password.is_some());
    }

    #[test]
    fn bad_hashed_credentials_are_refused_with_a_reason() {
        let cases = [
            (
                r#"{"secretData":"{\"value\":\"x\"}","credentialData":"{\"algorithm\":\"pbkdf2-sha256\"}"}"#,
                "'pbkdf2-sha256' is not supported",
            ),
            (
                r#"{"secretData":"{\"value\":\"x\"}","credentialData":"{}"}"#,
                "credentialData.algorithm is required",
            ),
            (r#"{"secretData":"{\"value\":\"x\"}"}"#, "go together"),
            (
                r#"{"secretData":"nope","credentialData":"{\"algorithm\":\"argon2\"}"}"#,
                "secretData is not a JSON document",
            ),
            (
                r#"{"secretData":"{}","credentialData":"{\"algorithm\":\"argon2\"}"}"#,
                "secretData.value",
            ),
            (
                r#"{"value":"pw","secretData":"{}","credentialData":"{\"algorithm\":\"argon2\"}"}"#,
                "not both",
            ),
        ];
        for (cred, want) in cases {
            let r = rep(&format!(r#"{{"username":"x","credentials":[{cred}]}}"#));
            let detail = r.into_input().err().map(|p| p.detail);
            assert!(
                detail.as_deref().is_some_and(|d| d.contains(want)),
                "{cred}: {detail:?}"
            );
        }
        let reset: CredentialRep = serde_json::from_str(
            r#"{"secretData":"{\"value\":\"x\"}","credentialData":"{\"algorithm\":\"argon2\"}"}"#,
        )
        .unwrap_or_default();
        assert!(reset.password().is_err());
    }

    #[test]
    fn otp_credentials_are_refused() {
        let r = rep(r#"{"username":"x","credentials":[{"type":"otp","value":"1"}]}"#);
        assert!(r.into_input().is_err());
    }

    fn user() -> User {
        let mut attributes = Attributes::new();
        attributes.insert("dept".into(), vec!["eng".into()]);
        User {
            id: UserId::new(),
            username: "bob".into(),
            email: Some("bob@example.org".into()),
            email_verified: true,
            first_name: Some("Bob".into()),
            last_name: None,
            enabled: true,
            attributes,
            service_account_client: None,
            created_at: 1_700_000_000,
        }
    }

    #[test]
    fn user_out_full_and_brief() {
        let full = serde_json::to_value(UserOut::full(user())).unwrap_or_default();
        assert_eq!(full["username"], "bob");
        assert_eq!(full["firstName"], "Bob");
        assert!(full.get("lastName").is_none());
        assert_eq!(full["emailVerified"], true);
        assert_eq!(full["createdTimestamp"], 1_700_000_000_000_i64);
        assert_eq!(full["attributes"]["dept"][0], "eng");
        assert_eq!(full["access"]["manage"], true);
        assert_eq!(full["requiredActions"], serde_json::json!([]));
        let brief = serde_json::to_value(UserOut::brief(user())).unwrap_or_default();
        assert!(brief.get("attributes").is_none() && brief.get("access").is_none());
        let mut sa = user();
        sa.service_account_client = Some(ClientUuid("c-1".into()));
        let sa = serde_json::to_value(UserOut::brief(sa)).unwrap_or_default();
        assert_eq!(sa["serviceAccountClientId"], "c-1");
    }

    #[test]
    fn round_trip_keeps_the_user() {
        // The admin console's update: the server's own representation with one field changed.
        let out = serde_json::to_string(&UserOut::full(user())).unwrap_or_default();
        let (i, _) = rep(&out).into_input().unwrap_or_default();
        assert_eq!(i.username.as_deref(), Some("bob"));
        assert_eq!(i.email.as_deref(), Some("bob@example.org"));
        assert_eq!(i.first_name.as_deref(), Some("Bob"));
        assert_eq!(i.last_name, None);
        assert_eq!(i.enabled, Some(true));
        assert!(i.password.is_none());
    }
}
