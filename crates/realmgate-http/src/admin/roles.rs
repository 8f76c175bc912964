//! Realm roles (`/roles`, `/roles-by-id`), client roles (`/clients/{id}/roles`), composites, and
//! the role mappings of users and groups (`/{users|groups}/{id}/role-mappings/...`).

use super::attributes_in;
use super::extract::{Admin, Body, Params, Segments};
use super::problem::Problem;
use super::{created, location};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use realmgate_app::App;
use realmgate_app::admin::{Holder, Mappings, Page, RealmAdmin, RoleInput, RoleRef, RoleView};
use realmgate_app::domain::{Attributes, Role};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// RoleRepresentation as clients send it (create/update); unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleRep {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub attributes: Option<BTreeMap<String, serde_json::Value>>,
}

impl From<RoleRep> for RoleInput {
    fn from(r: RoleRep) -> Self {
        RoleInput {
            name: r.name,
            description: r.description,
            attributes: attributes_in(r.attributes),
        }
    }
}

impl From<RoleRep> for RoleRef {
    fn from(r: RoleRep) -> Self {
        RoleRef {
            id: r.id,
            name: r.name,
        }
    }
}

fn refs(body: Vec<RoleRep>) -> Vec<RoleRef> {
    body.into_iter().map(RoleRef::from).collect()
}

/// RoleRepresentation as we return it.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoleOut {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub composite: bool,
    pub client_role: bool,
    /// The realm name for realm roles, the client's internal id for client roles.
    pub container_id: String,
    pub attributes: Attributes,
}

impl RoleOut {
    pub fn new(role: Role, composite: bool, realm: &str) -> Self {
        Self {
            id: role.id.0,
            name: role.name,
            description: role.description,
            composite,
            client_role: role.client.is_some(),
            container_id: role.client.map_or_else(|| realm.to_owned(), |c| c.0),
            attributes: role.attributes,
        }
    }
    fn view(v: RoleView, realm: &str) -> Self {
        Self::new(v.role, v.composite, realm)
    }
    /// Roles of a mapping listing (whether they are composite is not looked up there).
    fn plain(r: Role, realm: &str) -> Self {
        Self::new(r, false, realm)
    }
}

/// One client's entry in MappingsRepresentation.clientMappings.
#[derive(Debug, Serialize, PartialEq)]
pub struct ClientMappingsOut {
    pub id: String,
    pub client: String,
    pub mappings: Vec<RoleOut>,
}

/// MappingsRepresentation; empty parts are left out, as Keycloak does.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MappingsOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub realm_mappings: Vec<RoleOut>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub client_mappings: BTreeMap<String, ClientMappingsOut>,
}

