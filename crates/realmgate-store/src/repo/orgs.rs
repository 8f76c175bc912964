//! Organizations and their members (member roles are a JSON list on the membership row).

use super::found;
use super::users::user_from_row;
use crate::row::{RowExt, contains_pattern, flag, json, page};
use crate::{RealmTx, StoreError};
use realmgate_domain::{OrgId, OrgMembership, Organization, User, UserId};
use sqlx::any::AnyRow;

fn org_from_row(row: &AnyRow) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: OrgId(row.text("id")?),
        name: row.text("name")?,
        alias: row.text("alias")?,
        description: row.opt_text("description")?,
        enabled: row.flag("enabled")?,
        domains: row.json("domains")?,
        attributes: row.json("attributes")?,
        created_at: row.int("created_at")?,
    })
}

/// Reads the `m_*` membership columns the member queries add to a user or org row.
fn membership_from_row(row: &AnyRow) -> Result<OrgMembership, StoreError> {
    Ok(OrgMembership {
        org_id: OrgId(row.text("m_org_id")?),
        user_id: UserId(row.text("m_user_id")?),
        roles: row.json("m_roles")?,
        created_at: row.int("m_created_at")?,
    })
}

macro_rules! member_cols {
    () => {
        "m.org_id AS m_org_id, m.user_id AS m_user_id, m.roles AS m_roles, \
         m.created_at AS m_created_at"
    };
}

impl RealmTx {
    /// `Conflict("organizations_name" | "organizations_alias")` when taken in this realm.
    pub async fn insert_org(&mut self, o: &Organization) -> Result<(), StoreError> {
        self.config_changed();
        let (domains, attributes) = (json(&o.domains)?, json(&o.attributes)?);
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO organizations (realm_id, id, name, alias, description, enabled, domains, \
             attributes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(realm)
        .bind(o.id.as_str())
        .bind(o.name.as_str())
        .bind(o.alias.as_str())
        .bind(o.description.as_deref())
        .bind(flag(o.enabled))
        .bind(domains)
        .bind(attributes)
        .bind(o.created_at)
        .execute(db)
        .await?;
        Ok(())
    }

    pub async fn org_by_id(&mut self, id: &OrgId) -> Result<Option<Organization>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            org_cols!(),
            " FROM organizations o WHERE o.realm_id = $1 AND o.id = $2"
        ))
        .bind(realm)
        .bind(id.as_str())
        .fetch_optional(db)
        .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// A page of organizations ordered by name; `search` is a case-insensitive substring of the
    /// name or alias.
    pub async fn list_orgs(
        &mut self,
        search: Option<&str>,
        first: i64,
        max: i64,
    ) -> Result<Vec<Organization>, StoreError> {
        let (limit, offset) = page(first, max);
        let pattern = search.map(contains_pattern);
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            org_cols!(),
            " FROM organizations o WHERE o.realm_id = $1 \
             AND ($2 IS NULL OR LOWER(o.name) LIKE $2 ESCAPE '\\' \
                  OR LOWER(o.alias) LIKE $2 ESCAPE '\\') \
             ORDER BY o.name LIMIT $3 OFFSET $4"
        ))
        .bind(realm)
        .bind(pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
        rows.iter().map(org_from_row).collect()
    }

    /// Updates every field but `id` and `created_at`. `NotFound` if absent.
    pub async fn update_org(&mut self, o: &Organization) -> Result<(), StoreError> {
        self.config_changed();
        let (domains, attributes) = (json(&o.domains)?, json(&o.attributes)?);
        let (realm, db) = self.parts();
        let done = sqlx::query(
            "UPDATE organizations SET name = $3, alias = $4, description = $5, enabled = $6, \
             domains = $7, attributes = $8 WHERE realm_id = $1 AND id = $2",
        )
        .bind(realm)
        .bind(o.id.as_str())
        .bind(o.name.as_str())
        .bind(o.alias.as_str())
        .bind(o.description.as_deref())
        .bind(flag(o.enabled))
        .bind(domains)
        .bind(attributes)
        .execute(db)
        .await?;
        found(done.rows_affected())
    }

    /// Deletes the organization and its memberships. `NotFound` if absent.
    pub async fn delete_org(&mut self, id: &OrgId) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        let done = sqlx::query("DELETE FROM organizations WHERE realm_id = $1 AND id = $2")
            .bind(realm)
            .bind(id.as_str())
            .execute(db)
            .await?;
        found(done.rows_affected())
    }

    /// `Conflict("org_members")` if already a member; `NotFound` if the org or user is absent.
    pub async fn add_org_member(&mut self, m: &OrgMembership) -> Result<(), StoreError> {
        self.config_changed();
        let roles = json(&m.roles)?;
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO org_members (realm_id, org_id, user_id, roles, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(realm)
        .bind(m.org_id.as_str())
        .bind(m.user_id.as_str())
        .bind(roles)
        .bind(m.created_at)
        .execute(db)
        .await?;
        Ok(())
    }

    /// `NotFound` if the user is not a member.
    pub async fn remove_org_member(
        &mut self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        let done = sqlx::query(
            "DELETE FROM org_members WHERE realm_id = $1 AND org_id = $2 AND user_id = $3",
        )
        .bind(realm)
        .bind(org.as_str())
        .bind(user.as_str())
        .execute(db)
        .await?;
        found(done.rows_affected())
    }

    /// Replaces the member's organization roles. `NotFound` if the user is not a member.
    pub async fn set_org_member_roles(
        &mut self,
        org: &OrgId,
        user: &UserId,
        roles: &[String],
    ) -> Result<(), StoreError> {
        self.config_changed();
        let roles = json(roles)?;
        let (realm, db) = self.parts();
        let done = sqlx::query(
            "UPDATE org_members SET roles = $4 WHERE realm_id = $1 AND org_id = $2 AND user_id = $3",
        )
        .bind(realm)
        .bind(org.as_str())
        .bind(user.as_str())
        .bind(roles)
        .execute(db)
        .await?;
        found(done.rows_affected())
    }

    /// A page of the organization's members (with their membership) ordered by username.
    pub async fn org_members(
        &mut self,
        org: &OrgId,
        first: i64,
        max: i64,
    ) -> Result<Vec<(User, OrgMembership)>, StoreError> {
        let (limit, offset) = page(first, max);
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_cols!(),
            ", ",
            member_cols!(),
            " FROM org_members m JOIN users u ON u.realm_id = m.realm_id AND u.id = m.user_id \
             WHERE m.realm_id = $1 AND m.org_id = $2 ORDER BY u.username LIMIT $3 OFFSET $4"
        ))
        .bind(realm)
        .bind(org.as_str())
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
        rows.iter()
            .map(|r| Ok((user_from_row(r)?, membership_from_row(r)?)))
            .collect()
    }

    /// The organizations the user belongs to (with the membership) ordered by name.
    pub async fn user_orgs(
        &mut self,
        user: &UserId,
    ) -> Result<Vec<(Organization, OrgMembership)>, StoreError> {
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            org_cols!(),
            ", ",
            member_cols!(),
            " FROM org_members m \
             JOIN organizations o ON o.realm_id = m.realm_id AND o.id = m.org_id \
             WHERE m.realm_id = $1 AND m.user_id = $2 ORDER BY o.name"
        ))
        .bind(realm)
        .bind(user.as_str())
        .fetch_all(db)
        .await?;
        rows.iter()
            .map(|r| Ok((org_from_row(r)?, membership_from_row(r)?)))
            .collect()
    }
}
