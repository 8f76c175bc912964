"""client_credentials grant on a service-account client, both client_secret_post and
client_secret_basic, as sent by Authlib."""

import pytest
import requests

from rp import make_rp
from tokens import normalize_typ, verify_jwcrypto

AUTH_METHODS = ["client_secret_post", "client_secret_basic"]


def _client_credentials(realm, discovery, method):
    rp = make_rp(discovery, realm.service, None, method)
    rp.scope = None  # no 'openid': a plain OAuth 2.0 client_credentials request
    token = rp.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    return rp, token


@pytest.mark.parametrize("method", AUTH_METHODS)
def test_client_credentials_access_token_is_at_jwt_verified_by_jwcrypto(realm, discovery, keyset, method):
    _, token = _client_credentials(realm, discovery, method)
    assert token.get("token_type", "").lower() == "bearer", token
    assert "id_token" not in token, "client_credentials must not return an ID token"
    header, claims = verify_jwcrypto(
        token["access_token"],
        keyset,
        {"iss": realm.issuer, "exp": None, "iat": None, "sub": None},
    )
    assert normalize_typ(header.get("typ", "")) == "application/at+jwt", header
    assert header["alg"] == "RS256"
    assert claims["azp"] == realm.service.client_id


@pytest.mark.parametrize("method", AUTH_METHODS)
def test_client_credentials_token_introspects_active_with_client_id(realm, discovery, method):
    rp, token = _client_credentials(realm, discovery, method)
    r = rp.introspect_token(
        discovery["introspection_endpoint"], token=token["access_token"], token_type_hint="access_token"
    )
    assert r.status_code == 200, f"introspection -> {r.status_code}: {r.text[:300]}"
    body = r.json()
    assert body.get("active") is True, body
    assert body.get("client_id") == realm.service.client_id, body


def test_introspection_without_client_authentication_is_rejected(realm, discovery):
    _, token = _client_credentials(realm, discovery, "client_secret_basic")
    r = requests.post(
        discovery["introspection_endpoint"], data={"token": token["access_token"]}, timeout=30
    )
    # RFC 7662 2.1: the endpoint MUST require client authentication (Keycloak answers 401)
    assert r.status_code in (400, 401), f"unauthenticated introspection -> {r.status_code}: {r.text[:300]}"
    assert r.json().get("active") is not True, r.text
