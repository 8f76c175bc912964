//! `/admin/realms/{realm}/groups/...`: GroupRepresentation in and out, subgroups, members.

use super::extract::{Admin, Body, Params, Segments};
use super::problem::Problem;
use super::users::{PageQuery, UserOut};
use super::{access, attributes_in, created, location};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use realmgate_app::App;
use realmgate_app::admin::{GroupInput, GroupView, Page};
use realmgate_app::domain::{Attributes, Group};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// GroupRepresentation as clients send it; unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct GroupRep {
    pub id: Option<String>,
    pub name: Option<String>,
    pub attributes: Option<BTreeMap<String, serde_json::Value>>,
}

impl From<GroupRep> for GroupInput {
    fn from(r: GroupRep) -> Self {
        GroupInput {
            id: r.id,
            name: r.name,
            attributes: attributes_in(r.attributes),
        }
    }
}

/// GroupRepresentation as we return it.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GroupOut {
    pub id: String,
    pub name: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_group_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_groups: Option<Vec<GroupOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<BTreeMap<&'static str, bool>>,
}

impl GroupOut {
    fn base(g: Group, brief: bool) -> Self {
        Self {
            id: g.id.0,
            name: g.name,
            path: g.path,
            parent_id: g.parent.map(|p| p.0),
            sub_group_count: None,
            sub_groups: None,
            attributes: (!brief).then_some(g.attributes),
            access: (!brief).then(|| {
                access(&[
                    "view",
                    "viewMembers",
                    "manageMembers",
                    "manage",
                    "manageMembership",
                ])
            }),
        }
    }

    /// A group in the tree, with its subgroup count (and subgroups for search results).
    pub fn tree(v: GroupView, brief: bool) -> Self {
        let sub_groups = v
            .sub_groups
            .into_iter()
            .map(|s| Self::tree(s, brief))
            .collect();
        Self {
            sub_group_count: Some(v.sub_group_count),
            sub_groups: Some(sub_groups),
            ..Self::base(v.group, brief)
        }
    }

    /// A group as a user's membership lists it.
    pub fn membership(g: Group, brief: bool) -> Self {
        Self::base(g, brief)
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

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CountQuery {
    search: Option<String>,
    top: Option<bool>,
}

pub async fn list(
    Admin(a): Admin,
    Params(q): Params<ListQuery>,
) -> Result<Json<Vec<GroupOut>>, Problem> {
    let groups = a
        .list_groups(
            q.search,
            q.exact.unwrap_or(false),
            Page::new(q.first, q.max),
        )
        .await?;
    let brief = q.brief_representation.unwrap_or(true);
    Ok(Json(
        groups
            .into_iter()
            .map(|g| GroupOut::tree(g, brief))
            .collect(),
    ))
}

pub async fn count(
    Admin(a): Admin,
    Params(q): Params<CountQuery>,
) -> Result<Json<serde_json::Value>, Problem> {
    let n = a.count_groups(q.search, q.top.unwrap_or(false)).await?;
    Ok(Json(serde_json::json!({ "count": n })))
}

/// `POST /groups`: 201 + Location for a new group, 204 when an existing group (by `id`) moved.
pub async fn create(
    State(app): State<App>,
    Admin(a): Admin,
    Body(rep): Body<GroupRep>,
) -> Result<Response, Problem> {
    let (g, new) = a.create_group(None, rep.into()).await?;
    if !new {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(created(location(
        &app,
        a.realm_name(),
        &["groups", g.id.as_str()],
    )))
}

pub async fn get(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<Json<GroupOut>, Problem> {
    Ok(Json(GroupOut::tree(a.get_group(&id).await?, false)))
}

pub async fn update(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(rep): Body<GroupRep>,
) -> Result<StatusCode, Problem> {
    a.update_group(&id, rep.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
) -> Result<StatusCode, Problem> {
    a.delete_group(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn children(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Vec<GroupOut>>, Problem> {
    let groups = a
        .child_groups(&id, q.search, Page::new(q.first, q.max))
        .await?;
    let brief = q.brief_representation.unwrap_or(true);
    Ok(Json(
        groups
            .into_iter()
            .map(|g| GroupOut::tree(g, brief))
            .collect(),
    ))
}

/// `POST /groups/{id}/children`: like Keycloak, 201 with Location *and* the new group's
/// representation; 204 when an existing group moved below this one.
pub async fn add_child(
    State(app): State<App>,
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Body(rep): Body<GroupRep>,
) -> Result<Response, Problem> {
    let (g, new) = a.create_group(Some(&id), rep.into()).await?;
    if !new {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let url = location(&app, a.realm_name(), &["groups", g.id.as_str()]);
    let view = GroupView {
        group: g,
        sub_group_count: 0,
        sub_groups: vec![],
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, url)],
        Json(GroupOut::tree(view, false)),
    )
        .into_response())
}

pub async fn members(
    Admin(a): Admin,
    Segments((_, id)): Segments<(String, String)>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Vec<UserOut>>, Problem> {
    let users = a.group_members(&id, Page::new(q.first, q.max)).await?;
    let brief = q.brief_representation.unwrap_or(false);
    Ok(Json(
        users.into_iter().map(|u| UserOut::of(u, brief)).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use realmgate_app::domain::GroupId;

    #[test]
    fn group_out_has_keycloak_tree_fields() {
        let parent = GroupId::new();
        let g = Group {
            id: GroupId::new(),
            name: "backend".into(),
            parent: Some(parent.clone()),
            path: "/eng/backend".into(),
            attributes: Attributes::new(),
        };
        let v = serde_json::to_value(GroupOut::tree(
            GroupView {
                group: g,
                sub_group_count: 3,
                sub_groups: vec![],
            },
            true,
        ))
        .unwrap_or_default();
        assert_eq!(v["name"], "backend");
        assert_eq!(v["path"], "/eng/backend");
        assert_eq!(v["parentId"], parent.0.as_str());
        assert_eq!(v["subGroupCount"], 3);
        assert_eq!(v["subGroups"], serde_json::json!([]));
        assert!(v.get("attributes").is_none());
    }

    #[test]
    fn group_rep_maps_to_input() {
        let r: GroupRep =
            serde_json::from_str(r#"{"name":"conf-group","attributes":{"a":"b"},"subGroups":[]}"#)
                .unwrap_or_default();
        let i = GroupInput::from(r);
        assert_eq!(i.name.as_deref(), Some("conf-group"));
        assert_eq!(i.id, None);
        assert_eq!(
            i.attributes.unwrap_or_default().get("a"),
            Some(&vec!["b".to_owned()])
        );
    }
}
