//! The Keycloak-compatible admin REST API (`/admin/realms/...`) plus our extensions (signing
//! keys, per-organization member roles). Handlers are adapters: extract, call one use case on
//! the [`RealmAdmin`](realmgate_app::admin::RealmAdmin) capability, map the result into
//! Keycloak's JSON representations. Errors are RFC 9457 problems ([`problem::Problem`]) that
//! also carry Keycloak's `errorMessage`. Creates answer `201` with a `Location` header naming
//! the new resource (the Keycloak admin client takes the new id from its last segment).
//!
//! Extensions (not in Keycloak):
//! - `GET /admin/realms/{realm}/keys`: KeysMetadataRepresentation with `rotation` and `publicJwk`.
//! - `POST /admin/realms/{realm}/keys/rotate?alg=RS256|ES256|EdDSA`: rotate one algorithm (204).
//! - `GET|PUT /admin/realms/{realm}/organizations/{id}/members/{userId}/roles`: a member's
//!   organization roles as a JSON array of strings (`PUT` replaces them; 204). Members also show
//!   them as `orgRoles`.

mod clients;
mod extract;
mod groups;
mod keys;
mod orgs;
pub mod problem;
mod realms;
mod roles;
mod users;

#[cfg(test)]
mod smoke_tests;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use extract::{Admin, Body, Segments};
use realmgate_app::App;
use realmgate_app::domain::Attributes;
use roles::{Kind, View};
use std::collections::BTreeMap;

const REALMS: &str = "/admin/realms";
const REALM: &str = "/admin/realms/{realm}";

/// Every admin route, with absolute paths. Collection roots answer with and without a trailing
/// slash (the Keycloak admin client sends `/admin/realms/`, `/users/`, ...).
pub fn routes() -> Router<App> {
    let r = Router::new();
    let r = both(r, REALMS, get(realms::list).post(realms::create));
    let r = r.route(
        REALM,
        get(realms::get).put(realms::update).delete(realms::delete),
    );
    let r = both(
        r,
        &format!("{REALM}/clients"),
        get(clients::list).post(clients::create),
    );
    let r = both(
        r,
        &format!("{REALM}/users"),
        get(users::list).post(users::create),
    );
    let r = both(
        r,
        &format!("{REALM}/roles"),
        get(roles::list_realm).post(roles::create_realm),
    );
    let r = both(
        r,
        &format!("{REALM}/groups"),
        get(groups::list).post(groups::create),
    );
    let r = both(
        r,
        &format!("{REALM}/organizations"),
        get(orgs::list).post(orgs::create),
    );
    r.merge(client_routes())
        .merge(user_routes())
        .merge(role_routes())
        .merge(group_routes())
        .merge(org_routes())
        .merge(mapping_routes(Kind::User, &format!("{REALM}/users/{{id}}")))
        .merge(mapping_routes(
            Kind::Group,
            &format!("{REALM}/groups/{{id}}"),
        ))
        .route(&format!("{REALM}/keys"), get(keys::list))
        .route(&format!("{REALM}/keys/rotate"), post(keys::rotate))
}

fn both(r: Router<App>, path: &str, m: MethodRouter<App>) -> Router<App> {
    r.route(path, m.clone()).route(&format!("{path}/"), m)
}

fn client_routes() -> Router<App> {
    let c = format!("{REALM}/clients/{{id}}");
    Router::new()
        .route(
            &c,
            get(clients::get)
                .put(clients::update)
                .delete(clients::delete),
        )
        .route(
            &format!("{c}/client-secret"),
            get(clients::get_secret).post(clients::regenerate_secret),
        )
        .route(
            &format!("{c}/service-account-user"),
            get(clients::service_account_user),
        )
        .route(
            &format!("{c}/roles"),
            get(roles::list_client).post(roles::create_client),
        )
        .route(
            &format!("{c}/roles/{{role}}"),
            get(roles::get_client)
                .put(roles::update_client)
                .delete(roles::delete_client),
        )
        .route(
            &format!("{c}/roles/{{role}}/composites"),
            get(roles::client_composites)
                .post(roles::add_client_composites)
                .delete(roles::remove_client_composites),
        )
}

