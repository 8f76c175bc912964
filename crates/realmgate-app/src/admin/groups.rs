//! Groups: a tree addressed by path (`/parent/child`). Top-level listing with `subGroupCount`,
//! search returning the matching groups inside their ancestors (as Keycloak does), children,
//! create/move, rename (descendant paths follow), delete (with the subtree), members.

use super::{Page, RealmAdmin, non_empty};
use crate::AppError;
use realmgate_domain::{Attributes, Group, GroupId, User};
use realmgate_store::RealmTx;
use std::collections::{BTreeMap, BTreeSet};

/// Groups read at once for tree operations; realms rarely come close.
const GROUP_SCAN: i64 = 100_000;

/// What a caller may set on a group. `id` (create only) names an existing group to move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInput {
    pub id: Option<String>,
    pub name: Option<String>,
    /// Replaces all attributes when given.
    pub attributes: Option<Attributes>,
}

/// A group with the counts and (for search results) the subtree its representation shows.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    pub group: Group,
    pub sub_group_count: i64,
    pub sub_groups: Vec<GroupView>,
}

/// A group name: 1–255 characters without `/` (the path separator) or control characters.
fn valid_group_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 255 || name.chars().any(|c| c.is_control() || c == '/') {
        return Err(AppError::invalid(
            "group name must be 1-255 characters without '/'",
        ));
    }
    Ok(name.to_owned())
}

fn child_path(parent: Option<&Group>, name: &str) -> String {
    match parent {
        Some(p) => format!("{}/{name}", p.path),
        None => format!("/{name}"),
    }
}

/// An in-memory view of the realm's group tree.
struct Tree {
    groups: Vec<Group>,
    children: BTreeMap<Option<GroupId>, Vec<usize>>,
}

impl Tree {
    fn new(groups: Vec<Group>) -> Self {
        let mut children: BTreeMap<Option<GroupId>, Vec<usize>> = BTreeMap::new();
        for (i, g) in groups.iter().enumerate() {
            children.entry(g.parent.clone()).or_default().push(i);
        }
        Self { groups, children }
    }

    fn count(&self, parent: Option<&GroupId>) -> i64 {
        self.children
            .get(&parent.cloned())
            .map_or(0, |v| i64::try_from(v.len()).unwrap_or(i64::MAX))
    }

    fn flat(&self, g: &Group) -> GroupView {
        GroupView {
            group: g.clone(),
            sub_group_count: self.count(Some(&g.id)),
            sub_groups: vec![],
        }
    }

    /// The direct children of `parent`, ordered by name.
    fn kids(&self, parent: Option<&GroupId>) -> Vec<&Group> {
        let mut v: Vec<&Group> = self
            .children
            .get(&parent.cloned())
            .into_iter()
            .flatten()
            .filter_map(|i| self.groups.get(*i))
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// `g` with only the branches that lead to a group in `keep`.
    fn pruned(&self, g: &Group, keep: &BTreeSet<GroupId>) -> GroupView {
        let sub_groups = self
            .kids(Some(&g.id))
            .into_iter()
            .filter(|c| keep.contains(&c.id))
            .map(|c| self.pruned(c, keep))
            .collect();
        GroupView {
            group: g.clone(),
            sub_group_count: self.count(Some(&g.id)),
            sub_groups,
        }
    }

    /// The matches and all their ancestors.
    fn with_ancestors(&self, matches: impl Iterator<Item = GroupId>) -> BTreeSet<GroupId> {
        let by_id: BTreeMap<&GroupId, &Group> = self.groups.iter().map(|g| (&g.id, g)).collect();
        let mut keep = BTreeSet::new();
        for id in matches {
            let mut cur = Some(id);
            while let Some(c) = cur.take() {
                if !keep.insert(c.clone()) {
                    break;
                }
                cur = by_id.get(&c).and_then(|g| g.parent.clone());
            }
        }
        keep
    }
}

fn page_of<T>(items: Vec<T>, page: Page) -> Vec<T> {
    items
        .into_iter()
        .skip(usize::try_from(page.first).unwrap_or(0))
        .take(usize::try_from(page.max).unwrap_or(0))
        .collect()
}

fn name_matches(g: &Group, needle: &str, exact: bool) -> bool {
    if exact {
        g.name.eq_ignore_ascii_case(needle)
    } else {
        g.name.to_lowercase().contains(&needle.to_lowercase())
    }
}

impl RealmAdmin {
    /// Every group of the realm (for tree operations).
    pub(crate) async fn all_groups(&self, tx: &mut RealmTx) -> Result<Vec<Group>, AppError> {
        Ok(tx.list_groups(None, 0, GROUP_SCAN).await?)
    }

