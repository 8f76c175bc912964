//! Organizations (Keycloak 26's organizations API) and their members, plus our per-organization
//! member roles (`PUT /organizations/{id}/members/{userId}/roles`), which appear in tokens under
//! the `organization` claim.

use super::{Page, RealmAdmin, non_empty};
use crate::AppError;
use realmgate_domain::{Attributes, OrgDomain, OrgId, OrgMembership, Organization, User};
use realmgate_store::RealmTx;

/// Members read at once when a member search has to filter in memory.
const MEMBER_SCAN: i64 = 10_000;

/// What a caller may set on an organization; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgInput {
    pub name: Option<String>,
    pub alias: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    /// Replaces all domains when given.
    pub domains: Option<Vec<OrgDomain>>,
    /// Replaces all attributes when given.
    pub attributes: Option<Attributes>,
}

/// A member: the user and the membership (with its per-organization roles).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgMember {
    pub user: User,
    pub membership: OrgMembership,
}

fn valid_name(field: &str, s: &str) -> Result<String, AppError> {
    let s = s.trim();
    if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
        return Err(AppError::invalid(format!(
            "{field} must be 1-255 characters"
        )));
    }
    Ok(s.to_owned())
}

/// An alias appears in tokens and URLs: letters, digits, `-`, `_`, `.`.
fn valid_alias(s: &str) -> Result<String, AppError> {
    let s = valid_name("alias", s)?;
    if !s
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
    {
        return Err(AppError::invalid(
            "alias may contain letters, digits, spaces, '-', '_' and '.'",
        ));
    }
    Ok(s)
}

/// A DNS domain name, lower-cased: labels of letters, digits and `-`, at least two labels.
fn valid_domain(d: &str) -> Result<String, AppError> {
    let d = d.trim().trim_end_matches('.').to_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if d.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(AppError::invalid(format!(
            "'{d}' is not a valid domain name"
        )));
    }
    Ok(d)
}

fn valid_domains(domains: Vec<OrgDomain>) -> Result<Vec<OrgDomain>, AppError> {
    let mut out: Vec<OrgDomain> = Vec::with_capacity(domains.len());
    for d in domains {
        let name = valid_domain(&d.name)?;
        match out.iter_mut().find(|o| o.name == name) {
            Some(o) => o.verified |= d.verified,
            None => out.push(OrgDomain {
                name,
                verified: d.verified,
            }),
        }
    }
    Ok(out)
}

/// Organization role names: 1–64 characters without whitespace, deduplicated, order kept.
fn valid_org_roles(roles: Vec<String>) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::with_capacity(roles.len());
    for r in roles {
        let r = r.trim().to_owned();
        if r.is_empty() || r.len() > 64 || r.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AppError::invalid(
                "organization roles must be 1-64 characters without spaces",
            ));
        }
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

impl OrgInput {
    fn apply(self, o: &mut Organization) -> Result<(), AppError> {
        if let Some(n) = self.name {
            o.name = valid_name("name", &n)?;
        }
        if let Some(a) = non_empty(self.alias) {
            if !o.alias.is_empty() && a != o.alias {
                return Err(AppError::invalid(
                    "the alias of an organization cannot be changed",
                ));
            }
            o.alias = valid_alias(&a)?;
        }
        if let Some(d) = self.description {
            o.description = non_empty(Some(d));
        }
        if let Some(e) = self.enabled {
            o.enabled = e;
        }
        if let Some(d) = self.domains {
            o.domains = valid_domains(d)?;
        }
        if let Some(a) = self.attributes {
            o.attributes = a;
        }
        Ok(())
    }
}

impl RealmAdmin {
    async fn org_row(&self, tx: &mut RealmTx, id: &str) -> Result<Organization, AppError> {
        let id = OrgId::parse(id).ok_or(AppError::NotFound("organization"))?;
        tx.org_by_id(&id)
            .await?
            .ok_or(AppError::NotFound("organization"))
    }

