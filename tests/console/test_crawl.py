"""Every page a person can reach by following links, for each role: answered (no 500, a valid
status), rendered whole (no template text left over), and never showing a door code."""

import re
from collections import deque

import pytest

from tests.conftest import PASSWORD

LINK = re.compile(r'href="(/console/[^"#]*)"')
CODE = "8642#"
# Links that do something other than show a page: files, sign-out is a form, not a link.
NOT_PAGES = ("/file", "/preview", "preplan.pdf", "/static/")


@pytest.fixture
def world(make):
    organization = make.organization(name="Harbor Retail")
    facility = make.facility(organization, name="Harbor Mall")
    make.access_point(facility, name="Dock door", code=CODE)
    make.tactical_point(facility, name="North lot", lat=39.8, lon=-89.6)
    agency = make.agency(name="Harbor PD")
    make.mou(organization, agency, scopes=("data_sharing", "key_holding"))
    return {
        "facility_manager": make.user("facility_manager", organization=organization),
        "agency_user": make.user("agency_user", agency=agency),
        "admin": make.user("admin"),
        "auditor": make.user("auditor"),
    }


@pytest.mark.parametrize("role", ["facility_manager", "agency_user", "admin", "auditor"])
def test_every_linked_page_answers_whole(console, world, role):
    console.sign_in(world[role], PASSWORD)
    seen, queue = set(), deque(["/console/"])
    while queue and len(seen) < 80:
        path = queue.popleft()
        if path in seen or any(part in path for part in NOT_PAGES):
            continue
        seen.add(path)
        page = console.get(path, follow_redirects=True)
        assert page.status_code in (200, 403), (path, page.status_code)
        html = console.html
        assert "{{" not in html and "{%" not in html, path
        assert CODE not in html, path
        queue.extend(link.replace("&amp;", "&") for link in LINK.findall(html))
    assert len(seen) > 1  # the role's start page led somewhere
