//! Groups (a tree by `parent`, unique `path` per realm), memberships and group role mappings.

use super::found;
use super::roles::role_from_row;
use super::users::user_from_row;
use crate::row::{RowExt, contains_pattern, escape_like, json, page};
use crate::{RealmTx, StoreError};
use realmgate_domain::{Group, GroupId, Role, RoleId, User, UserId};
use sqlx::any::AnyRow;

fn group_from_row(row: &AnyRow) -> Result<Group, StoreError> {
    Ok(Group {
        id: GroupId(row.text("id")?),
        name: row.text("name")?,
        parent: row.opt_text("parent_id")?.map(GroupId),
        path: row.text("path")?,
        attributes: row.json("attributes")?,
    })
}

impl RealmTx {
    /// `Conflict("groups_path")` when the path is taken; `NotFound` when the parent is absent.
    pub async fn insert_group(&mut self, g: &Group) -> Result<(), StoreError> {
        self.config_changed();
        let attributes = json(&g.attributes)?;
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO groups (realm_id, id, parent_id, name, path, attributes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(realm)
        .bind(g.id.as_str())
        .bind(g.parent.as_ref().map(GroupId::as_str))
        .bind(g.name.as_str())
        .bind(g.path.as_str())
        .bind(attributes)
        .execute(db)
        .await?;
        Ok(())
    }

    pub async fn group_by_id(&mut self, id: &GroupId) -> Result<Option<Group>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            group_cols!(),
            " FROM groups g WHERE g.realm_id = $1 AND g.id = $2"
        ))
        .bind(realm)
        .bind(id.as_str())
        .fetch_optional(db)
        .await?;
        row.as_ref().map(group_from_row).transpose()
    }

    /// A page of all groups (every level) ordered by path; `search` is a case-insensitive
    /// substring of the group name.
    pub async fn list_groups(
        &mut self,
        search: Option<&str>,
        first: i64,
        max: i64,
    ) -> Result<Vec<Group>, StoreError> {
        let (limit, offset) = page(first, max);
        let pattern = search.map(contains_pattern);
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            group_cols!(),
            " FROM groups g WHERE g.realm_id = $1 \
             AND ($2 IS NULL OR LOWER(g.name) LIKE $2 ESCAPE '\\') \
             ORDER BY g.path LIMIT $3 OFFSET $4"
        ))
        .bind(realm)
        .bind(pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
        rows.iter().map(group_from_row).collect()
    }

    /// Updates parent, name, path and attributes. When the path changes, the paths of all
    /// descendants are rewritten with the new prefix. `NotFound` if absent.
    pub async fn update_group(&mut self, g: &Group) -> Result<(), StoreError> {
        self.config_changed();
        let attributes = json(&g.attributes)?;
        let (realm, db) = self.parts();
        let old_path: Option<String> =
            sqlx::query_scalar("SELECT path FROM groups WHERE realm_id = $1 AND id = $2")
                .bind(realm)
                .bind(g.id.as_str())
                .fetch_optional(&mut *db)
                .await?;
        let old_path = old_path.ok_or(StoreError::NotFound)?;
        let done = sqlx::query(
            "UPDATE groups SET parent_id = $3, name = $4, path = $5, attributes = $6 \
             WHERE realm_id = $1 AND id = $2",
        )
        .bind(realm)
        .bind(g.id.as_str())
        .bind(g.parent.as_ref().map(GroupId::as_str))
        .bind(g.name.as_str())
        .bind(g.path.as_str())
        .bind(attributes)
        .execute(&mut *db)
        .await?;
        found(done.rows_affected())?;
        if old_path != g.path {
            let below = format!("{}/%", escape_like(&old_path));
            // SUBSTR takes an INTEGER start on Postgres (no implicit cast from BIGINT).
            let keep_from = i32::try_from(old_path.chars().count() + 1)
                .map_err(|_| StoreError::Corrupt("group path too long".to_owned()))?;
            sqlx::query(
                "UPDATE groups SET path = $3 || SUBSTR(path, $4) \
                 WHERE realm_id = $1 AND path LIKE $2 ESCAPE '\\'",
            )
            .bind(realm)
            .bind(below)
            .bind(g.path.as_str())
            .bind(keep_from)
            .execute(db)
            .await?;
        }
        Ok(())
    }

    /// Deletes the group and all its subgroups, with their memberships and role mappings.
    /// `NotFound` if absent.
    pub async fn delete_group(&mut self, id: &GroupId) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        let done = sqlx::query("DELETE FROM groups WHERE realm_id = $1 AND id = $2")
            .bind(realm)
            .bind(id.as_str())
            .execute(db)
            .await?;
        found(done.rows_affected())
    }

    /// Adds the user to the group (idempotent). `NotFound` if either is absent.
    pub async fn add_user_to_group(
        &mut self,
        user: &UserId,
        group: &GroupId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO user_groups (realm_id, user_id, group_id) VALUES ($1, $2, $3) \
             ON CONFLICT (realm_id, user_id, group_id) DO NOTHING",
        )
        .bind(realm)
        .bind(user.as_str())
        .bind(group.as_str())
        .execute(db)
        .await?;
        Ok(())
    }

    /// Removes the membership (idempotent).
    pub async fn remove_user_from_group(
        &mut self,
        user: &UserId,
        group: &GroupId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "DELETE FROM user_groups WHERE realm_id = $1 AND user_id = $2 AND group_id = $3",
        )
        .bind(realm)
        .bind(user.as_str())
        .bind(group.as_str())
        .execute(db)
        .await?;
        Ok(())
    }

    /// The groups the user is a direct member of, ordered by path.
    pub async fn user_groups(&mut self, user: &UserId) -> Result<Vec<Group>, StoreError> {
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            group_cols!(),
            " FROM user_groups ug JOIN groups g ON g.realm_id = ug.realm_id AND g.id = ug.group_id \
             WHERE ug.realm_id = $1 AND ug.user_id = $2 ORDER BY g.path"
        ))
        .bind(realm)
        .bind(user.as_str())
        .fetch_all(db)
        .await?;
        rows.iter().map(group_from_row).collect()
    }

    /// A page of the group's direct members ordered by username.
    pub async fn group_members(
        &mut self,
        group: &GroupId,
        first: i64,
        max: i64,
    ) -> Result<Vec<User>, StoreError> {
        let (limit, offset) = page(first, max);
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            " FROM user_groups ug JOIN users u ON u.realm_id = ug.realm_id AND u.id = ug.user_id \
             WHERE ug.realm_id = $1 AND ug.group_id = $2 ORDER BY u.username LIMIT $3 OFFSET $4"
        ))
        .bind(realm)
        .bind(group.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Maps a role to a group (idempotent). `NotFound` if either is absent.
    pub async fn grant_group_role(
        &mut self,
        group: &GroupId,
        role: &RoleId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO group_roles (realm_id, group_id, role_id) VALUES ($1, $2, $3) \
             ON CONFLICT (realm_id, group_id, role_id) DO NOTHING",
        )
        .bind(realm)
        .bind(group.as_str())
        .bind(role.as_str())
        .execute(db)
        .await?;
        Ok(())
    }

    /// Removes a group's role mapping (idempotent).
    pub async fn revoke_group_role(
        &mut self,
        group: &GroupId,
        role: &RoleId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "DELETE FROM group_roles WHERE realm_id = $1 AND group_id = $2 AND role_id = $3",
        )
        .bind(realm)
        .bind(group.as_str())
        .bind(role.as_str())
        .execute(db)
        .await?;
        Ok(())
    }

    /// The group's direct role mappings.
    pub async fn group_roles(&mut self, group: &GroupId) -> Result<Vec<Role>, StoreError> {
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            role_cols!(),
            " FROM group_roles gr JOIN roles r ON r.realm_id = gr.realm_id AND r.id = gr.role_id \
             WHERE gr.realm_id = $1 AND gr.group_id = $2 \
             ORDER BY COALESCE(r.client_uuid, ''), r.name, r.id"
        ))
        .bind(realm)
        .bind(group.as_str())
        .fetch_all(db)
        .await?;
        rows.iter().map(role_from_row).collect()
    }
}
