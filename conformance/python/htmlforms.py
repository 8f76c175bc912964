"""Tiny stdlib-only HTML form reader for the server-rendered login/consent pages.

Realmgate (like Keycloak) renders the login page with
``<form id="kc-form-login" method="post" action="...">`` and the consent page
with ``<form id="kc-consent-form" ...>``.  A browser submits every hidden
input of the form plus what the user typed; this module finds the form by id
and returns its action, method, hidden inputs and the names of its other
fields/buttons so the tests can do the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin


@dataclass
class Form:
    id: str | None
    action: str | None
    method: str
    hidden: dict[str, str] = field(default_factory=dict)
    # name -> value for every non-hidden <input>/<button>/<select>/<textarea>
    # (value may be "" when the page provides none)
    fields: dict[str, str] = field(default_factory=dict)
    # (name, value) of every submit button (<button> or <input type=submit>)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def resolved_action(self, page_url: str) -> str:
        """The URL the browser would POST to (an empty/missing action means the page itself)."""
        return urljoin(page_url, self.action or "")


class _FormCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._current = Form(
                id=a.get("id"),
                action=a.get("action"),
                method=(a.get("method") or "get").lower(),
            )
            self.forms.append(self._current)
            return
        form = self._current
        if form is None:
            return
        name = a.get("name")
        if tag == "input":
            typ = (a.get("type") or "text").lower()
            if not name:
                return
            if typ == "hidden":
                form.hidden[name] = a.get("value", "")
            elif typ in ("submit", "image"):
                form.buttons.append((name, a.get("value", "")))
            elif typ in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields[name] = a.get("value", "on")
                else:
                    form.fields.setdefault(name, "")
            else:
                form.fields[name] = a.get("value", "")
        elif tag == "button":
            typ = (a.get("type") or "submit").lower()
            if name and typ == "submit":
                form.buttons.append((name, a.get("value", "")))
        elif tag in ("select", "textarea") and name:
            form.fields.setdefault(name, "")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def parse_forms(html: str) -> list[Form]:
    """Every <form> of the page, in document order."""
    p = _FormCollector()
    p.feed(html)
    p.close()
    return p.forms


def find_form(html: str, form_id: str) -> Form | None:
    """The form with ``id=form_id``, or None if the page has no such form."""
    for f in parse_forms(html):
        if f.id == form_id:
            return f
    return None