fn user_routes() -> Router<App> {
    let u = format!("{REALM}/users/{{id}}");
    Router::new()
        .route(&format!("{REALM}/users/count"), get(users::count))
        .route(&u, get(users::get).put(users::update).delete(users::delete))
        .route(&format!("{u}/reset-password"), put(users::reset_password))
        .route(&format!("{u}/logout"), post(users::logout))
        .route(&format!("{u}/groups"), get(users::groups))
        .route(&format!("{u}/groups/count"), get(users::count_groups))
        .route(
            &format!("{u}/groups/{{group}}"),
            put(users::join_group).delete(users::leave_group),
        )
}

fn role_routes() -> Router<App> {
    let name = format!("{REALM}/roles/{{role}}");
    let by_id = format!("{REALM}/roles-by-id/{{id}}");
    Router::new()
        .route(
            &name,
            get(roles::get_realm)
                .put(roles::update_realm)
                .delete(roles::delete_realm),
        )
        .route(
            &format!("{name}/composites"),
            get(roles::realm_composites)
                .post(roles::add_realm_composites)
                .delete(roles::remove_realm_composites),
        )
        .route(
            &by_id,
            get(roles::get_by_id)
                .put(roles::update_by_id)
                .delete(roles::delete_by_id),
        )
        .route(
            &format!("{by_id}/composites"),
            get(roles::composites_by_id)
                .post(roles::add_composites_by_id)
                .delete(roles::remove_composites_by_id),
        )
}

fn group_routes() -> Router<App> {
    let g = format!("{REALM}/groups/{{id}}");
    Router::new()
        .route(&format!("{REALM}/groups/count"), get(groups::count))
        .route(
            &g,
            get(groups::get).put(groups::update).delete(groups::delete),
        )
        .route(
            &format!("{g}/children"),
            get(groups::children).post(groups::add_child),
        )
        .route(&format!("{g}/members"), get(groups::members))
}

fn org_routes() -> Router<App> {
    let o = format!("{REALM}/organizations/{{id}}");
    Router::new()
        .route(&format!("{REALM}/organizations/count"), get(orgs::count))
        .route(
            &format!("{REALM}/organizations/members/{{user}}/organizations"),
            get(orgs::member_orgs),
        )
        .route(&o, get(orgs::get).put(orgs::update).delete(orgs::delete))
        .route(
            &format!("{o}/members"),
            get(orgs::members).post(orgs::add_member),
        )
        .route(&format!("{o}/members/count"), get(orgs::count_members))
        .route(
            &format!("{o}/members/{{user}}"),
            get(orgs::get_member).delete(orgs::remove_member),
        )
        .route(
            &format!("{o}/members/{{user}}/roles"),
            get(orgs::member_roles).put(orgs::set_member_roles),
        )
}