    pub async fn list_orgs(
        &self,
        search: Option<String>,
        page: Page,
    ) -> Result<Vec<Organization>, AppError> {
        let mut tx = self.read().await?;
        Ok(tx
            .list_orgs(non_empty(search).as_deref(), page.first, page.max)
            .await?)
    }

    pub async fn count_orgs(&self, search: Option<String>) -> Result<i64, AppError> {
        let mut tx = self.read().await?;
        let n = tx
            .list_orgs(non_empty(search).as_deref(), 0, i64::MAX)
            .await?
            .len();
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    pub async fn get_org(&self, id: &str) -> Result<Organization, AppError> {
        let mut tx = self.read().await?;
        self.org_row(&mut tx, id).await
    }

    /// Creates an organization; its alias defaults to its name and then never changes.
    pub async fn create_org(&self, mut input: OrgInput) -> Result<Organization, AppError> {
        let name = valid_name("name", input.name.as_deref().unwrap_or(""))?;
        if non_empty(input.alias.clone()).is_none() {
            input.alias = Some(name.clone());
        }
        let mut o = Organization {
            id: OrgId::new(),
            name,
            alias: String::new(),
            description: None,
            enabled: true,
            domains: vec![],
            attributes: Attributes::new(),
            created_at: self.app().now(),
        };
        input.apply(&mut o)?;
        let mut tx = self.write().await?;
        tx.insert_org(&o).await?;
        tx.commit().await?;
        Ok(o)
    }

    pub async fn update_org(&self, id: &str, input: OrgInput) -> Result<Organization, AppError> {
        let mut tx = self.write().await?;
        let mut o = self.org_row(&mut tx, id).await?;
        input.apply(&mut o)?;
        tx.update_org(&o).await?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(o)
    }

    pub async fn delete_org(&self, id: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let o = self.org_row(&mut tx, id).await?;
        tx.delete_org(&o.id).await?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    /// `GET /organizations/{id}/members`, optionally filtered by username/email/name.
    pub async fn org_members(
        &self,
        id: &str,
        search: Option<String>,
        exact: bool,
        page: Page,
    ) -> Result<Vec<OrgMember>, AppError> {
        let mut tx = self.read().await?;
        let o = self.org_row(&mut tx, id).await?;
        let members = match non_empty(search).map(|s| s.to_lowercase()) {
            None => tx.org_members(&o.id, page.first, page.max).await?,
            Some(needle) => {
                let hit = |v: Option<&str>| {
                    v.is_some_and(|v| {
                        let v = v.to_lowercase();
                        if exact {
                            v == needle
                        } else {
                            v.contains(&needle)
                        }
                    })
                };
                tx.org_members(&o.id, 0, MEMBER_SCAN)
                    .await?
                    .into_iter()
                    .filter(|(u, _)| {
                        hit(Some(&u.username))
                            || hit(u.email.as_deref())
                            || hit(u.first_name.as_deref())
                            || hit(u.last_name.as_deref())
                    })
                    .skip(usize::try_from(page.first).unwrap_or(0))
                    .take(usize::try_from(page.max).unwrap_or(0))
                    .collect()
            }
        };
        Ok(members
            .into_iter()
            .map(|(user, membership)| OrgMember { user, membership })
            .collect())
    }

    pub async fn count_org_members(&self, id: &str) -> Result<i64, AppError> {
        let mut tx = self.read().await?;
        let o = self.org_row(&mut tx, id).await?;
        let n = tx.org_members(&o.id, 0, i64::MAX).await?.len();
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// `POST /organizations/{id}/members` with the user id: 409 when already a member.
    pub async fn add_org_member(&self, id: &str, user: &str) -> Result<OrgMember, AppError> {
        let mut tx = self.write().await?;
        let o = self.org_row(&mut tx, id).await?;
        let user = self.user_row(&mut tx, user.trim()).await?;
        if user.service_account_client.is_some() {
            return Err(AppError::invalid(
                "a service-account user cannot be an organization member",
            ));
        }
        let membership = OrgMembership {
            org_id: o.id,
            user_id: user.id.clone(),
            roles: vec![],
            created_at: self.app().now(),
        };
        tx.add_org_member(&membership).await?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(OrgMember { user, membership })
    }

    /// `GET /organizations/{id}/members/{userId}`: 404 unless a member.
    pub async fn get_org_member(&self, id: &str, user: &str) -> Result<OrgMember, AppError> {
        let mut tx = self.read().await?;
        let o = self.org_row(&mut tx, id).await?;
        let user = self.user_row(&mut tx, user).await?;
        let membership = tx
            .user_orgs(&user.id)
            .await?
            .into_iter()
            .find(|(org, _)| org.id == o.id)
            .map(|(_, m)| m)
            .ok_or(AppError::NotFound("organization member"))?;
        Ok(OrgMember { user, membership })
    }

    pub async fn remove_org_member(&self, id: &str, user: &str) -> Result<(), AppError> {
        let mut tx = self.write().await?;
        let o = self.org_row(&mut tx, id).await?;
        let user = self.user_row(&mut tx, user).await?;
        tx.remove_org_member(&o.id, &user.id)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::NotFound(_) => AppError::NotFound("organization member"),
                other => other,
            })?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(())
    }

    /// Our extension: replaces a member's organization roles.
    pub async fn set_org_member_roles(
        &self,
        id: &str,
        user: &str,
        roles: Vec<String>,
    ) -> Result<Vec<String>, AppError> {
        let roles = valid_org_roles(roles)?;
        let mut tx = self.write().await?;
        let o = self.org_row(&mut tx, id).await?;
        let user = self.user_row(&mut tx, user).await?;
        tx.set_org_member_roles(&o.id, &user.id, &roles)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::NotFound(_) => AppError::NotFound("organization member"),
                other => other,
            })?;
        tx.commit().await?;
        self.forget_roles().await;
        Ok(roles)
    }

    /// `GET /organizations/members/{userId}/organizations`.
    pub async fn member_orgs(&self, user: &str) -> Result<Vec<Organization>, AppError> {
        let mut tx = self.read().await?;
        let user = self.user_row(&mut tx, user).await?;
        Ok(tx
            .user_orgs(&user.id)
            .await?
            .into_iter()
            .map(|(o, _)| o)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Organization {
        Organization {
            id: OrgId::new(),
            name: "Acme".into(),
            alias: "acme".into(),
            description: None,
            enabled: true,
            domains: vec![],
            attributes: Attributes::new(),
            created_at: 0,
        }
    }

    #[test]
    fn domains_are_normalised_and_deduplicated() {
        let d = valid_domains(vec![
            OrgDomain {
                name: "Acme.COM.".into(),
                verified: false,
            },
            OrgDomain {
                name: "acme.com".into(),
                verified: true,
            },
        ]);
        assert_eq!(
            d.ok(),
            Some(vec![OrgDomain {
                name: "acme.com".into(),
                verified: true
            }])
        );
        for bad in ["acme", "-a.com", "a..com", "a b.com", "*.acme.com"] {
            assert!(valid_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn alias_is_fixed_after_creation() {
        let mut o = org();
        let same = OrgInput {
            alias: Some("acme".into()),
            name: Some("Acme Inc".into()),
            ..OrgInput::default()
        };
        assert!(same.apply(&mut o).is_ok());
        assert_eq!(o.name, "Acme Inc");
        let other = OrgInput {
            alias: Some("other".into()),
            ..OrgInput::default()
        };
        assert!(matches!(other.apply(&mut o), Err(AppError::Invalid(_))));
    }

    #[test]
    fn org_roles_are_validated() {
        assert_eq!(
            valid_org_roles(vec!["admin".into(), " viewer ".into(), "admin".into()]).ok(),
            Some(vec!["admin".to_owned(), "viewer".to_owned()])
        );
        assert!(valid_org_roles(vec!["a b".into()]).is_err());
        assert!(valid_org_roles(vec![String::new()]).is_err());
    }
}
