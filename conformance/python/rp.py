"""The relying party side: Authlib's OAuth2Session builds every authorization
URL (PKCE S256, state, nonce) and makes every token request."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from useragent import AuthorizationResult, authorize

HTTP_TIMEOUT = 30
SCOPE = "openid profile email"


def make_rp(discovery: dict, client, redirect_uri: str | None, auth_method: str) -> OAuth2Session:
    """An Authlib RP session for ``client`` (conftest.ClientInfo)."""
    return OAuth2Session(
        client_id=client.client_id,
        client_secret=client.secret,
        token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint=discovery["token_endpoint"],
        # Never let Authlib refresh behind our back (it would, for a token that
        # expires within `leeway` seconds, on any session.get()).
        leeway=0,
        default_timeout=HTTP_TIMEOUT,
    )


@dataclass
class Login:
    rp: OAuth2Session
    token: dict  # the token endpoint response (OAuth2Token)
    nonce: str
    state: str
    code_verifier: str
    authorization: AuthorizationResult


def start_authorization(rp: OAuth2Session, discovery: dict):
    """Authlib builds the authorization URL; returns (url, state, nonce, code_verifier)."""
    code_verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
    )
    return url, state, nonce, code_verifier


def code_flow(
    discovery: dict,
    realm,
    client,
    auth_method: str,
    *,
    send_code_verifier: str | bool = True,
) -> Login:
    """Full authorization code flow with PKCE S256 through the login (and consent) pages.

    ``send_code_verifier``: True sends the right verifier to the token endpoint,
    False sends none, a string sends that string instead.
    """
    rp = make_rp(discovery, client, realm.redirect_uri, auth_method)
    url, state, nonce, verifier = start_authorization(rp, discovery)
    assert "code_challenge=" in url and "code_challenge_method=S256" in url, url
    auth = authorize(url, realm.redirect_uri, realm.user.username, realm.user.password)
    assert auth.params.get("state") == state, f"state not echoed back: {auth.location}"
    assert auth.params.get("code"), f"no code in redirect: {auth.location}"
    kwargs = {}
    if send_code_verifier is True:
        kwargs["code_verifier"] = verifier
    elif isinstance(send_code_verifier, str):
        kwargs["code_verifier"] = send_code_verifier
    token = rp.fetch_token(
        discovery["token_endpoint"],
        authorization_response=auth.location,
        state=state,
        **kwargs,
    )
    return Login(rp, token, nonce, state, verifier, auth)
