//! Who may call the admin API. A bearer access token is verified with the keys of the realm that
//! issued it (named by its `iss`); the token then grants either every realm (a `master` token
//! with the realm role `admin`) or its own realm (a token whose `resource_access` carries
//! `realm-management` → `realm-admin`), as in Keycloak.

use crate::realms::{MASTER_ADMIN_ROLE, REALM_ADMIN_ROLE, REALM_MANAGEMENT};
use crate::{App, AppError};
use realmgate_oidc::claims::AccessTokenClaims;

const MASTER: &str = "master";

/// The verified caller of an admin request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    /// The realm that issued the token.
    pub realm: String,
    /// The token's `sub` (a user id, or a service-account user id).
    pub subject: String,
    /// The token's `azp`.
    pub client_id: String,
    /// May administer every realm, create and list realms.
    pub super_admin: bool,
    /// May administer its own realm.
    pub realm_admin: bool,
}

impl AdminPrincipal {
    /// Derives the grants from verified claims of a token issued by `realm`.
    pub fn from_claims(realm: &str, claims: &AccessTokenClaims) -> Self {
        let super_admin = realm == MASTER
            && claims
                .realm_access
                .roles
                .iter()
                .any(|r| r == MASTER_ADMIN_ROLE);
        let realm_admin = claims
            .resource_access
            .get(REALM_MANAGEMENT)
            .is_some_and(|l| l.roles.iter().any(|r| r == REALM_ADMIN_ROLE));
        Self {
            realm: realm.to_owned(),
            subject: claims.sub.clone(),
            client_id: claims.azp.clone(),
            super_admin,
            realm_admin,
        }
    }

    /// Whether this principal may administer the realm named `realm`.
    pub fn can_manage(&self, realm: &str) -> bool {
        self.super_admin || (self.realm_admin && self.realm == realm)
    }

    /// Whether this principal may create realms and see the whole realm list.
    pub fn can_manage_all(&self) -> bool {
        self.super_admin
    }

    /// Whether the principal holds any admin grant at all (else every admin call is a 403).
    pub fn is_admin(&self) -> bool {
        self.super_admin || self.realm_admin
    }
}

impl App {
    /// Authenticates an admin request from its `Authorization` header value.
    ///
    /// Missing, malformed, unknown-issuer, badly signed, expired or revoked tokens are
    /// `Unauthorized`; a valid token without any admin grant is `Forbidden`.
    pub async fn authenticate_admin(
        &self,
        authorization: Option<&str>,
    ) -> Result<AdminPrincipal, AppError> {
        let token = bearer_token(authorization).ok_or(AppError::Unauthorized)?;
        // The claims are read unverified only to learn which realm's keys verify them.
        let parts =
            realmgate_crypto::decode_unverified(token).map_err(|_| AppError::Unauthorized)?;
        let iss = parts
            .claims
            .get("iss")
            .and_then(|v| v.as_str())
            .ok_or(AppError::Unauthorized)?;
        let realm_name = self.realm_of_issuer(iss).ok_or(AppError::Unauthorized)?;
        let ctx = match self.realm(&realm_name).await {
            Ok(ctx) => ctx,
            Err(AppError::NotFound(_)) => return Err(AppError::Unauthorized),
            Err(e) => return Err(e),
        };
        if !ctx.realm.enabled {
            return Err(AppError::Unauthorized);
        }
        let claims = match self.verify_access_token(&ctx, token).await {
            Ok(c) => c,
            Err(
                AppError::OAuth(_)
                | AppError::Unauthorized
                | AppError::NotFound(_)
                | AppError::Invalid(_),
            ) => {
                return Err(AppError::Unauthorized);
            }
            Err(e) => return Err(e),
        };
        let principal = AdminPrincipal::from_claims(ctx.name(), &claims);
        if !principal.is_admin() {
            return Err(AppError::Forbidden);
        }
        Ok(principal)
    }

    /// The realm name in an issuer of this deployment (`{public_url}/realms/{name}`).
    fn realm_of_issuer(&self, iss: &str) -> Option<String> {
        realm_of_issuer(&self.config().public_url, iss)
    }
}

fn realm_of_issuer(public_url: &str, iss: &str) -> Option<String> {
    let rest = iss.strip_prefix(public_url)?.strip_prefix("/realms/")?;
    (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_owned())
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1).
fn bearer_token(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use realmgate_oidc::claims::RoleList;
    use std::collections::BTreeMap;

    fn claims(realm_roles: &[&str], mgmt_roles: &[&str]) -> AccessTokenClaims {
        let mut resource_access = BTreeMap::new();
        if !mgmt_roles.is_empty() {
            resource_access.insert(
                REALM_MANAGEMENT.to_owned(),
                RoleList {
                    roles: mgmt_roles.iter().map(|s| s.to_string()).collect(),
                },
            );
        }
        AccessTokenClaims {
            iss: "http://x/realms/r".into(),
            sub: "u".into(),
            aud: serde_json::Value::Null,
            exp: 0,
            iat: 0,
            jti: "j".into(),
            client_id: "admin-cli".into(),
            azp: "admin-cli".into(),
            scope: String::new(),
            auth_time: None,
            sid: None,
            acr: None,
            typ: "Bearer".into(),
            tenant_id: "t".into(),
            preferred_username: None,
            email: None,
            email_verified: None,
            name: None,
            given_name: None,
            family_name: None,
            realm_access: RoleList {
                roles: realm_roles.iter().map(|s| s.to_string()).collect(),
            },
            resource_access,
            org_id: None,
            organization: BTreeMap::new(),
            gid: None,
        }
    }

    #[test]
    fn master_admin_manages_every_realm() {
        let p = AdminPrincipal::from_claims("master", &claims(&["admin"], &[]));
        assert!(p.can_manage("master") && p.can_manage("acme") && p.can_manage_all());
    }

    #[test]
    fn admin_role_outside_master_grants_nothing() {
        let p = AdminPrincipal::from_claims("acme", &claims(&["admin"], &[]));
        assert!(!p.is_admin());
        assert!(!p.can_manage("acme"));
    }

    #[test]
    fn realm_admin_manages_only_its_realm() {
        let p = AdminPrincipal::from_claims("acme", &claims(&[], &["realm-admin"]));
        assert!(p.can_manage("acme"));
        assert!(!p.can_manage("master") && !p.can_manage("other") && !p.can_manage_all());
        let m = AdminPrincipal::from_claims("master", &claims(&[], &["realm-admin"]));
        assert!(m.can_manage("master") && !m.can_manage("acme"));
    }

    #[test]
    fn rfc6750_2_1_bearer_header() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(Some("Basic abc")), None);
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(None), None);
    }

    #[test]
    fn issuer_names_the_realm() {
        assert_eq!(
            realm_of_issuer("http://h:1", "http://h:1/realms/acme"),
            Some("acme".into())
        );
        assert_eq!(
            realm_of_issuer("http://h:1", "http://evil/realms/acme"),
            None
        );
        assert_eq!(realm_of_issuer("http://h:1", "http://h:1/realms/a/b"), None);
        assert_eq!(realm_of_issuer("http://h:1", "http://h:1/realms/"), None);
    }
}