    /// The group by id, or `NotFound("group")`.
    pub(crate) async fn group_row(&self, tx: &mut RealmTx, id: &str) -> Result<Group, AppError> {
        let id = GroupId::parse(id).ok_or(AppError::NotFound("group"))?;
        tx.group_by_id(&id)
            .await?
            .ok_or(AppError::NotFound("group"))
    }

    /// `GET /groups`: top-level groups; with `search`, the top-level ancestors of the groups whose
    /// name matches, each showing the branches down to the matches.
    pub async fn list_groups(
        &self,
        search: Option<String>,
        exact: bool,
        page: Page,
    ) -> Result<Vec<GroupView>, AppError> {
        let mut tx = self.read().await?;
        let tree = Tree::new(self.all_groups(&mut tx).await?);
        let roots = tree.kids(None);
        let Some(needle) = non_empty(search) else {
            return Ok(page_of(
                roots.into_iter().map(|g| tree.flat(g)).collect(),
                page,
            ));
        };
        let keep = tree.with_ancestors(
            tree.groups
                .iter()
                .filter(|g| name_matches(g, &needle, exact))
                .map(|g| g.id.clone()),
        );
        let hits = roots
            .into_iter()
            .filter(|g| keep.contains(&g.id))
            .map(|g| tree.pruned(g, &keep))
            .collect();
        Ok(page_of(hits, page))
    }

