"""OpenID Connect Discovery 1.0 / RFC 8414 metadata of a realm, Keycloak URL layout."""

import requests

from tokens import fetch_jwcrypto_keyset

HTTP_TIMEOUT = 30


def test_discovery_issuer_is_exactly_public_url_slash_realms_slash_name(realm, discovery):
    assert discovery["issuer"] == realm.issuer


def test_discovery_advertises_keycloak_endpoint_paths_under_the_issuer(realm, discovery):
    base = f"{realm.issuer}/protocol/openid-connect"
    expected = {
        "authorization_endpoint": f"{base}/auth",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/certs",
        "end_session_endpoint": f"{base}/logout",
        "introspection_endpoint": f"{base}/token/introspect",
        "revocation_endpoint": f"{base}/revoke",
    }
    actual = {k: discovery.get(k) for k in expected}
    assert actual == expected


def test_discovery_pkce_supports_s256_and_not_plain(discovery):
    methods = discovery.get("code_challenge_methods_supported")
    assert isinstance(methods, list), discovery
    assert "S256" in methods
    assert "plain" not in methods


def test_discovery_id_token_signing_algs_include_rs256(discovery):
    assert "RS256" in discovery.get("id_token_signing_alg_values_supported", [])


def test_discovery_required_metadata_is_present(discovery):
    assert "code" in discovery.get("response_types_supported", [])
    subject_types = discovery.get("subject_types_supported")
    assert isinstance(subject_types, list) and subject_types, subject_types
    grants = discovery.get("grant_types_supported", [])
    for g in ("authorization_code", "refresh_token", "client_credentials"):
        assert g in grants, f"{g} missing from grant_types_supported={grants}"
    auth_methods = discovery.get("token_endpoint_auth_methods_supported", [])
    for m in ("client_secret_basic", "client_secret_post"):
        assert m in auth_methods, f"{m} missing from {auth_methods}"
    assert "openid" in discovery.get("scopes_supported", ["openid"])


def test_jwks_uri_serves_an_rsa_signing_key_set_jwcrypto_can_load(discovery):
    r = requests.get(discovery["jwks_uri"], timeout=HTTP_TIMEOUT)
    assert r.status_code == 200
    assert r.headers.get("Content-Type", "").startswith("application/"), r.headers
    body = r.json()
    keys = body.get("keys")
    assert isinstance(keys, list) and keys, body
    rsa_sig = [k for k in keys if k.get("kty") == "RSA" and k.get("use", "sig") == "sig"]
    assert rsa_sig, f"no RSA signing key in {keys}"
    for k in rsa_sig:
        assert k.get("kid"), f"RSA key without kid: {k}"
        assert "d" not in k and "p" not in k, "private key material published in the JWKS!"
    keyset = fetch_jwcrypto_keyset(r.text)
    assert all(keyset.get_key(k["kid"]) is not None for k in rsa_sig)


def test_discovery_of_unknown_realm_is_404(server):
    r = requests.get(
        f"{server.url}/realms/conf-no-such-realm-xyz/.well-known/openid-configuration",
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 404
