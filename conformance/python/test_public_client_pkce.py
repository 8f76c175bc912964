"""Public client (token_endpoint_auth_method=none): PKCE S256 is what protects the code."""

import json

import pytest
from authlib.integrations.base_client import OAuthError

from rp import code_flow
from tokens import verify_id_token_authlib


def test_public_client_code_flow_with_pkce_issues_tokens_without_a_secret(realm, discovery, jwks_text):
    login = code_flow(discovery, realm, realm.public, "none")
    tok = login.token
    assert tok.get("access_token") and tok.get("id_token"), sorted(tok)
    verify_id_token_authlib(
        tok["id_token"],
        json.loads(jwks_text),
        issuer=realm.issuer,
        client_id=realm.public.client_id,
        nonce=login.nonce,
        access_token=tok["access_token"],
    )


def test_public_client_token_request_without_code_verifier_is_invalid_grant(realm, discovery):
    with pytest.raises(OAuthError) as exc:
        code_flow(discovery, realm, realm.public, "none", send_code_verifier=False)
    assert exc.value.error == "invalid_grant", exc.value


def test_public_client_token_request_with_wrong_code_verifier_is_invalid_grant(realm, discovery):
    wrong = "w" * 64  # a well-formed verifier that does not match the challenge
    with pytest.raises(OAuthError) as exc:
        code_flow(discovery, realm, realm.public, "none", send_code_verifier=wrong)
    assert exc.value.error == "invalid_grant", exc.value
