//! Clients. List and map fields are stored as JSON text; the secret only sealed.

use super::found;
use crate::row::{RowExt, flag, json, page};
use crate::{RealmTx, StoreError};
use realmgate_domain::{Client, ClientAuthMethod, ClientUuid};
use sqlx::any::AnyRow;

fn auth_method_str(m: ClientAuthMethod) -> &'static str {
    match m {
        ClientAuthMethod::Secret => "secret",
        ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        ClientAuthMethod::None => "none",
    }
}

fn auth_method_parse(s: &str) -> Result<ClientAuthMethod, StoreError> {
    match s {
        "secret" => Ok(ClientAuthMethod::Secret),
        "private_key_jwt" => Ok(ClientAuthMethod::PrivateKeyJwt),
        "none" => Ok(ClientAuthMethod::None),
        other => Err(StoreError::Corrupt(format!("auth_method: {other:?}"))),
    }
}

fn client_from_row(row: &AnyRow) -> Result<Client, StoreError> {
    Ok(Client {
        id: ClientUuid(row.text("id")?),
        client_id: row.text("client_id")?,
        name: row.opt_text("name")?,
        description: row.opt_text("description")?,
        enabled: row.flag("enabled")?,
        auth_method: auth_method_parse(&row.text("auth_method")?)?,
        secret_sealed: row.opt_blob("secret_sealed")?,
        redirect_uris: row.json("redirect_uris")?,
        post_logout_redirect_uris: row.json("post_logout_redirect_uris")?,
        web_origins: row.json("web_origins")?,
        root_url: row.opt_text("root_url")?,
        base_url: row.opt_text("base_url")?,
        bearer_only: row.flag("bearer_only")?,
        consent_required: row.flag("consent_required")?,
        standard_flow: row.flag("standard_flow")?,
        direct_access_grants: row.flag("direct_access_grants")?,
        service_accounts: row.flag("service_accounts")?,
        full_scope_allowed: row.flag("full_scope_allowed")?,
        optional_scopes: row.json("optional_scopes")?,
        default_scopes: row.json("default_scopes")?,
        attributes: row.json("attributes")?,
        created_at: row.int("created_at")?,
    })
}

/// The JSON-encoded fields of a client, in column order.
struct JsonFields([String; 6]);

impl JsonFields {
    fn of(c: &Client) -> Result<Self, StoreError> {
        Ok(Self([
            json(&c.redirect_uris)?,
            json(&c.post_logout_redirect_uris)?,
            json(&c.web_origins)?,
            json(&c.optional_scopes)?,
            json(&c.default_scopes)?,
            json(&c.attributes)?,
        ]))
    }
}

impl RealmTx {
    /// `Conflict("clients_client_id")` when the clientId is taken in this realm.
    pub async fn insert_client(&mut self, c: &Client) -> Result<(), StoreError> {
        self.config_changed();
        let JsonFields(
            [
                redirects,
                post_logout,
                origins,
                optional,
                default,
                attributes,
            ],
        ) = JsonFields::of(c)?;
        let (realm, db) = self.parts();
        sqlx::query(
            "INSERT INTO clients (realm_id, id, client_id, name, description, enabled, \
             auth_method, secret_sealed, redirect_uris, post_logout_redirect_uris, web_origins, \
             root_url, base_url, bearer_only, consent_required, standard_flow, \
             direct_access_grants, service_accounts, full_scope_allowed, optional_scopes, \
             default_scopes, attributes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23)",
        )
        .bind(realm)
        .bind(c.id.as_str())
        .bind(c.client_id.as_str())
        .bind(c.name.as_deref())
        .bind(c.description.as_deref())
        .bind(flag(c.enabled))
        .bind(auth_method_str(c.auth_method))
        .bind(c.secret_sealed.as_deref())
        .bind(redirects)
        .bind(post_logout)
        .bind(origins)
        .bind(c.root_url.as_deref())
        .bind(c.base_url.as_deref())
        .bind(flag(c.bearer_only))
        .bind(flag(c.consent_required))
        .bind(flag(c.standard_flow))
        .bind(flag(c.direct_access_grants))
        .bind(flag(c.service_accounts))
        .bind(flag(c.full_scope_allowed))
        .bind(optional)
        .bind(default)
        .bind(attributes)
        .bind(c.created_at)
        .execute(db)
        .await?;
        Ok(())
    }

