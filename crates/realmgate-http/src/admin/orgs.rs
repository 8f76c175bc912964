//! `/admin/realms/{realm}/organizations/...`: OrganizationRepresentation in and out, members
//! (MemberRepresentation), and our extension `PUT /organizations/{id}/members/{userId}/roles`.

use super::extract::{Admin, Body, Params, Segments, parse_json};
use super::problem::Problem;
use super::users::UserOut;
use super::{attributes_in, created, location};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use realmgate_app::App;
use realmgate_app::admin::{OrgInput, OrgMember, Page};
use realmgate_app::domain::{Attributes, OrgDomain, Organization};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// OrganizationDomainRepresentation.
#[derive(Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct DomainRep {
    pub name: String,
    pub verified: bool,
}

/// OrganizationRepresentation as clients send it; unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrgRep {
    pub name: Option<String>,
    pub alias: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub domains: Option<Vec<DomainRep>>,
    pub attributes: Option<BTreeMap<String, serde_json::Value>>,
}

impl From<OrgRep> for OrgInput {
    fn from(r: OrgRep) -> Self {
        OrgInput {
            name: r.name,
            alias: r.alias,
            description: r.description,
            enabled: r.enabled,
            domains: r.domains.map(|d| {
                d.into_iter()
                    .map(|d| OrgDomain {
                        name: d.name,
                        verified: d.verified,
                    })
                    .collect()
            }),
            attributes: attributes_in(r.attributes),
        }
    }
}

/// OrganizationRepresentation as we return it.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrgOut {
    pub id: String,
    pub name: String,
    pub alias: String,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    pub domains: Vec<DomainRep>,
}

impl OrgOut {
    pub fn new(o: Organization, brief: bool) -> Self {
        Self {
            id: o.id.0,
            name: o.name,
            alias: o.alias,
            enabled: o.enabled,
            description: o.description,
            attributes: (!brief).then_some(o.attributes),
            domains: o
                .domains
                .into_iter()
                .map(|d| DomainRep {
                    name: d.name,
                    verified: d.verified,
                })
                .collect(),
        }
    }
}

/// MemberRepresentation: a UserRepresentation with Keycloak's `membershipType` and our
/// per-organization roles (`orgRoles`).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MemberOut {
    #[serde(flatten)]
    pub user: UserOut,
    pub membership_type: &'static str,
    pub org_roles: Vec<String>,
}