    /// `GET /groups/count`: top-level groups (`top`) or all groups, optionally matching `search`.
    pub async fn count_groups(&self, search: Option<String>, top: bool) -> Result<i64, AppError> {
        let mut tx = self.read().await?;
        let all = self.all_groups(&mut tx).await?;
        let needle = non_empty(search);
        let n = all
            .iter()
            .filter(|g| !top || g.parent.is_none())
            .filter(|g| needle.as_deref().is_none_or(|n| name_matches(g, n, false)))
            .count();
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    pub async fn get_group(&self, id: &str) -> Result<GroupView, AppError> {
        let mut tx = self.read().await?;
        let g = self.group_row(&mut tx, id).await?;
        let tree = Tree::new(self.all_groups(&mut tx).await?);
        Ok(tree.flat(&g))
    }

    /// `GET /groups/{id}/children`.
    pub async fn child_groups(
        &self,
        id: &str,
        search: Option<String>,
        page: Page,
    ) -> Result<Vec<GroupView>, AppError> {
        let mut tx = self.read().await?;
        let parent = self.group_row(&mut tx, id).await?;
        let tree = Tree::new(self.all_groups(&mut tx).await?);
        let needle = non_empty(search);
        let kids = tree
            .kids(Some(&parent.id))
            .into_iter()
            .filter(|g| needle.as_deref().is_none_or(|n| name_matches(g, n, false)))
            .map(|g| tree.flat(g))
            .collect();
        Ok(page_of(kids, page))
    }

    /// `POST /groups` (top level) or `POST /groups/{id}/children`. With the `id` of an existing
    /// group the group moves there (Keycloak's semantics); the bool says whether it was created.
    pub async fn create_group(
        &self,
        parent: Option<&str>,
        input: GroupInput,
    ) -> Result<(Group, bool), AppError> {
        let mut tx = self.write().await?;
        let parent = match parent {
            Some(id) => Some(self.group_row(&mut tx, id).await?),
            None => None,
        };
        if let Some(existing) = non_empty(input.id.clone()) {
            let mut g = self.group_row(&mut tx, &existing).await?;
            if parent
                .as_ref()
                .is_some_and(|p| p.id == g.id || p.path.starts_with(&format!("{}/", g.path)))
            {
                return Err(AppError::invalid("a group cannot be moved below itself"));
            }
            if let Some(n) = input.name.as_deref().filter(|n| !n.trim().is_empty()) {
                g.name = valid_group_name(n)?;
            }
            g.parent = parent.as_ref().map(|p| p.id.clone());
            g.path = child_path(parent.as_ref(), &g.name);
            tx.update_group(&g).await?;
            tx.commit().await?;
            self.forget_roles().await;
            return Ok((g, false));
        }
        let name = valid_group_name(input.name.as_deref().unwrap_or(""))?;
        let g = Group {
            id: GroupId::new(),
            path: child_path(parent.as_ref(), &name),
            name,
            parent: parent.map(|p| p.id),
            attributes: input.attributes.unwrap_or_default(),
        };
        tx.insert_group(&g).await?;
        tx.commit().await?;
        Ok((g, true))
    }

    /// `PUT /groups/{id}`: rename (the subtree's paths follow) and/or replace attributes.
    pub async fn update_group(&self, id: &str, input: GroupInput) -> Result<Group, AppError> {
        let mut tx = self.write().await?;
        let mut g = self.group_row(&mut tx, id).await?;
        if let Some(n) = input.name.as_deref().filter(|n| !n.trim().is_empty()) {
            let name = valid_group_name(n)?;
            if name != g.name {
                let parent = match &g.parent {
                    Some(p) => tx.group_by_id(p).await?,
                    None => None,
                };
                g.path = child_path(parent.as_ref(), &name);
                g.name = name;
            }
        }
        if let Some(a) = input.attributes {
            g.attributes = a;
        }
        tx.update_group(&g).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// `DELETE /groups/{id}`: the group, its subgroups, their memberships and mappings.
    pub async fn delete_group(&self, id: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let g = self.group_row(&mut tx, id).await?;
        tx.delete_group(&g.id).await?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    /// `GET /groups/{id}/members`: direct members.
    pub async fn group_members(&self, id: &str, page: Page) -> Result<Vec<User>, AppError> {
        let mut tx = self.read().await?;
        let g = self.group_row(&mut tx, id).await?;
        Ok(tx.group_members(&g.id, page.first, page.max).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, parent: Option<&Group>) -> Group {
        Group {
            id: GroupId::new(),
            name: name.into(),
            parent: parent.map(|p| p.id.clone()),
            path: child_path(parent, name),
            attributes: Attributes::new(),
        }
    }

    #[test]
    fn paths_follow_parents() {
        let a = group("a", None);
        let b = group("b", Some(&a));
        assert_eq!(a.path, "/a");
        assert_eq!(b.path, "/a/b");
    }

    #[test]
    fn group_names_exclude_the_separator() {
        assert!(valid_group_name("a/b").is_err());
        assert!(valid_group_name(" ").is_err());
        assert_eq!(valid_group_name(" ops ").ok().as_deref(), Some("ops"));
    }

    #[test]
    fn tree_counts_and_search_keeps_ancestors() {
        let eng = group("eng", None);
        let backend = group("backend", Some(&eng));
        let frontend = group("frontend", Some(&eng));
        let sales = group("sales", None);
        let tree = Tree::new(vec![
            eng.clone(),
            backend.clone(),
            frontend.clone(),
            sales.clone(),
        ]);
        assert_eq!(tree.count(None), 2);
        assert_eq!(tree.count(Some(&eng.id)), 2);
        assert_eq!(tree.count(Some(&sales.id)), 0);
        let keep = tree.with_ancestors(std::iter::once(backend.id.clone()));
        assert!(
            keep.contains(&eng.id) && keep.contains(&backend.id) && !keep.contains(&frontend.id)
        );
        let view = tree.pruned(&eng, &keep);
        assert_eq!(view.sub_group_count, 2);
        assert_eq!(view.sub_groups.len(), 1);
        assert_eq!(
            view.sub_groups.first().map(|g| g.group.name.as_str()),
            Some("backend")
        );
    }
}
