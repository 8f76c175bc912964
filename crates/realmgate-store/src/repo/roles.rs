//! Realm and client roles, composites, user role mappings and effective roles.

use super::found;
use crate::row::{RowExt, json};
use crate::{RealmTx, StoreError};
use realmgate_domain::{ClientUuid, Role, RoleId, UserId};
use sqlx::any::AnyRow;

pub(crate) fn role_from_row(row: &AnyRow) -> Result<Role, StoreError> {
    Ok(Role {
        id: RoleId(row.text("id")?),
        name: row.text("name")?,
        description: row.opt_text("description")?,
        client: row.opt_text("client_uuid")?.map(ClientUuid),
        attributes: row.json("attributes")?,
    })
}

/// Every role the user holds: direct mappings, mappings of the user's groups and of all their
/// ancestor groups, then composites expanded transitively. `UNION` deduplicates, which also stops
/// the recursion on cycles. Each CTE carries `realm_id` so every join matches on it.
const EFFECTIVE_ROLES: &str = concat!(
    "WITH RECURSIVE \
     member_groups (realm_id, group_id) AS ( \
         SELECT ug.realm_id, ug.group_id FROM user_groups ug \
         WHERE ug.realm_id = $1 AND ug.user_id = $2 \
         UNION \
         SELECT g.realm_id, g.parent_id FROM groups g \
         JOIN member_groups mg ON g.realm_id = mg.realm_id AND g.id = mg.group_id \
         WHERE g.realm_id = $1 AND g.parent_id IS NOT NULL \
     ), \
     granted (realm_id, role_id) AS ( \
         SELECT ur.realm_id, ur.role_id FROM user_roles ur \
         WHERE ur.realm_id = $1 AND ur.user_id = $2 \
         UNION \
         SELECT gr.realm_id, gr.role_id FROM group_roles gr \
         JOIN member_groups mg ON gr.realm_id = mg.realm_id AND gr.group_id = mg.group_id \
         WHERE gr.realm_id = $1 \
     ), \
     effective (realm_id, role_id) AS ( \
         SELECT realm_id, role_id FROM granted \
         UNION \
         SELECT rc.realm_id, rc.child_id FROM role_composites rc \
         JOIN effective e ON rc.realm_id = e.realm_id AND rc.parent_id = e.role_id \
         WHERE rc.realm_id = $1 \
     ) \
     SELECT ",
    role_cols!(),
    " FROM roles r JOIN effective e ON r.realm_id = e.realm_id AND r.id = e.role_id \
     WHERE r.realm_id = $1 ORDER BY COALESCE(r.client_uuid, ''), r.name, r.id"
);

