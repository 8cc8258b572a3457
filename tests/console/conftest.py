"""The web console driven through Flask's test client: fast checks of sign-in, forms, CSRF,
roles and what the database holds afterwards. tests/browser drives the same pages in Chromium."""

import re
from html.parser import HTMLParser

import pytest

from tests.conftest import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """One browser's worth of console: its cookies, the last page it got."""

    def __init__(self, client):
        self.client = client
        self.page = None

    @property
    def html(self) -> str:
        return self.page.get_data(as_text=True)

    def get(self, path: str, **kwargs):
        self.page = self.client.get(path, **kwargs)
        return self.page

    def csrf(self) -> str:
        """The form token of the last page (every form on a page carries the same one)."""
        return CSRF.search(self.html).group(1)

    def post(self, path: str, data: dict | None = None, csrf: str | None = None, **kwargs):
        """Send a form as the browser would, with the token of the last page read."""
        data = dict(data or {})
        data.setdefault("csrf_token", csrf if csrf is not None else self.csrf())
        self.page = self.client.post(path, data=data, **kwargs)
        return self.page

    def sign_in(self, user, password: str = PASSWORD):
        self.get("/console/sign-in")
        return self.post("/console/sign-in", {"username": user.username, "password": password})

    def errors(self) -> dict:
        """Field -> message shown next to it on the last page."""
        return dict(re.findall(r'<p class="field-error" id="([^"]+)-error">([^<]*)</p>', self.html))


@pytest.fixture
def console(app):
    return Console(app.test_client())


@pytest.fixture
def other_console(app):
    """A second browser (another person, or the same person elsewhere)."""
    return Console(app.test_client())


class _FormReader(HTMLParser):
    """The fields of one form of a page, as a browser would send them untouched."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.fields = action, False, {}
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action") == self.action
        elif not self.inside:
            return
        elif tag == "input" and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            if attrs.get("type") != "submit":
                self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.fields[self._textarea] = ""
        elif tag == "select":
            self._select = attrs["name"]
            self.fields.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value", "")

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_fields(html: str, action: str) -> dict:
    """What the form posting to `action` sends when submitted as it stands."""
    reader = _FormReader(action)
    reader.feed(html)
    return reader.fields
