//! Realm and client roles, composites, and the role mappings of users and groups (direct,
//! effective and available), with Keycloak's rules: the realm's default role and
//! `realm-management`'s `realm-admin` cannot be deleted or renamed, composites may not form cycles.

use super::{Page, RealmAdmin, non_empty};
use crate::AppError;
use crate::realms::{REALM_ADMIN_ROLE, REALM_MANAGEMENT};
use realmgate_domain::{Attributes, Client, ClientUuid, GroupId, Role, RoleId, UserId};
use realmgate_store::RealmTx;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What a caller may set on a role. On update `description` is replaced even when absent (as in
/// Keycloak); `name` and `attributes` only when given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub attributes: Option<Attributes>,
}

/// A role named in a request body (`[{id, name}]`): by id when given, else by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// A role with what its representation needs besides the row.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleView {
    pub role: Role,
    /// Whether the role has composites.
    pub composite: bool,
}

/// Whose role mappings: a user or a group (by the id in the URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    User(String),
    Group(String),
}

/// A holder resolved to its row id.
enum HolderId {
    User(UserId),
    Group(GroupId),
}

/// The direct mappings of a holder: realm roles and, per client, client roles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mappings {
    pub realm: Vec<Role>,
    pub clients: Vec<(Client, Vec<Role>)>,
}

/// A role name: 1–255 characters, no control characters, no `/` (it is a URL segment).
fn valid_role_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 255 || name.chars().any(|c| c.is_control() || c == '/') {
        return Err(AppError::invalid(
            "role name must be 1-255 characters without '/'",
        ));
    }
    Ok(name.to_owned())
}

fn skip_take<T>(items: Vec<T>, page: Page) -> Vec<T> {
    items
        .into_iter()
        .skip(usize::try_from(page.first).unwrap_or(0))
        .take(usize::try_from(page.max).unwrap_or(0))
        .collect()
}

impl RealmAdmin {
    /// The client owning client roles, by its internal id.
    async fn scope(
        &self,
        tx: &mut RealmTx,
        client: Option<&str>,
    ) -> Result<Option<Client>, AppError> {
        match client {
            None => Ok(None),
            Some(id) => Ok(Some(self.client_row(tx, id).await?)),
        }
    }

    /// Whether a role is built in and must keep its name.
    fn is_builtin(&self, tx_client: Option<&Client>, role: &Role) -> bool {
        match tx_client {
            None => role.name == crate::realms::default_role_name(self.realm_name()),
            Some(c) => c.client_id == REALM_MANAGEMENT && role.name == REALM_ADMIN_ROLE,
        }
    }

    async fn views(&self, tx: &mut RealmTx, roles: Vec<Role>) -> Result<Vec<RoleView>, AppError> {
        let mut out = Vec::with_capacity(roles.len());
        for role in roles {
            let composite = !tx.composites_of(&role.id).await?.is_empty();
            out.push(RoleView { role, composite });
        }
        Ok(out)
    }

    async fn view_of(&self, tx: &mut RealmTx, role: Role) -> Result<RoleView, AppError> {
        let composite = !tx.composites_of(&role.id).await?.is_empty();
        Ok(RoleView { role, composite })
    }

    async fn role_named(
        &self,
        tx: &mut RealmTx,
        client: Option<&Client>,
        name: &str,
    ) -> Result<Role, AppError> {
        tx.role_by_name(client.map(|c| &c.id), name)
            .await?
            .ok_or(AppError::NotFound("role"))
    }

    async fn role_with_id(&self, tx: &mut RealmTx, id: &str) -> Result<Role, AppError> {
        let id = RoleId::parse(id).ok_or(AppError::NotFound("role"))?;
        tx.role_by_id(&id).await?.ok_or(AppError::NotFound("role"))
    }

    /// The owning client of a role (for built-in checks), if it is a client role.
    async fn owner(&self, tx: &mut RealmTx, role: &Role) -> Result<Option<Client>, AppError> {
        match &role.client {
            None => Ok(None),
            Some(id) => Ok(tx.client_by_uuid(id).await?),
        }
    }

    /// Resolves a body's role reference; `scope` restricts it to realm roles (`None`) or one
    /// client's roles. A role outside the scope is "not found", as in Keycloak.
    async fn resolve(
        &self,
        tx: &mut RealmTx,
        scope: Option<&ClientUuid>,
        r: &RoleRef,
    ) -> Result<Role, AppError> {
        let role = match (non_empty(r.id.clone()), non_empty(r.name.clone())) {
            (Some(id), _) => self.role_with_id(tx, &id).await?,
            (None, Some(name)) => tx
                .role_by_name(scope, &name)
                .await?
                .ok_or(AppError::NotFound("role"))?,
            (None, None) => return Err(AppError::invalid("each role needs an id or a name")),
        };
        if role.client.as_ref() != scope {
            return Err(AppError::NotFound("role"));
        }
        Ok(role)
    }

