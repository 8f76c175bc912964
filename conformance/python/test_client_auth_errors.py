"""RFC 6749 5.2: a wrong client secret is invalid_client; with HTTP Basic it must be a
401 carrying WWW-Authenticate."""

import pytest
import requests
from authlib.integrations.base_client import OAuthError

from rp import make_rp

HTTP_TIMEOUT = 30


def test_wrong_secret_with_basic_auth_is_401_invalid_client_with_www_authenticate(realm, discovery):
    r = requests.post(
        discovery["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(realm.service.client_id, "definitely-not-the-secret"),
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 401, f"{r.status_code}: {r.text[:300]}"
    assert r.json().get("error") == "invalid_client", r.text
    assert r.headers.get("WWW-Authenticate"), f"no WWW-Authenticate header: {dict(r.headers)}"
    assert "application/json" in r.headers.get("Content-Type", ""), r.headers


def test_wrong_secret_with_post_auth_is_401_invalid_client(realm, discovery):
    # (RFC 6749 makes WWW-Authenticate mandatory only when the Authorization header was used)
    r = requests.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "client_credentials",
            "client_id": realm.service.client_id,
            "client_secret": "definitely-not-the-secret",
        },
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 401, f"{r.status_code}: {r.text[:300]}"
    assert r.json().get("error") == "invalid_client", r.text


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_reports_invalid_client_for_a_wrong_secret(realm, discovery, method):
    rp = make_rp(discovery, realm.service, None, method)
    rp.client_secret = "definitely-not-the-secret"
    rp.scope = None
    with pytest.raises(OAuthError) as exc:
        rp.fetch_token(discovery["token_endpoint"], grant_type="client_credentials")
    assert exc.value.error == "invalid_client", exc.value


def test_unknown_client_is_invalid_client(realm, discovery):
    r = requests.post(
        discovery["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=("no-such-client", "whatever"),
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 401, f"{r.status_code}: {r.text[:300]}"
    assert r.json().get("error") == "invalid_client", r.text
