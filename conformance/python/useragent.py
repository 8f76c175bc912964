"""A scripted 'browser' for the authorization endpoint.

It plays the end user's part of the authorization code flow: it opens the
authorization URL that the RP (Authlib) built, fills in the server-rendered
login form (``kc-form-login``), accepts the consent page
(``kc-consent-form``) when one is shown, and stops at the redirect back to
the RP's redirect_uri -- that last redirect is never followed, its Location
(carrying ``code`` and ``state``) is handed back to the RP instead.

Cookies are carried by a ``requests.Session`` (the user agent), deliberately a
different object from the RP's ``OAuth2Session``; like a browser it sends
``Secure`` cookies back to a loopback (127.0.0.1 / localhost) server over http.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from htmlforms import find_form

HTTP_TIMEOUT = 30
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


@dataclass
class AuthorizationResult:
    # the full Location the server redirected the user agent to (redirect_uri?code=..&state=..)
    location: str
    # its query parameters (single-valued)
    params: dict[str, str]
    # which interactive pages were shown on the way: "login", "consent"
    pages: list[str] = field(default_factory=list)
    # a human-readable trace of every request, for assertion messages
    trace: list[str] = field(default_factory=list)


class AuthorizationFailed(AssertionError):
    pass


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _BrowserLikeCookiePolicy(DefaultCookiePolicy):
    """Like browsers, treat http://127.0.0.1 / localhost as a secure context, so cookies
    marked ``Secure`` are still sent back to a server on the loopback interface."""

    def return_ok_secure(self, cookie, request):
        if _is_loopback(urlsplit(request.get_full_url()).hostname or ""):
            return True
        return super().return_ok_secure(cookie, request)


class _BrowserSession(requests.Session):
    def prepare_request(self, request):
        # requests copies the session's cookies into a fresh jar with the default policy
        # before building the Cookie header, so re-do that step with the browser-like one.
        prepared = super().prepare_request(request)
        jar = requests.cookies.RequestsCookieJar(policy=_BrowserLikeCookiePolicy())
        for cookie in self.cookies:
            jar.set_cookie(cookie)
        prepared.headers.pop("Cookie", None)
        prepared.prepare_cookies(jar)
        return prepared


def new_user_agent() -> requests.Session:
    ua = _BrowserSession()
    ua.headers.update(
        {
            "User-Agent": "realmgate-conformance-browser/1.0",
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
        }
    )
    return ua


def _same_endpoint(url: str, redirect_uri: str) -> bool:
    a, b = urlsplit(url), urlsplit(redirect_uri)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


def _snippet(resp: requests.Response, n: int = 600) -> str:
    text = resp.text or ""
    return text[:n] + ("..." if len(text) > n else "")


def authorize(
    authorization_url: str,
    redirect_uri: str,
    username: str,
    password: str,
    *,
    user_agent: requests.Session | None = None,
    max_steps: int = 15,
) -> AuthorizationResult:
    """Drive the user agent from the authorization URL to the redirect back to the RP.

    Raises AuthorizationFailed (an AssertionError) with a trace when the server
    shows something unexpected, re-shows the login form after the credentials
    were submitted, or redirects back with ``error=...``.
    """
    ua = user_agent or new_user_agent()
    result = AuthorizationResult(location="", params={})
    login_submitted = False
    consent_submitted = False

    def fail(msg: str, resp: requests.Response | None = None) -> AuthorizationFailed:
        detail = "\n  ".join(result.trace)
        body = f"\nlast response body:\n{_snippet(resp)}" if resp is not None else ""
        return AuthorizationFailed(f"{msg}\ntrace:\n  {detail}{body}")

    resp = ua.get(authorization_url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    for _ in range(max_steps):
        result.trace.append(f"{resp.request.method} {resp.url} -> {resp.status_code}")

        if resp.status_code in REDIRECT_STATUSES:
            loc = resp.headers.get("Location")
            if not loc:
                raise fail(f"{resp.status_code} redirect without a Location header", resp)
            target = urljoin(resp.url, loc)
            if _same_endpoint(target, redirect_uri):
                result.location = target
                qs = parse_qs(urlsplit(target).query, keep_blank_values=True)
                result.params = {k: v[0] for k, v in qs.items()}
                if "error" in result.params:
                    raise fail(
                        "authorization endpoint redirected back with an error: "
                        f"error={result.params.get('error')!r} "
                        f"error_description={result.params.get('error_description')!r}"
                    )
                return result
            resp = ua.get(target, allow_redirects=False, timeout=HTTP_TIMEOUT)
            continue

        if resp.status_code == 200:
            login = find_form(resp.text, "kc-form-login")
            if login is not None:
                if login_submitted:
                    raise fail("the login form was shown again after submitting the credentials", resp)
                if "username" not in login.fields or "password" not in login.fields:
                    raise fail(
                        "kc-form-login has no username/password inputs "
                        f"(fields: {sorted(login.fields)})",
                        resp,
                    )
                data = dict(login.hidden)
                data["username"] = username
                data["password"] = password
                result.pages.append("login")
                login_submitted = True
                resp = ua.post(
                    login.resolved_action(resp.url),
                    data=data,
                    allow_redirects=False,
                    timeout=HTTP_TIMEOUT,
                )
                continue
            consent = find_form(resp.text, "kc-consent-form")
            if consent is not None:
                if consent_submitted:
                    raise fail("the consent form was shown again after accepting", resp)
                if ("accept", "yes") not in consent.buttons:
                    raise fail(
                        "kc-consent-form has no submit button name=accept value=yes "
                        f"(buttons: {consent.buttons})",
                        resp,
                    )
                data = dict(consent.hidden)
                data["accept"] = "yes"
                result.pages.append("consent")
                consent_submitted = True
                resp = ua.post(
                    consent.resolved_action(resp.url),
                    data=data,
                    allow_redirects=False,
                    timeout=HTTP_TIMEOUT,
                )
                continue
            raise fail("a 200 page with neither kc-form-login nor kc-consent-form", resp)

        raise fail(f"unexpected HTTP {resp.status_code} during the authorization flow", resp)

    raise fail(f"no redirect to {redirect_uri} after {max_steps} steps")