impl RealmTx {
    /// `Conflict("roles_realm_name" | "roles_client_name")` on a duplicate name; `NotFound` when
    /// the owning client does not exist in this realm.
    pub async fn insert_role(&mut self, r: &Role) -> Result<(), StoreError> {
        self.config_changed();
        let attributes = json(&r.attributes)?;
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO roles (realm_id, id, client_uuid, name, description, attributes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(realm)
        .bind(r.id.as_str())
        .bind(r.client.as_ref().map(ClientUuid::as_str))
        .bind(r.name.as_str())
        .bind(r.description.as_deref())
        .bind(attributes)
        .execute(db)
        .await?;
        Ok(())
    }

    /// A realm role (`client = None`) or a client's role by name.
    pub async fn role_by_name(
        &mut self,
        client: Option<&ClientUuid>,
        name: &str,
    ) -> Result<Option<Role>, StoreError> {
        let (realm, db) = self.parts();
        let row =
            match client {
                None => sqlx::query(concat!(
                    "SELECT ",
                    role_cols!(),
                    " FROM roles r WHERE r.realm_id = $1 AND r.client_uuid IS NULL AND r.name = $2"
                ))
                .bind(realm)
                .bind(name)
                .fetch_optional(db)
                .await?,
                Some(client) => {
                    sqlx::query(concat!(
                        "SELECT ",
                        role_cols!(),
                        " FROM roles r WHERE r.realm_id = $1 AND r.client_uuid = $2 AND r.name = $3"
                    ))
                    .bind(realm)
                    .bind(client.as_str())
                    .bind(name)
                    .fetch_optional(db)
                    .await?
                }
            };
        row.as_ref().map(role_from_row).transpose()
    }

    pub async fn role_by_id(&mut self, id: &RoleId) -> Result<Option<Role>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            role_cols!(),
            " FROM roles r WHERE r.realm_id = $1 AND r.id = $2"
        ))
        .bind(realm)
        .bind(id.as_str())
        .fetch_optional(db)
        .await?;
        row.as_ref().map(role_from_row).transpose()
    }

    /// Realm roles (`None`) or one client's roles, ordered by name.
    pub async fn list_roles(
        &mut self,
        client: Option<&ClientUuid>,
    ) -> Result<Vec<Role>, StoreError> {
        let (realm, db) = self.parts();
        let rows = match client {
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    role_cols!(),
                    " FROM roles r WHERE r.realm_id = $1 AND r.client_uuid IS NULL \
                     ORDER BY r.name, r.id"
                ))
                .bind(realm)
                .fetch_all(db)
                .await?
            }
            Some(client) => {
                sqlx::query(concat!(
                    "SELECT ",
                    role_cols!(),
                    " FROM roles r WHERE r.realm_id = $1 AND r.client_uuid = $2 \
                     ORDER BY r.name, r.id"
                ))
                .bind(realm)
                .bind(client.as_str())
                .fetch_all(db)
                .await?
            }
        };
        rows.iter().map(role_from_row).collect()
    }

    /// Updates name, description and attributes (a role never changes owner). `NotFound` if absent.
    pub async fn update_role(&mut self, r: &Role) -> Result<(), StoreError> {
        self.config_changed();
        let attributes = json(&r.attributes)?;
        let (realm, db) = self.parts();
        let done = sqlx::query(
            "UPDATE roles SET name = $3, description = $4, attributes = $5 \
             WHERE realm_id = $1 AND id = $2",
        )
        .bind(realm)
        .bind(r.id.as_str())
        .bind(r.name.as_str())
        .bind(r.description.as_deref())
        .bind(attributes)
        .execute(db)
        .await?;
        found(done.rows_affected())
    }

    /// Deletes the role and every composite, user and group mapping of it. `NotFound` if absent.
    pub async fn delete_role(&mut self, id: &RoleId) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        let done = sqlx::query("DELETE FROM roles WHERE realm_id = $1 AND id = $2")
            .bind(realm)
            .bind(id.as_str())
            .execute(db)
            .await?;
        found(done.rows_affected())
    }

    /// Makes `child` part of `parent` (idempotent). `NotFound` if either role is absent.
    pub async fn add_composite(
        &mut self,
        parent: &RoleId,
        child: &RoleId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO role_composites (realm_id, parent_id, child_id) VALUES ($1, $2, $3) \
             ON CONFLICT (realm_id, parent_id, child_id) DO NOTHING",
        )
        .bind(realm)
        .bind(parent.as_str())
        .bind(child.as_str())
        .execute(db)
        .await?;
        Ok(())
    }

    /// Removes a composite link (idempotent).
    pub async fn remove_composite(
        &mut self,
        parent: &RoleId,
        child: &RoleId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "DELETE FROM role_composites WHERE realm_id = $1 AND parent_id = $2 AND child_id = $3",
        )
        .bind(realm)
        .bind(parent.as_str())
        .bind(child.as_str())
        .execute(db)
        .await?;
        Ok(())
    }

    /// The direct children of a composite role.
    pub async fn composites_of(&mut self, parent: &RoleId) -> Result<Vec<Role>, StoreError> {
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            role_cols!(),
            " FROM role_composites rc \
             JOIN roles r ON r.realm_id = rc.realm_id AND r.id = rc.child_id \
             WHERE rc.realm_id = $1 AND rc.parent_id = $2 ORDER BY COALESCE(r.client_uuid, ''), r.name, r.id"
        ))
        .bind(realm)
        .bind(parent.as_str())
        .fetch_all(db)
        .await?;
        rows.iter().map(role_from_row).collect()
    }

    /// Maps a role to a user (idempotent). `NotFound` if the user or role is absent.
    pub async fn grant_user_role(
        &mut self,
        user: &UserId,
        role: &RoleId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO user_roles (realm_id, user_id, role_id) VALUES ($1, $2, $3) \
             ON CONFLICT (realm_id, user_id, role_id) DO NOTHING",
        )
        .bind(realm)
        .bind(user.as_str())
        .bind(role.as_str())
        .execute(db)
        .await?;
        Ok(())
    }

    /// Removes a user's role mapping (idempotent).
    pub async fn revoke_user_role(
        &mut self,
        user: &UserId,
        role: &RoleId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        sqlx::query("DELETE FROM user_roles WHERE realm_id = $1 AND user_id = $2 AND role_id = $3")
            .bind(realm)
            .bind(user.as_str())
            .bind(role.as_str())
            .execute(db)
            .await?;
        Ok(())
    }

    /// The user's direct role mappings only.
    pub async fn user_roles(&mut self, user: &UserId) -> Result<Vec<Role>, StoreError> {
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            role_cols!(),
            " FROM user_roles ur JOIN roles r ON r.realm_id = ur.realm_id AND r.id = ur.role_id \
             WHERE ur.realm_id = $1 AND ur.user_id = $2 ORDER BY COALESCE(r.client_uuid, ''), r.name, r.id"
        ))
        .bind(realm)
        .bind(user.as_str())
        .fetch_all(db)
        .await?;
        rows.iter().map(role_from_row).collect()
    }

    /// Direct roles, roles of the user's groups and their ancestors, and all composites reached
    /// from those, each once.
    pub async fn effective_roles(&mut self, user: &UserId) -> Result<Vec<Role>, StoreError> {
        let (realm, db) = self.parts();
        let rows = sqlx::query(EFFECTIVE_ROLES)
            .bind(realm)
            .bind(user.as_str())
            .fetch_all(db)
            .await?;
        rows.iter().map(role_from_row).collect()
    }
}
