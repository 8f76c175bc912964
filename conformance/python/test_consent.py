"""A client with consentRequired=true: the user sees kc-consent-form after logging in and
the code is only issued once they accept."""

from rp import code_flow


def test_consent_required_client_shows_consent_page_then_issues_code(realm, discovery):
    login = code_flow(discovery, realm, realm.consent, "client_secret_basic")
    assert login.authorization.pages == ["login", "consent"], login.authorization.trace
    assert login.token.get("access_token") and login.token.get("id_token")
