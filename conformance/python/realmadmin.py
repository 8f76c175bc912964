"""Minimal Keycloak-compatible admin REST client (plain ``requests``) used by the fixtures.

Only what the fixtures need: an admin token from the master realm's token
endpoint (``admin-cli`` password grant) and authenticated JSON calls under
``{URL}/admin/realms``.  Every unexpected status raises an AssertionError that
names the request and shows the response body.
"""

from __future__ import annotations

import time

import requests

HTTP_TIMEOUT = 30


class AdminError(AssertionError):
    pass


class AdminApi:
    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.http = requests.Session()
        self._token: str | None = None
        self._token_deadline = 0.0

    # -- token -------------------------------------------------------------
    def token(self) -> str:
        # Keycloak's master-realm admin tokens are short-lived (60 s by default):
        # fetch a fresh one well before the old one runs out.
        if self._token is None or time.monotonic() >= self._token_deadline:
            url = f"{self.base_url}/realms/master/protocol/openid-connect/token"
            r = self.http.post(
                url,
                data={
                    "grant_type": "password",
                    "client_id": "admin-cli",
                    "username": self.username,
                    "password": self.password,
                },
                timeout=HTTP_TIMEOUT,
            )
            if r.status_code != 200:
                raise AdminError(
                    f"admin token request POST {url} failed: HTTP {r.status_code}: {r.text[:500]}"
                )
            body = r.json()
            if "access_token" not in body:
                raise AdminError(f"admin token response has no access_token: {body}")
            self._token = body["access_token"]
            expires_in = body.get("expires_in") or 60
            self._token_deadline = time.monotonic() + max(5.0, float(expires_in) / 2)
        return self._token

    # -- requests ----------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json=None,
        params=None,
        expect: tuple[int, ...] = (200, 201, 204),
    ) -> requests.Response:
        """``path`` is relative to ``{URL}/admin/realms`` (e.g. ``/conf-x/clients``)."""
        url = f"{self.base_url}/admin/realms{path}"
        r = self.http.request(
            method,
            url,
            json=json,
            params=params,
            headers={"Authorization": f"Bearer {self.token()}", "Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
        if r.status_code not in expect:
            raise AdminError(
                f"admin API {method} {url} params={params} -> HTTP {r.status_code} "
                f"(expected one of {expect}): {r.text[:800]}"
            )
        return r

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw).json()

    # -- realm-level helpers ------------------------------------------------
    def create_realm(self, name: str, **extra) -> requests.Response:
        rep = {"realm": name, "enabled": True, "displayName": f"Conformance {name}"}
        rep.update(extra)
        r = self.request("POST", "", json=rep, expect=(201,))
        return r

    def delete_realm(self, name: str) -> None:
        self.request("DELETE", f"/{name}", expect=(204,))

    def create_client(self, realm: str, rep: dict) -> str:
        """Create a client, return its internal id (uuid) looked up via ``clients?clientId=``."""
        self.request("POST", f"/{realm}/clients", json=rep, expect=(201,))
        found = self.get(f"/{realm}/clients", params={"clientId": rep["clientId"]})
        matches = [c for c in found if c.get("clientId") == rep["clientId"]]
        if len(matches) != 1:
            raise AdminError(
                f"GET clients?clientId={rep['clientId']} returned {len(matches)} matches: {found}"
            )
        return matches[0]["id"]

    def client_secret(self, realm: str, client_uuid: str) -> str:
        cred = self.get(f"/{realm}/clients/{client_uuid}/client-secret")
        if cred.get("type") != "secret" or not cred.get("value"):
            raise AdminError(f"unexpected client-secret representation: {cred}")
        return cred["value"]

    def create_user(self, realm: str, rep: dict) -> str:
        """Create a user, return its id looked up via ``users?username=..&exact=true``."""
        self.request("POST", f"/{realm}/users", json=rep, expect=(201,))
        found = self.get(
            f"/{realm}/users", params={"username": rep["username"], "exact": "true"}
        )
        if len(found) != 1:
            raise AdminError(f"GET users?username={rep['username']}&exact=true returned {found}")
        return found[0]["id"]
