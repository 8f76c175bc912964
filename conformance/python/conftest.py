"""Fixtures for the Python (Authlib RP) conformance peer.

Environment (set by ``cargo xtask test`` / conformance/run.sh):
  REALMGATE_URL             base and public URL of the server, e.g. http://127.0.0.1:40123
  REALMGATE_ADMIN_USER      master-realm admin user
  REALMGATE_ADMIN_PASSWORD  its password
  REALMGATE_STORE           sqlite|postgres (informational only)

A missing variable or an unreachable server FAILS every test with a clear
message -- nothing here ever skips.

One fresh realm ``conf-py-<random>`` is created for the whole session with a
confidential client, a public client, a service-account client, a
consent-required client and a user; it is deleted at the end.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

import pytest
import requests

from realmadmin import AdminApi
from tokens import fetch_jwcrypto_keyset

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the redirect is read, not followed
POST_LOGOUT_REDIRECT_URI = "http://127.0.0.1:9/logged-out"
HTTP_TIMEOUT = 30


@dataclass(frozen=True)
class Server:
    url: str
    admin_user: str
    admin_password: str
    store: str


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    uuid: str
    secret: str | None


@dataclass(frozen=True)
class UserInfo:
    id: str
    username: str
    password: str
    email: str


@dataclass(frozen=True)
class Realm:
    name: str
    issuer: str
    discovery_url: str
    redirect_uri: str
    confidential: ClientInfo
    public: ClientInfo
    service: ClientInfo
    consent: ClientInfo
    user: UserInfo


def _require_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.fail(
            f"{name} is not set. Run the suite through `cargo xtask test` or "
            f"`bash conformance/run.sh` with REALMGATE_URL, REALMGATE_ADMIN_USER and "
            f"REALMGATE_ADMIN_PASSWORD exported (see conformance/README.md).",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="session")
def server() -> Server:
    url = _require_env("REALMGATE_URL").rstrip("/")
    user = _require_env("REALMGATE_ADMIN_USER")
    password = _require_env("REALMGATE_ADMIN_PASSWORD")
    probe = f"{url}/realms/master/.well-known/openid-configuration"
    try:
        r = requests.get(probe, timeout=10)
    except requests.RequestException as e:
        pytest.fail(f"REALMGATE_URL={url} is unreachable ({probe}): {e}", pytrace=False)
    if r.status_code != 200:
        pytest.fail(
            f"REALMGATE_URL={url} answered HTTP {r.status_code} for {probe}: {r.text[:300]}",
            pytrace=False,
        )
    return Server(url, user, password, os.environ.get("REALMGATE_STORE", "unknown"))


@pytest.fixture(scope="session")
def admin(server: Server) -> AdminApi:
    api = AdminApi(server.url, server.admin_user, server.admin_password)
    api.token()  # fail early, in one place, if the admin login does not work
    return api


def _client_rep(client_id: str, **overrides) -> dict:
    rep = {
        "clientId": client_id,
        "name": f"conformance {client_id}",
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "clientAuthenticatorType": "client-secret",
        "standardFlowEnabled": True,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": False,
        "implicitFlowEnabled": False,
        "consentRequired": False,
        "redirectUris": [REDIRECT_URI],
        "attributes": {
            "pkce.code.challenge.method": "S256",
            "post.logout.redirect.uris": POST_LOGOUT_REDIRECT_URI + "##" + REDIRECT_URI,
        },
    }
    rep.update(overrides)
    return rep


@pytest.fixture(scope="session")
def realm(server: Server, admin: AdminApi):
    name = f"conf-py-{secrets.token_hex(4)}"
    admin.create_realm(name, organizationsEnabled=True)
    try:
        def confidential(client_id: str, **kw) -> ClientInfo:
            # Ask for a known secret, but use whatever the server reports back.
            uuid = admin.create_client(
                name, _client_rep(client_id, secret=secrets.token_urlsafe(24), **kw)
            )
            return ClientInfo(client_id, uuid, admin.client_secret(name, uuid))

        conf = confidential("conf-confidential")
        consent = confidential("conf-consent", consentRequired=True)
        service = confidential(
            "conf-service",
            standardFlowEnabled=False,
            serviceAccountsEnabled=True,
            redirectUris=[],
        )
        public_uuid = admin.create_client(
            name, _client_rep("conf-public", publicClient=True)
        )
        public = ClientInfo("conf-public", public_uuid, None)

        password = "Pw-" + secrets.token_urlsafe(12)
        user_rep = {
            "username": "alice",
            "email": "alice@example.org",
            "firstName": "Alice",
            "lastName": "Liddell",
            "enabled": True,
            "emailVerified": True,
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        }
        user_id = admin.create_user(name, user_rep)
        user = UserInfo(user_id, "alice", password, "alice@example.org")

        issuer = f"{server.url}/realms/{name}"
        setup = Realm(
            name=name,
            issuer=issuer,
            discovery_url=f"{issuer}/.well-known/openid-configuration",
            redirect_uri=REDIRECT_URI,
            confidential=conf,
            public=public,
            service=service,
            consent=consent,
            user=user,
        )
    except BaseException:
        # setup failed half-way: still try to remove the realm, but report the setup error
        try:
            admin.delete_realm(name)
        except Exception:
            pass
        raise
    yield setup
    # deleting the realm is part of the admin API contract: a failure here is an error
    admin.delete_realm(name)


@pytest.fixture(scope="session")
def discovery(realm: Realm) -> dict:
    r = requests.get(realm.discovery_url, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, f"GET {realm.discovery_url} -> {r.status_code}: {r.text[:300]}"
    return r.json()


@pytest.fixture(scope="session")
def jwks_text(discovery: dict) -> str:
    r = requests.get(discovery["jwks_uri"], timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, f"GET {discovery['jwks_uri']} -> {r.status_code}"
    return r.text


@pytest.fixture(scope="session")
def keyset(jwks_text):
    """The realm's JWK set as a jwcrypto JWKSet."""
    return fetch_jwcrypto_keyset(jwks_text)
