"""The administration's start page, agencies and organizations."""

from flask import redirect, request, url_for

from ... import db
from ...agencies.models import AGENCY_TYPES
from ...agencies.schemas import AgencySchema
from ...agencies.service import agencies
from ...auth.accounts import cad_clients, users
from ...facilities.models import Facility
from ...facilities.service import facilities
from ...mous.service import mous
from ...organizations.models import ORGANIZATION_KINDS
from ...organizations.schemas import OrganizationSchema
from ...organizations.service import organizations
from .. import forms
from ..manager import page_args
from ..web import bp, page, render, signed_in
from .common import (
    ADMINS,
    NOTICES,
    create_record,
    form_values,
    get_record,
    search_text,
    typed_lists,
    update_record,
)

AGENCY_FIELDS = (
    "name",
    "agency_type",
    "ori",
    "fdid",
    "jurisdiction",
    "state",
    "county_fips",
    "main_phone",
    "dispatch_phone",
    "email",
    "notes",
)
ORGANIZATION_FIELDS = ("name", "kind", "website", "main_phone", "notes")
agency_schema = AgencySchema()
organization_schema = OrganizationSchema()


# --- the start page ---------------------------------------------------------------------------


@bp.get("/admin")
@page(*ADMINS)
def admin_home():
    """What an administrator onboards, with how many of each there are."""
    session, principal = db.session(), signed_in().principal
    first = {"page": 1, "per_page": 1}
    totals = {
        name: service.list(session, principal, first).total
        for name, service in (
            ("agencies", agencies),
            ("organizations", organizations),
            ("users", users),
            ("cad_clients", cad_clients),
            ("mous", mous),
        )
    }
    waiting = mous.list(session, principal, first, *mous.filters({"status": "proposed"})).total
    return render("console/admin_home.html", totals=totals, proposed_mous=waiting)


# --- agencies ---------------------------------------------------------------------------------


@bp.get("/admin/agencies")
@page(*ADMINS)
def admin_agencies():
    search = search_text()
    result = agencies.list(
        db.session(), signed_in().principal, page_args(), *agencies.filters({"name": search})
    )
    return render(
        "console/admin_agencies.html",
        result=result,
        search=search,
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/agencies/new", methods=["GET", "POST"])
@page(*ADMINS)
def admin_new_agency():
    return _agency_form(None)


@bp.route("/admin/agencies/<int:agency_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_agency(agency_id: int):
    return _agency_form(get_record(agencies, agency_id))


def _agency_form(record):
    outcome, shown, new = forms.Outcome(), None, record is None
    if request.method == "POST":
        shown = request.form
        sent = typed_lists(shown)
        if new:
            outcome, record = create_record(agencies, agency_schema, AGENCY_FIELDS, sent)
        else:
            outcome = update_record(agencies, agency_schema, AGENCY_FIELDS, record, sent)
        if outcome.saved:
            notice = "created" if new else "saved"
            return redirect(url_for("console.admin_agency", agency_id=record.id, notice=notice))
    return render(
        "console/admin_agency.html",
        outcome.status,
        agency=record,
        values=form_values(agency_schema, record, shown, AGENCY_FIELDS, outcome),
        outcome=outcome,
        agency_types=AGENCY_TYPES,
        notice=NOTICES.get(request.args.get("notice")),
    )


# --- organizations ----------------------------------------------------------------------------


@bp.get("/admin/organizations")
@page(*ADMINS)
def admin_organizations():
    search = search_text()
    result = organizations.list(
        db.session(), signed_in().principal, page_args(), *organizations.filters({"name": search})
    )
    return render(
        "console/admin_organizations.html",
        result=result,
        search=search,
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/organizations/new", methods=["GET", "POST"])
@page(*ADMINS)
def admin_new_organization():
    return _organization_form(None)


@bp.route("/admin/organizations/<int:organization_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_organization(organization_id: int):
    return _organization_form(get_record(organizations, organization_id))


def _organization_form(record):
    outcome, sent, new = forms.Outcome(), None, record is None
    if request.method == "POST":
        sent = request.form
        if new:
            outcome, record = create_record(
                organizations, organization_schema, ORGANIZATION_FIELDS, sent
            )
        else:
            outcome = update_record(
                organizations, organization_schema, ORGANIZATION_FIELDS, record, sent
            )
        if outcome.saved:
            notice = "created" if new else "saved"
            return redirect(
                url_for("console.admin_organization", organization_id=record.id, notice=notice)
            )
    facility_count = None
    if record is not None:
        facility_count = facilities.list(
            db.session(),
            signed_in().principal,
            {"page": 1, "per_page": 1},
            Facility.organization_id == record.id,
        ).total
    return render(
        "console/admin_organization.html",
        outcome.status,
        organization=record,
        values=form_values(organization_schema, record, sent, ORGANIZATION_FIELDS, outcome),
        outcome=outcome,
        kinds=ORGANIZATION_KINDS,
        facility_count=facility_count,
        notice=NOTICES.get(request.args.get("notice")),
    )
