"""The web console: pages for the people who keep the data and those who read it, over the
same services, rules and audit trail as the API (issue 13).

- web.py: the blueprint, `@page` (who is signed in, role, CSRF, the one transaction), errors as
  pages, the page's security policy;
- sessions.py: signing in and out, the session behind the cookie, fresh passwords, the form check;
- forms.py: HTML forms read through the API's own schemas, and the outcome shown next to fields;
- account.py: sign-in, sign-out, each role's start page;
- the pages of each role: manager.py with manager_contacts.py, manager_points.py and
  manager_floor_plans.py (facility managers: a facility and each part of its pre-plan),
  agency.py (agency staff), admin.py (administrators); mous.py: the MOU pages of both
  parties' people (agency staff and facility managers).
"""

from flask import Flask, current_app

from ..access.roles import Role

# Imported for their routes, which join the blueprint.
from . import (  # noqa: F401
    account,
    admin,
    agency,
    manager,
    manager_contacts,
    manager_floor_plans,
    manager_points,
    mous,
)
from .web import bp

# Each role's navigation: (endpoint, label), shown when the endpoint exists.
NAVIGATION = {
    Role.FACILITY_MANAGER: [
        ("console.dashboard", "Facilities"),
        ("console.manager_mous", "MOUs"),
    ],
    Role.AGENCY_USER: [
        ("console.search", "Look up"),
        ("console.agency_mous", "MOUs"),
        ("console.incidents", "Incidents"),
    ],
    Role.ADMIN: [
        ("console.admin_home", "Administration"),
        ("console.search", "Look up"),
    ],
    Role.AUDITOR: [],
}


def navigation(role: Role) -> list[tuple[str, str]]:
    return [(e, label) for e, label in NAVIGATION[role] if e in current_app.view_functions]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_url_rule("/", "landing", account.landing)
    app.add_template_global(navigation)