    /// Resolves a composite's child: by id any role of the realm, by name a realm role.
    async fn resolve_any(&self, tx: &mut RealmTx, r: &RoleRef) -> Result<Role, AppError> {
        match (non_empty(r.id.clone()), non_empty(r.name.clone())) {
            (Some(id), _) => self.role_with_id(tx, &id).await,
            (None, Some(name)) => self.role_named(tx, None, &name).await,
            (None, None) => Err(AppError::invalid("each role needs an id or a name")),
        }
    }

    // ---- roles -------------------------------------------------------------------------------

    /// `GET /roles` or `GET /clients/{id}/roles`, optionally filtered by a name substring.
    pub async fn list_roles(
        &self,
        client: Option<&str>,
        search: Option<String>,
        page: Page,
    ) -> Result<Vec<RoleView>, AppError> {
        let mut tx = self.read().await?;
        let scope = self.scope(&mut tx, client).await?;
        let needle = non_empty(search).map(|s| s.to_lowercase());
        let roles: Vec<Role> = tx
            .list_roles(scope.as_ref().map(|c| &c.id))
            .await?
            .into_iter()
            .filter(|r| {
                needle
                    .as_deref()
                    .is_none_or(|n| r.name.to_lowercase().contains(n))
            })
            .collect();
        let roles = skip_take(roles, page);
        self.views(&mut tx, roles).await
    }

    pub async fn create_role(
        &self,
        client: Option<&str>,
        input: RoleInput,
    ) -> Result<Role, AppError> {
        let name = valid_role_name(input.name.as_deref().unwrap_or(""))?;
        let mut tx = self.write().await?;
        let scope = self.scope(&mut tx, client).await?;
        let role = Role {
            id: RoleId::new(),
            name,
            description: non_empty(input.description),
            client: scope.map(|c| c.id),
            attributes: input.attributes.unwrap_or_default(),
        };
        tx.insert_role(&role).await?;
        tx.commit().await?;
        Ok(role)
    }

    pub async fn get_role(&self, client: Option<&str>, name: &str) -> Result<RoleView, AppError> {
        let mut tx = self.read().await?;
        let scope = self.scope(&mut tx, client).await?;
        let role = self.role_named(&mut tx, scope.as_ref(), name).await?;
        self.view_of(&mut tx, role).await
    }

    pub async fn get_role_by_id(&self, id: &str) -> Result<RoleView, AppError> {
        let mut tx = self.read().await?;
        let role = self.role_with_id(&mut tx, id).await?;
        self.view_of(&mut tx, role).await
    }

    pub async fn update_role(
        &self,
        client: Option<&str>,
        name: &str,
        input: RoleInput,
    ) -> Result<Role, AppError> {
        let mut tx = self.write().await?;
        let scope = self.scope(&mut tx, client).await?;
        let role = self.role_named(&mut tx, scope.as_ref(), name).await?;
        self.save_role(tx, scope.as_ref(), role, input).await
    }

    pub async fn update_role_by_id(&self, id: &str, input: RoleInput) -> Result<Role, AppError> {
        let mut tx = self.write().await?;
        let role = self.role_with_id(&mut tx, id).await?;
        let owner = self.owner(&mut tx, &role).await?;
        self.save_role(tx, owner.as_ref(), role, input).await
    }

    async fn save_role(
        &self,
        mut tx: RealmTx,
        owner: Option<&Client>,
        mut role: Role,
        input: RoleInput,
    ) -> Result<Role, AppError> {
        if let Some(n) = input.name.filter(|n| !n.trim().is_empty()) {
            let n = valid_role_name(&n)?;
            if n != role.name && self.is_builtin(owner, &role) {
                return Err(AppError::invalid(format!(
                    "the built-in role '{}' cannot be renamed",
                    role.name
                )));
            }
            role.name = n;
        }
        role.description = non_empty(input.description);
        if let Some(a) = input.attributes {
            role.attributes = a;
        }
        tx.update_role(&role).await?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(role)
    }

    pub async fn delete_role(&self, client: Option<&str>, name: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let scope = self.scope(&mut tx, client).await?;
        let role = self.role_named(&mut tx, scope.as_ref(), name).await?;
        self.remove_role(tx, scope.as_ref(), role).await
    }

    pub async fn delete_role_by_id(&self, id: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let role = self.role_with_id(&mut tx, id).await?;
        let owner = self.owner(&mut tx, &role).await?;
        self.remove_role(tx, owner.as_ref(), role).await
    }

