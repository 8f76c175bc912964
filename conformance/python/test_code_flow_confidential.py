"""Authorization code flow + PKCE (S256) on a confidential client (client_secret_basic),
driven by Authlib as the RP, through the server-rendered login page."""

import json

import pytest
import requests
from authlib.integrations.base_client import OAuthError

from rp import SCOPE, code_flow
from tokens import (
    left_half_hash,
    normalize_typ,
    unverified_claims,
    unverified_header,
    verify_id_token_authlib,
    verify_jwcrypto,
)


@pytest.fixture(scope="module")
def login(realm, discovery):
    return code_flow(discovery, realm, realm.confidential, "client_secret_basic")


def test_code_flow_returns_id_access_and_refresh_tokens(login):
    tok = login.token
    assert login.authorization.pages == ["login"]
    assert tok.get("token_type", "").lower() == "bearer", tok
    for k in ("access_token", "id_token", "refresh_token"):
        assert tok.get(k), f"{k} missing from token response {sorted(tok)}"
    assert isinstance(tok.get("expires_in"), int) and tok["expires_in"] > 0, tok


def test_id_token_verifies_with_authlib_jose_iss_aud_nonce_exp(login, realm, discovery, jwks_text):
    claims = verify_id_token_authlib(
        login.token["id_token"],
        json.loads(jwks_text),
        issuer=realm.issuer,
        client_id=realm.confidential.client_id,
        nonce=login.nonce,
        access_token=login.token["access_token"],
    )
    assert claims["iss"] == realm.issuer
    assert claims["nonce"] == login.nonce
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert realm.confidential.client_id in aud


def test_id_token_verifies_independently_with_jwcrypto(login, realm, keyset):
    header, claims = verify_jwcrypto(
        login.token["id_token"],
        keyset,
        {
            "iss": realm.issuer,
            "aud": realm.confidential.client_id,
            "exp": None,
            "iat": None,
            "sub": None,
            "nonce": login.nonce,
        },
    )
    assert header["alg"] == "RS256"
    assert header.get("kid"), header
    assert claims["sub"], claims


def test_id_token_sub_is_the_admin_api_user_id(login, realm):
    # Keycloak semantics: sub is the user's id as returned by the admin REST API
    assert unverified_claims(login.token["id_token"])["sub"] == realm.user.id


def test_id_token_at_hash_matches_the_access_token(login):
    id_token = login.token["id_token"]
    header = unverified_header(id_token)
    claims = unverified_claims(id_token)
    assert "at_hash" in claims, f"ID token has no at_hash: {sorted(claims)}"
    assert claims["at_hash"] == left_half_hash(login.token["access_token"], header["alg"])


def test_access_token_is_an_rfc9068_jwt_with_keycloak_claims(login, realm, keyset):
    header, claims = verify_jwcrypto(
        login.token["access_token"],
        keyset,
        {"iss": realm.issuer, "exp": None, "iat": None, "sub": None},
    )
    assert normalize_typ(header.get("typ", "")) == "application/at+jwt", header
    id_claims = unverified_claims(login.token["id_token"])
    assert claims["sub"] == id_claims["sub"]
    assert claims["azp"] == realm.confidential.client_id
    assert claims["preferred_username"] == realm.user.username
    assert "openid" in claims["scope"].split(), claims["scope"]
    assert isinstance(claims.get("realm_access", {}).get("roles"), list), claims.get("realm_access")
    assert claims.get("sid"), f"no sid claim: {sorted(claims)}"
    if "sid" in id_claims:
        assert id_claims["sid"] == claims["sid"]
    assert "tenant_id" in claims, f"no tenant_id claim: {sorted(claims)}"


def test_userinfo_returns_same_sub_and_preferred_username(login, realm, discovery):
    r = login.rp.get(discovery["userinfo_endpoint"])
    assert r.status_code == 200, f"userinfo -> {r.status_code}: {r.text[:300]}"
    info = r.json()
    assert info["sub"] == unverified_claims(login.token["id_token"])["sub"]
    assert info["preferred_username"] == realm.user.username
    assert info.get("email") == realm.user.email


def test_userinfo_without_bearer_token_is_401(discovery):
    r = requests.get(discovery["userinfo_endpoint"], timeout=30)
    assert r.status_code == 401
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), r.headers


def test_refresh_rotates_refresh_token_and_rejects_the_old_one(realm, discovery):
    login = code_flow(discovery, realm, realm.confidential, "client_secret_basic")
    old_rt = login.token["refresh_token"]
    old_at = login.token["access_token"]

    new = login.rp.refresh_token(discovery["token_endpoint"], refresh_token=old_rt)
    assert new.get("access_token") and new["access_token"] != old_at
    assert new.get("refresh_token"), f"no refresh_token in refresh response: {sorted(new)}"
    assert new["refresh_token"] != old_rt, "refresh token was not rotated"

    # the new refresh token is live ...
    r = login.rp.introspect_token(
        discovery["introspection_endpoint"], token=new["refresh_token"], token_type_hint="refresh_token"
    )
    assert r.status_code == 200, r.text
    assert r.json().get("active") is True, r.json()

    # ... and the old one is spent
    with pytest.raises(OAuthError) as exc:
        login.rp.refresh_token(discovery["token_endpoint"], refresh_token=old_rt)
    assert exc.value.error == "invalid_grant", exc.value


def test_revoked_refresh_token_introspects_inactive_and_cannot_refresh(realm, discovery):
    login = code_flow(discovery, realm, realm.confidential, "client_secret_basic")
    new = login.rp.refresh_token(discovery["token_endpoint"], refresh_token=login.token["refresh_token"])
    rt = new["refresh_token"]

    r = login.rp.revoke_token(discovery["revocation_endpoint"], token=rt, token_type_hint="refresh_token")
    assert r.status_code == 200, f"revocation -> {r.status_code}: {r.text[:300]}"

    r = login.rp.introspect_token(
        discovery["introspection_endpoint"], token=rt, token_type_hint="refresh_token"
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"active": False}

    with pytest.raises(OAuthError) as exc:
        login.rp.refresh_token(discovery["token_endpoint"], refresh_token=rt)
    assert exc.value.error == "invalid_grant", exc.value


def test_authorization_code_cannot_be_redeemed_twice(realm, discovery):
    login = code_flow(discovery, realm, realm.confidential, "client_secret_basic")
    with pytest.raises(OAuthError) as exc:
        login.rp.fetch_token(
            discovery["token_endpoint"],
            authorization_response=login.authorization.location,
            state=login.state,
            code_verifier=login.code_verifier,
        )
    assert exc.value.error == "invalid_grant", exc.value


def test_requested_scope_is_reflected_in_token_response(login):
    granted = set(login.token.get("scope", "").split())
    assert set(SCOPE.split()) <= granted, granted