impl MappingsOut {
    pub fn new(m: Mappings, realm: &str) -> Self {
        Self {
            realm_mappings: m
                .realm
                .into_iter()
                .map(|r| RoleOut::plain(r, realm))
                .collect(),
            client_mappings: m
                .clients
                .into_iter()
                .map(|(c, roles)| {
                    let entry = ClientMappingsOut {
                        id: c.id.0.clone(),
                        client: c.client_id.clone(),
                        mappings: roles
                            .into_iter()
                            .map(|r| RoleOut::plain(r, realm))
                            .collect(),
                    };
                    (c.client_id, entry)
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListQuery {
    search: Option<String>,
    first: Option<i64>,
    max: Option<i64>,
}

fn role_list(a: &RealmAdmin, roles: Vec<RoleView>) -> Json<Vec<RoleOut>> {
    Json(
        roles
            .into_iter()
            .map(|v| RoleOut::view(v, a.realm_name()))
            .collect(),
    )
}

fn plain_list(a: &RealmAdmin, roles: Vec<Role>) -> Json<Vec<RoleOut>> {
    Json(
        roles
            .into_iter()
            .map(|r| RoleOut::plain(r, a.realm_name()))
            .collect(),
    )
}

// ---- realm roles ---------------------------------------------------------------------------

pub async fn list_realm(
    Admin(a): Admin,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<RoleOut>>, Problem> {
    let roles = a
        .list_roles(None, q.search, Page::all_by_default(q.first, q.max))
        .await?;
    Ok(role_list(&a, roles))
}

pub async fn create_realm(
    State(app): State<App>,
    Admin(a): Admin,
    Body(rep): Body<RoleRep>,
) -> Result<Response, Problem> {
    let role = a.create_role(None, rep.into()).await?;
    Ok(created(location(
        &app,
        a.realm_name(),
        &["roles", &role.name],
    )))
}

pub async fn get_realm(
    Admin(a): Admin,
    Segments((_, name)): Segments<(String, String)>,
) -> Result<Json<RoleOut>, Problem> {
    Ok(Json(RoleOut::view(
        a.get_role(None, &name).await?,
        a.realm_name(),
    )))
}

pub async fn update_realm(
    Admin(a): Admin,
    Segments((_, name)): Segments<(String, String)>,
    Body(rep): Body<RoleRep>,
) -> Result<StatusCode, Problem> {
    a.update_role(None, &name, rep.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_realm(
    Admin(a): Admin,
    Segments((_, name)): Segments<(String, String)>,
) -> Result<StatusCode, Problem> {
    a.delete_role(None, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn realm_composites(
    Admin(a): Admin,
    Segments((_, name)): Segments<(String, String)>,
) -> Result<Json<Vec<RoleOut>>, Problem> {
    let roles = a.list_composites(None, &name, false).await?;
    Ok(role_list(&a, roles))
}

pub async fn add_realm_composites(
    Admin(a): Admin,
    Segments((_, name)): Segments<(String, String)>,
    Body(body): Body<Vec<RoleRep>>,
) -> Result<StatusCode, Problem> {
    a.add_composites(None, &name, false, &refs(body)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_realm_composites(
    Admin(a): Admin,
    Segments((_, name)): Segments<(String, String)>,
    Body(body): Body<Vec<RoleRep>>,
) -> Result<StatusCode, Problem> {
    a.remove_composites(None, &name, false, &refs(body)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- roles by id -----------------------------------------------------------------------------

pub async fn get_by_id(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<RoleOut>, Problem> {
    Ok(Json(RoleOut::view(
        a.get_role_by_id(&id).await?,
        a.realm_name(),
    )))
}

pub async fn update_by_id(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(rep): Body<RoleRep>,
) -> Result<StatusCode, Problem> {
    a.update_role_by_id(&id, rep.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_by_id(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<StatusCode, Problem> {
    a.delete_role_by_id(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn composites_by_id(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<Vec<RoleOut>>, Problem> {
    let roles = a.list_composites(None, &id, true).await?;
    Ok(role_list(&a, roles))
}

pub async fn add_composites_by_id(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(body): Body<Vec<RoleRep>>,
) -> Result<StatusCode, Problem> {
    a.add_composites(None, &id, true, &refs(body)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_composites_by_id(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(body): Body<Vec<RoleRep>>,
) -> Result<StatusCode, Problem> {
    a.remove_composites(None, &id, true, &refs(body)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- client roles ----------------------------------------------------------------------------

pub async fn list_client(
    Admin(a): Admin,
    Segments((_, client)): Segments<(String, String)>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<RoleOut>>, Problem> {
    let roles = a
        .list_roles(
            Some(&client),
            q.search,
            Page::all_by_default(q.first, q.max),
        )
        .await?;
    Ok(role_list(&a, roles))
}

pub async fn create_client(
    State(app): State<App>,
    Admin(a): Admin,
    Segments((_, client)): Segments<(String, String)>,
    Body(rep): Body<RoleRep>,
) -> Result<Response, Problem> {
    let role = a.create_role(Some(&client), rep.into()).await?;
    Ok(created(location(
        &app,
        a.realm_name(),
        &["clients", &client, "roles", &role.name],
    )))
}

pub async fn get_client(
    Admin(a): Admin,
    Segments((_, client, name)): Segments<(String, String, String)>,
) -> Result<Json<RoleOut>, Problem> {
    Ok(Json(RoleOut::view(
        a.get_role(Some(&client), &name).await?,
        a.realm_name(),
    )))
}

pub async fn update_client(
    Admin(a): Admin,
    Segments((_, client, name)): Segments<(String, String, String)>,
    Body(rep): Body<RoleRep>,
) -> Result<StatusCode, Problem> {
    a.update_role(Some(&client), &name, rep.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_client(
    Admin(a): Admin,
    Segments((_, client, name)): Segments<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    a.delete_role(Some(&client), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn client_composites(
    Admin(a): Admin,
    Segments((_, client, name)): Segments<(String, String, String)>,
) -> Result<Json<Vec<RoleOut>>, Problem> {
    let roles = a.list_composites(Some(&client), &name, false).await?;
    Ok(role_list(&a, roles))
}

pub async fn add_client_composites(
    Admin(a): Admin,
    Segments((_, client, name)): Segments<(String, String, String)>,
    Body(body): Body<Vec<RoleRep>>,
) -> Result<StatusCode, Problem> {
    a.add_composites(Some(&client), &name, false, &refs(body))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_client_composites(
    Admin(a): Admin,
    Segments((_, client, name)): Segments<(String, String, String)>,
    Body(body): Body<Vec<RoleRep>>,
) -> Result<StatusCode, Problem> {
    a.remove_composites(Some(&client), &name, false, &refs(body))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- role mappings of users and groups ---------------------------------------------------------

/// Which mappings a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Direct,
    /// `/composite`: effective roles.
    Composite,
    /// `/available`: roles not yet effective.
    Available,
}

/// Whose role mappings a route addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    fn holder(self, id: String) -> Holder {
        match self {
            Kind::User => Holder::User(id),
            Kind::Group => Holder::Group(id),
        }
    }
}

pub async fn all_mappings(
    kind: Kind,
    a: RealmAdmin,
    id: String,
) -> Result<Json<MappingsOut>, Problem> {
    let m = a.all_mappings(&kind.holder(id)).await?;
    Ok(Json(MappingsOut::new(m, a.realm_name())))
}

pub async fn list_mappings(
    kind: Kind,
    view: View,
    a: RealmAdmin,
    id: String,
    client: Option<String>,
) -> Result<Json<Vec<RoleOut>>, Problem> {
    let holder = kind.holder(id);
    let client = client.as_deref();
    let roles = match view {
        View::Direct => a.mappings(&holder, client).await?,
        View::Composite => a.effective_mappings(&holder, client).await?,
        View::Available => a.available_mappings(&holder, client).await?,
    };
    Ok(plain_list(&a, roles))
}

pub async fn grant(
    kind: Kind,
    a: RealmAdmin,
    id: String,
    client: Option<String>,
    body: Vec<RoleRep>,
) -> Result<StatusCode, Problem> {
    a.grant(&kind.holder(id), client.as_deref(), &refs(body))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn revoke(
    kind: Kind,
    a: RealmAdmin,
    id: String,
    client: Option<String>,
    body: Vec<RoleRep>,
) -> Result<StatusCode, Problem> {
    a.revoke(&kind.holder(id), client.as_deref(), &refs(body))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use realmgate_app::domain::{Client, ClientAuthMethod, ClientUuid, RoleId};

    fn role(name: &str, client: Option<&str>) -> Role {
        Role {
            id: RoleId::new(),
            name: name.into(),
            description: Some("d".into()),
            client: client.map(|c| ClientUuid(c.into())),
            attributes: Attributes::new(),
        }
    }

    #[test]
    fn role_out_names_its_container() {
        let v = serde_json::to_value(RoleOut::new(role("reader", None), true, "acme"))
            .unwrap_or_default();
        assert_eq!(v["name"], "reader");
        assert_eq!(v["description"], "d");
        assert_eq!(v["composite"], true);
        assert_eq!(v["clientRole"], false);
        assert_eq!(v["containerId"], "acme");
        let c = serde_json::to_value(RoleOut::new(role("admin", Some("c-1")), false, "acme"))
            .unwrap_or_default();
        assert_eq!(c["clientRole"], true);
        assert_eq!(c["containerId"], "c-1");
    }

    #[test]
    fn role_rep_maps_to_input_and_ref() {
        let r: RoleRep = serde_json::from_str(
            r#"{"id":"x","name":"reader","description":"reads",
            "composite":false,"attributes":{"k":["v"]}}"#,
        )
        .unwrap_or_default();
        let i = RoleInput::from(r);
        assert_eq!(i.name.as_deref(), Some("reader"));
        assert_eq!(i.description.as_deref(), Some("reads"));
        assert_eq!(
            i.attributes.unwrap_or_default().get("k"),
            Some(&vec!["v".to_owned()])
        );
        let body: Vec<RoleRep> =
            serde_json::from_str(r#"[{"id":"1","name":"a"},{"name":"b"}]"#).unwrap_or_default();
        let r = refs(body);
        assert_eq!(r.len(), 2);
        assert_eq!(r.first().and_then(|x| x.id.as_deref()), Some("1"));
        assert_eq!(r.get(1).and_then(|x| x.id.as_deref()), None);
    }

    #[test]
    fn mappings_representation_leaves_out_empty_parts() {
        let empty =
            serde_json::to_value(MappingsOut::new(Mappings::default(), "acme")).unwrap_or_default();
        assert_eq!(empty, serde_json::json!({}));
        let client = Client {
            id: ClientUuid("c-1".into()),
            client_id: "app".into(),
            name: None,
            description: None,
            enabled: true,
            auth_method: ClientAuthMethod::Secret,
            secret_sealed: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            web_origins: vec![],
            root_url: None,
            base_url: None,
            bearer_only: false,
            consent_required: false,
            standard_flow: true,
            direct_access_grants: false,
            service_accounts: false,
            full_scope_allowed: true,
            optional_scopes: vec![],
            default_scopes: vec![],
            attributes: BTreeMap::new(),
            created_at: 0,
        };
        let m = Mappings {
            realm: vec![role("reader", None)],
            clients: vec![(client, vec![role("admin", Some("c-1"))])],
        };
        let v = serde_json::to_value(MappingsOut::new(m, "acme")).unwrap_or_default();
        assert_eq!(v["realmMappings"][0]["name"], "reader");
        assert_eq!(v["clientMappings"]["app"]["id"], "c-1");
        assert_eq!(v["clientMappings"]["app"]["client"], "app");
        assert_eq!(v["clientMappings"]["app"]["mappings"][0]["name"], "admin");
    }
}