    async fn remove_role(
        &self,
        mut tx: RealmTx,
        owner: Option<&Client>,
        role: Role,
    ) -> Result<(), AppError> {
        if self.is_builtin(owner, &role) {
            return Err(AppError::invalid(format!(
                "the built-in role '{}' cannot be deleted",
                role.name
            )));
        }
        tx.delete_role(&role.id).await?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    // ---- composites --------------------------------------------------------------------------

    /// The role a composites URL names: `/roles/{name}` (realm), `/clients/{id}/roles/{name}`, or
    /// `/roles-by-id/{id}` (`by_id`).
    async fn composite_parent(
        &self,
        tx: &mut RealmTx,
        client: Option<&str>,
        name_or_id: &str,
        by_id: bool,
    ) -> Result<Role, AppError> {
        if by_id {
            return self.role_with_id(tx, name_or_id).await;
        }
        let scope = self.scope(tx, client).await?;
        self.role_named(tx, scope.as_ref(), name_or_id).await
    }

    pub async fn list_composites(
        &self,
        client: Option<&str>,
        name_or_id: &str,
        by_id: bool,
    ) -> Result<Vec<RoleView>, AppError> {
        let mut tx = self.read().await?;
        let parent = self
            .composite_parent(&mut tx, client, name_or_id, by_id)
            .await?;
        let children = tx.composites_of(&parent.id).await?;
        self.views(&mut tx, children).await
    }

    pub async fn add_composites(
        &self,
        client: Option<&str>,
        name_or_id: &str,
        by_id: bool,
        refs: &[RoleRef],
    ) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let parent = self
            .composite_parent(&mut tx, client, name_or_id, by_id)
            .await?;
        for r in refs {
            let child = self.resolve_any(&mut tx, r).await?;
            if child.id == parent.id
                || closure(&mut tx, vec![child.id.clone()])
                    .await?
                    .contains(&parent.id)
            {
                return Err(AppError::invalid(format!(
                    "role '{}' would contain itself",
                    parent.name
                )));
            }
            tx.add_composite(&parent.id, &child.id).await?;
        }
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    pub async fn remove_composites(
        &self,
        client: Option<&str>,
        name_or_id: &str,
        by_id: bool,
        refs: &[RoleRef],
    ) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let parent = self
            .composite_parent(&mut tx, client, name_or_id, by_id)
            .await?;
        for r in refs {
            let child = self.resolve_any(&mut tx, r).await?;
            tx.remove_composite(&parent.id, &child.id).await?;
        }
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    // ---- role mappings -----------------------------------------------------------------------

    async fn holder(&self, tx: &mut RealmTx, h: &Holder) -> Result<HolderId, AppError> {
        Ok(match h {
            Holder::User(id) => HolderId::User(self.user_row(tx, id).await?.id),
            Holder::Group(id) => HolderId::Group(self.group_row(tx, id).await?.id),
        })
    }

    async fn direct(&self, tx: &mut RealmTx, h: &HolderId) -> Result<Vec<Role>, AppError> {
        Ok(match h {
            HolderId::User(u) => tx.user_roles(u).await?,
            HolderId::Group(g) => tx.group_roles(g).await?,
        })
    }

    /// Direct, group-inherited and composite roles of the holder.
    async fn effective(&self, tx: &mut RealmTx, h: &HolderId) -> Result<Vec<Role>, AppError> {
        match h {
            HolderId::User(u) => Ok(tx.effective_roles(u).await?),
            HolderId::Group(g) => {
                let mut granted: Vec<RoleId> = Vec::new();
                let mut next = Some(g.clone());
                let mut seen = BTreeSet::new();
                while let Some(gid) = next.take() {
                    if !seen.insert(gid.clone()) {
                        break;
                    }
                    granted.extend(tx.group_roles(&gid).await?.into_iter().map(|r| r.id));
                    next = tx.group_by_id(&gid).await?.and_then(|grp| grp.parent);
                }
                let ids = closure(tx, granted).await?;
                let mut roles = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(r) = tx.role_by_id(&id).await? {
                        roles.push(r);
                    }
                }
                roles.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(roles)
            }
        }
    }

    /// `GET .../role-mappings`: every direct mapping, realm and per client.
    pub async fn all_mappings(&self, holder: &Holder) -> Result<Mappings, AppError> {
        let mut tx = self.read().await?;
        let h = self.holder(&mut tx, holder).await?;
        let mut out = Mappings::default();
        let mut by_client: BTreeMap<ClientUuid, Vec<Role>> = BTreeMap::new();
        for r in self.direct(&mut tx, &h).await? {
            match r.client.clone() {
                None => out.realm.push(r),
                Some(c) => by_client.entry(c).or_default().push(r),
            }
        }
        for (uuid, roles) in by_client {
            if let Some(c) = tx.client_by_uuid(&uuid).await? {
                out.clients.push((c, roles));
            }
        }
        out.clients
            .sort_by(|a, b| a.0.client_id.cmp(&b.0.client_id));
        Ok(out)
    }