    pub async fn client_by_client_id(
        &mut self,
        client_id: &str,
    ) -> Result<Option<Client>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            client_cols!(),
            " FROM clients c WHERE c.realm_id = $1 AND c.client_id = $2"
        ))
        .bind(realm)
        .bind(client_id)
        .fetch_optional(db)
        .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    pub async fn client_by_uuid(&mut self, id: &ClientUuid) -> Result<Option<Client>, StoreError> {
        let (realm, db) = self.parts();
        let row = sqlx::query(concat!(
            "SELECT ",
            client_cols!(),
            " FROM clients c WHERE c.realm_id = $1 AND c.id = $2"
        ))
        .bind(realm)
        .bind(id.as_str())
        .fetch_optional(db)
        .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    /// A page of clients ordered by clientId; `client_id` filters to that exact clientId.
    pub async fn list_clients(
        &mut self,
        client_id: Option<&str>,
        first: i64,
        max: i64,
    ) -> Result<Vec<Client>, StoreError> {
        let (limit, offset) = page(first, max);
        let (realm, db) = self.parts();
        let rows = sqlx::query(concat!(
            "SELECT ",
            client_cols!(),
            " FROM clients c WHERE c.realm_id = $1 AND ($2 IS NULL OR c.client_id = $2) \
             ORDER BY c.client_id LIMIT $3 OFFSET $4"
        ))
        .bind(realm)
        .bind(client_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
        rows.iter().map(client_from_row).collect()
    }

    /// Updates every field but `id` and `created_at`. `NotFound` if absent.
    pub async fn update_client(&mut self, c: &Client) -> Result<(), StoreError> {
        self.config_changed();
        let JsonFields(
            [
                redirects,
                post_logout,
                origins,
                optional,
                default,
                attributes,
            ],
        ) = JsonFields::of(c)?;
        let (realm, db) = self.parts();
        let done = sqlx::query(
            "UPDATE clients SET client_id = $3, name = $4, description = $5, enabled = $6, \
             auth_method = $7, secret_sealed = $8, redirect_uris = $9, \
             post_logout_redirect_uris = $10, web_origins = $11, root_url = $12, base_url = $13, \
             bearer_only = $14, consent_required = $15, standard_flow = $16, \
             direct_access_grants = $17, service_accounts = $18, full_scope_allowed = $19, \
             optional_scopes = $20, default_scopes = $21, attributes = $22 \
             WHERE realm_id = $1 AND id = $2",
        )
        .bind(realm)
        .bind(c.id.as_str())
        .bind(c.client_id.as_str())
        .bind(c.name.as_deref())
        .bind(c.description.as_deref())
        .bind(flag(c.enabled))
        .bind(auth_method_str(c.auth_method))
        .bind(c.secret_sealed.as_deref())
        .bind(redirects)
        .bind(post_logout)
        .bind(origins)
        .bind(c.root_url.as_deref())
        .bind(c.base_url.as_deref())
        .bind(flag(c.bearer_only))
        .bind(flag(c.consent_required))
        .bind(flag(c.standard_flow))
        .bind(flag(c.direct_access_grants))
        .bind(flag(c.service_accounts))
        .bind(flag(c.full_scope_allowed))
        .bind(optional)
        .bind(default)
        .bind(attributes)
        .execute(db)
        .await?;
        found(done.rows_affected())
    }

    /// Deletes the client with its roles (and their mappings), its service-account user, and its
    /// codes, token families, refresh tokens and consents (cascades). `NotFound` if absent.
    pub async fn delete_client(&mut self, id: &ClientUuid) -> Result<(), StoreError> {
        self.config_changed();
        let (realm, db) = self.parts();
        let done = sqlx::query("DELETE FROM clients WHERE realm_id = $1 AND id = $2")
            .bind(realm)
            .bind(id.as_str())
            .execute(db)
            .await?;
        found(done.rows_affected())
    }
}