/// `/{users|groups}/{id}/role-mappings[/realm|/clients/{client}][/composite|/available]`.
fn mapping_routes(kind: Kind, base: &str) -> Router<App> {
    type Id = Segments<(String, String)>;
    type IdClient = Segments<(String, String, String)>;
    type Refs = Body<Vec<roles::RoleRep>>;
    let realm = format!("{base}/role-mappings/realm");
    let client = format!("{base}/role-mappings/clients/{{client}}");
    let view = |v: View| {
        move |Admin(a): Admin, Segments((_, id)): Id| roles::list_mappings(kind, v, a, id, None)
    };
    let client_view = |v: View| {
        move |Admin(a): Admin, Segments((_, id, c)): IdClient| {
            roles::list_mappings(kind, v, a, id, Some(c))
        }
    };
    Router::new()
        .route(
            &format!("{base}/role-mappings"),
            get(move |Admin(a): Admin, Segments((_, id)): Id| roles::all_mappings(kind, a, id)),
        )
        .route(
            &realm,
            get(view(View::Direct))
                .post(
                    move |Admin(a): Admin, Segments((_, id)): Id, Body(b): Refs| {
                        roles::grant(kind, a, id, None, b)
                    },
                )
                .delete(
                    move |Admin(a): Admin, Segments((_, id)): Id, Body(b): Refs| {
                        roles::revoke(kind, a, id, None, b)
                    },
                ),
        )
        .route(&format!("{realm}/composite"), get(view(View::Composite)))
        .route(&format!("{realm}/available"), get(view(View::Available)))
        .route(
            &client,
            get(client_view(View::Direct))
                .post(
                    move |Admin(a): Admin, Segments((_, id, c)): IdClient, Body(b): Refs| {
                        roles::grant(kind, a, id, Some(c), b)
                    },
                )
                .delete(
                    move |Admin(a): Admin, Segments((_, id, c)): IdClient, Body(b): Refs| {
                        roles::revoke(kind, a, id, Some(c), b)
                    },
                ),
        )
        .route(
            &format!("{client}/composite"),
            get(client_view(View::Composite)),
        )
        .route(
            &format!("{client}/available"),
            get(client_view(View::Available)),
        )
}

// ---- shared representation helpers ----------------------------------------------------------------

/// `201 Created` with the new resource's URL and an empty body, as Keycloak answers creates.
fn created(url: String) -> Response {
    match HeaderValue::from_str(&url) {
        Ok(v) => {
            let mut resp = StatusCode::CREATED.into_response();
            resp.headers_mut().insert(header::LOCATION, v);
            resp
        }
        Err(_) => problem::Problem::from(realmgate_app::AppError::internal("unencodable Location"))
            .into_response(),
    }
}

/// `{public_url}/admin/realms/{realm}/{segments...}`, each segment percent-encoded.
fn location(app: &App, realm: &str, segments: &[&str]) -> String {
    let mut url = format!(
        "{}/admin/realms/{}",
        app.config().public_url,
        encode_segment(realm)
    );
    for s in segments {
        url.push('/');
        url.push_str(&encode_segment(s));
    }
    url
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Keycloak's `access` map: what the caller may do with the resource (an admin may do all).
fn access(keys: &[&'static str]) -> BTreeMap<&'static str, bool> {
    keys.iter().map(|k| (*k, true)).collect()
}

/// Keycloak multi-valued attributes: each value a list of strings, a single string accepted.
fn attributes_in(attrs: Option<BTreeMap<String, serde_json::Value>>) -> Option<Attributes> {
    fn one(v: serde_json::Value) -> Option<String> {
        match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }
    attrs.map(|a| {
        a.into_iter()
            .map(|(k, v)| {
                let values = match v {
                    serde_json::Value::Array(items) => items.into_iter().filter_map(one).collect(),
                    other => one(other).into_iter().collect(),
                };
                (k, values)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_segments_are_percent_encoded() {
        assert_eq!(encode_segment("conf-reader"), "conf-reader");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_segment("ü"), "%C3%BC");
    }

    #[test]
    fn attributes_accept_strings_and_lists() {
        let raw: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(r#"{"a":"x","b":["y","z"],"c":true,"d":null,"e":[1,null]}"#)
                .unwrap_or_default();
        let a = attributes_in(Some(raw)).unwrap_or_default();
        assert_eq!(a.get("a"), Some(&vec!["x".to_owned()]));
        assert_eq!(a.get("b"), Some(&vec!["y".to_owned(), "z".to_owned()]));
        assert_eq!(a.get("c"), Some(&vec!["true".to_owned()]));
        assert_eq!(a.get("d"), Some(&vec![]));
        assert_eq!(a.get("e"), Some(&vec!["1".to_owned()]));
        assert_eq!(attributes_in(None), None);
    }

    #[test]
    fn routes_build_without_conflicts() {
        // axum panics on overlapping routes when the router is built; building it is the test.
        let _ = routes();
    }
}