    /// Direct mappings in one scope (`client: None` for realm roles).
    pub async fn mappings(
        &self,
        holder: &Holder,
        client: Option<&str>,
    ) -> Result<Vec<Role>, AppError> {
        let mut tx = self.read().await?;
        let h = self.holder(&mut tx, holder).await?;
        let scope = self.scope(&mut tx, client).await?.map(|c| c.id);
        Ok(self
            .direct(&mut tx, &h)
            .await?
            .into_iter()
            .filter(|r| r.client == scope)
            .collect())
    }

    /// Effective (`/composite`) mappings in one scope.
    pub async fn effective_mappings(
        &self,
        holder: &Holder,
        client: Option<&str>,
    ) -> Result<Vec<Role>, AppError> {
        let mut tx = self.read().await?;
        let h = self.holder(&mut tx, holder).await?;
        let scope = self.scope(&mut tx, client).await?.map(|c| c.id);
        Ok(self
            .effective(&mut tx, &h)
            .await?
            .into_iter()
            .filter(|r| r.client == scope)
            .collect())
    }

    /// Roles of the scope not yet effective for the holder (`/available`).
    pub async fn available_mappings(
        &self,
        holder: &Holder,
        client: Option<&str>,
    ) -> Result<Vec<Role>, AppError> {
        let mut tx = self.read().await?;
        let h = self.holder(&mut tx, holder).await?;
        let scope = self.scope(&mut tx, client).await?.map(|c| c.id);
        let held: BTreeSet<RoleId> = self
            .effective(&mut tx, &h)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        Ok(tx
            .list_roles(scope.as_ref())
            .await?
            .into_iter()
            .filter(|r| !held.contains(&r.id))
            .collect())
    }

    /// Grants the roles (idempotent); every role must exist in the scope.
    pub async fn grant(
        &self,
        holder: &Holder,
        client: Option<&str>,
        refs: &[RoleRef],
    ) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let h = self.holder(&mut tx, holder).await?;
        let scope = self.scope(&mut tx, client).await?.map(|c| c.id);
        let held: BTreeSet<RoleId> = self
            .direct(&mut tx, &h)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        for r in refs {
            let role = self.resolve(&mut tx, scope.as_ref(), r).await?;
            if held.contains(&role.id) {
                continue;
            }
            match &h {
                HolderId::User(u) => tx.grant_user_role(u, &role.id).await?,
                HolderId::Group(g) => tx.grant_group_role(g, &role.id).await?,
            }
        }
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    /// Removes the mappings (a role that is not mapped is ignored; an unknown role is 404).
    pub async fn revoke(
        &self,
        holder: &Holder,
        client: Option<&str>,
        refs: &[RoleRef],
    ) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let h = self.holder(&mut tx, holder).await?;
        let scope = self.scope(&mut tx, client).await?.map(|c| c.id);
        for r in refs {
            let role = self.resolve(&mut tx, scope.as_ref(), r).await?;
            match &h {
                HolderId::User(u) => tx.revoke_user_role(u, &role.id).await?,
                HolderId::Group(g) => tx.revoke_group_role(g, &role.id).await?,
            }
        }
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }
}

/// The roles reachable from `start` through composites, `start` included (cycles tolerated).
async fn closure(tx: &mut RealmTx, start: Vec<RoleId>) -> Result<BTreeSet<RoleId>, AppError> {
    let mut seen: BTreeSet<RoleId> = BTreeSet::new();
    let mut queue: VecDeque<RoleId> = start.into();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id.clone()) {
            continue;
        }
        for child in tx.composites_of(&id).await? {
            if !seen.contains(&child.id) {
                queue.push_back(child.id);
            }
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names() {
        assert_eq!(valid_role_name(" reader ").ok().as_deref(), Some("reader"));
        assert!(valid_role_name("").is_err());
        assert!(valid_role_name("a/b").is_err());
        assert!(valid_role_name(&"x".repeat(256)).is_err());
    }

    #[test]
    fn paging_in_memory() {
        let v: Vec<i32> = (0..10).collect();
        assert_eq!(skip_take(v.clone(), Page { first: 8, max: 5 }), vec![8, 9]);
        assert_eq!(skip_take(v, Page { first: 0, max: 0 }), Vec::<i32>::new());
    }
}