impl MemberOut {
    pub fn new(m: OrgMember, brief: bool) -> Self {
        Self {
            user: UserOut::of(m.user, brief),
            membership_type: "UNMANAGED",
            org_roles: m.membership.roles,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListQuery {
    search: Option<String>,
    exact: Option<bool>,
    first: Option<i64>,
    max: Option<i64>,
    brief_representation: Option<bool>,
}

/// The body of `POST /organizations/{id}/members`: the user id as a JSON string (Keycloak 26)
/// or bare (what `@keycloak/keycloak-admin-client` actually sends).
fn member_id(body: &[u8]) -> Result<String, Problem> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Problem::malformed_body("the body must be a user id"))?
        .trim();
    let id = if text.starts_with('"') {
        parse_json::<String>(text.as_bytes())?
    } else {
        text.to_owned()
    };
    if id.is_empty() {
        return Err(Problem::malformed_body("the body must be a user id"));
    }
    Ok(id)
}

pub async fn list(
    Admin(a): Admin,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<OrgOut>>, Problem> {
    let orgs = a.list_orgs(q.search, Page::new(q.first, q.max)).await?;
    let brief = q.brief_representation.unwrap_or(true);
    Ok(Json(
        orgs.into_iter().map(|o| OrgOut::new(o, brief)).collect(),
    ))
}

pub async fn count(Admin(a): Admin, Params(q): Params<ListQuery>) -> Result<Json<i64>, Problem> {
    Ok(Json(a.count_orgs(q.search).await?))
}

pub async fn create(
    State(app): State<App>,
    Admin(a): Admin,
    Body(rep): Body<OrgRep>,
) -> Result<Response, Problem> {
    let o = a.create_org(rep.into()).await?;
    Ok(created(location(
        &app,
        a.realm_name(),
        &["organizations", o.id.as_str()],
    )))
}

pub async fn get(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<OrgOut>, Problem> {
    Ok(Json(OrgOut::new(a.get_org(&id).await?, false)))
}

pub async fn update(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(rep): Body<OrgRep>,
) -> Result<StatusCode, Problem> {
    a.update_org(&id, rep.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<StatusCode, Problem> {
    a.delete_org(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn members(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<MemberOut>>, Problem> {
    let members = a
        .org_members(
            &id,
            q.search,
            q.exact.unwrap_or(false),
            Page::new(q.first, q.max),
        )
        .await?;
    let brief = q.brief_representation.unwrap_or(false);
    Ok(Json(
        members
            .into_iter()
            .map(|m| MemberOut::new(m, brief))
            .collect(),
    ))
}

pub async fn count_members(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<i64>, Problem> {
    Ok(Json(a.count_org_members(&id).await?))
}

pub async fn add_member(
    State(app): State<App>,
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    body: Bytes,
) -> Result<Response, Problem> {
    let user = member_id(&body)?;
    let m = a.add_org_member(&id, &user).await?;
    Ok(created(location(
        &app,
        a.realm_name(),
        &["organizations", &id, "members", m.user.id.as_str()],
    )))
}

pub async fn get_member(
    Admin(a): Admin,
    Segments((_, id, user)): Segments<(String, String, String)>,
) -> Result<Json<MemberOut>, Problem> {
    Ok(Json(MemberOut::new(
        a.get_org_member(&id, &user).await?,
        false,
    )))
}

pub async fn remove_member(
    Admin(a): Admin,
    Segments((_, id, user)): Segments<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    a.remove_org_member(&id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Our extension: `GET /organizations/{id}/members/{userId}/roles` → `["admin", ...]`.
pub async fn member_roles(
    Admin(a): Admin,
    Segments((_, id, user)): Segments<(String, String, String)>,
) -> Result<Json<Vec<String>>, Problem> {
    Ok(Json(a.get_org_member(&id, &user).await?.membership.roles))
}

/// Our extension: `PUT /organizations/{id}/members/{userId}/roles` with `["admin", "viewer"]`.
pub async fn set_member_roles(
    Admin(a): Admin,
    Segments((_, id, user)): Segments<(String, String, String)>,
    Body(roles): Body<Vec<String>>,
) -> Result<StatusCode, Problem> {
    a.set_org_member_roles(&id, &user, roles).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn member_orgs(
    Admin(a): Admin,
    Segments((_, user)): Segments<(String, String)>,
) -> Result<Json<Vec<OrgOut>>, Problem> {
    let orgs = a.member_orgs(&user).await?;
    Ok(Json(
        orgs.into_iter().map(|o| OrgOut::new(o, true)).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use realmgate_app::domain::{OrgId, OrgMembership, User, UserId};

    #[test]
    fn member_body_is_quoted_or_bare() {
        assert_eq!(member_id(b"\"0192-abc\"").ok().as_deref(), Some("0192-abc"));
        assert_eq!(member_id(b" 0192-abc \n").ok().as_deref(), Some("0192-abc"));
        assert!(member_id(b"").is_err());
        assert!(member_id(b"\"\"").is_err());
        assert!(member_id(b"\"unterminated").is_err());
    }

    #[test]
    fn org_rep_maps_to_input() {
        let r: OrgRep = serde_json::from_str(
            r#"{"name":"Conformance Org","alias":"conf-org","enabled":true,
            "domains":[{"name":"conf.example.org"}],"redirectUrl":"ignored"}"#,
        )
        .unwrap_or_default();
        let i = OrgInput::from(r);
        assert_eq!(i.name.as_deref(), Some("Conformance Org"));
        assert_eq!(i.alias.as_deref(), Some("conf-org"));
        assert_eq!(
            i.domains,
            Some(vec![OrgDomain {
                name: "conf.example.org".into(),
                verified: false
            }])
        );
    }

    fn org() -> Organization {
        Organization {
            id: OrgId::new(),
            name: "Acme".into(),
            alias: "acme".into(),
            description: None,
            enabled: true,
            domains: vec![OrgDomain {
                name: "acme.com".into(),
                verified: true,
            }],
            attributes: Attributes::new(),
            created_at: 0,
        }
    }

    #[test]
    fn org_out_lists_domains_even_when_brief() {
        let v = serde_json::to_value(OrgOut::new(org(), true)).unwrap_or_default();
        assert_eq!(v["alias"], "acme");
        assert_eq!(v["domains"][0]["name"], "acme.com");
        assert_eq!(v["domains"][0]["verified"], true);
        assert!(v.get("attributes").is_none());
        let full = serde_json::to_value(OrgOut::new(org(), false)).unwrap_or_default();
        assert_eq!(full["attributes"], serde_json::json!({}));
    }

    #[test]
    fn member_out_is_a_user_with_membership() {
        let o = org();
        let user = User {
            id: UserId::new(),
            username: "dave".into(),
            email: None,
            email_verified: false,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: Attributes::new(),
            service_account_client: None,
            created_at: 0,
        };
        let m = OrgMember {
            membership: OrgMembership {
                org_id: o.id,
                user_id: user.id.clone(),
                roles: vec!["admin".into()],
                created_at: 0,
            },
            user,
        };
        let v = serde_json::to_value(MemberOut::new(m, true)).unwrap_or_default();
        assert_eq!(v["username"], "dave");
        assert_eq!(v["membershipType"], "UNMANAGED");
        assert_eq!(v["orgRoles"], serde_json::json!(["admin"]));
    }
}
