"""A facility's floor plans, for its managers: uploaded through the floor-plan service (the API's
file checks and limits), listed with a preview each, retitled and deleted; and the preview and
file routes any reader of the pre-plan may use, sent by the API's own download (visibility,
break-glass, audit, sandbox)."""

from flask import redirect, request, url_for

from .. import db, errors
from ..floorplans.downloads import download
from ..floorplans.models import FloorPlan
from ..floorplans.schemas import FloorPlanChangeSchema, FloorPlanSchema, FloorPlanUploadSchema
from ..floorplans.service import floor_plans
from . import forms
from .manager import (
    MANAGERS,
    facility_part,
    managed_facility,
    notice,
    page_args,
)
from .web import bp, page, render, signed_in

UPLOAD_FIELDS = ("building", "level_number", "level_label", "title")
PLAN_FIELDS = ("level_label", "title")
upload_schema = FloorPlanUploadSchema()
plan_change_schema = FloorPlanChangeSchema()
plan_schema = FloorPlanSchema()


@bp.route("/facilities/<int:facility_id>/floor-plans", methods=["GET", "POST"])
@page(*MANAGERS, upload_limit="REGISTRY_MAX_UPLOAD_BYTES")
def facility_floor_plans(facility_id: int):
    """The current plan of each level, with its preview, and the upload form: the file is
    checked as the API's upload checks it (floor_plans.upload), within the same limits."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = request.form

        def change():
            record = floor_plans.prepare(principal, facility)
            forms.sent_once(session, principal, sent)
            problems, data = {}, {}
            try:
                data = forms.load(upload_schema, sent, UPLOAD_FIELDS)
            except errors.InvalidInput as refused:
                problems.update(refused.errors)
            file = request.files.get("file")
            if file is None or not file.filename:
                problems["file"] = ["Choose the file of the plan (PDF, PNG, JPEG or WebP)."]
            if problems:
                raise errors.InvalidInput(problems)
            try:
                floor_plans.upload(session, principal, record, data, file)
            except (errors.UnsupportedMediaType, errors.ContentTooLarge) as refused:
                # The check's own words, beside the file's box.
                raise errors.InvalidInput({"file": [refused.detail]}) from None

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_floor_plans", facility_id=facility_id, notice="uploaded")
            )
    return render(
        "console/facility_floor_plans.html",
        outcome.status,
        facility=facility,
        listed=floor_plans.of_parent(session, principal, facility, page_args()),
        plan=None,
        values={name: sent.get(name) for name in UPLOAD_FIELDS} if sent else {},
        outcome=outcome,
        notice=notice(),
    )


@bp.route("/facilities/<int:facility_id>/floor-plans/<int:plan_id>", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_floor_plan(facility_id: int, plan_id: int):
    """One plan: its title and level label (a new file is a new upload)."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    plan = facility_part(floor_plans, facility, plan_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = request.form

        def change():
            forms.require_version(plan, sent.get("version"))
            data = forms.load(plan_change_schema, sent, PLAN_FIELDS, partial=True)
            floor_plans.update(session, principal, plan, data)

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_floor_plans", facility_id=facility_id, notice="saved")
            )
        session.refresh(plan)
    return _floor_plan_page(facility, plan, outcome, sent)


@bp.post("/facilities/<int:facility_id>/floor-plans/<int:plan_id>/delete")
@page(*MANAGERS)
def facility_floor_plan_delete(facility_id: int, plan_id: int):
    """Delete one revision (softly): the level's previous plan, if any, is current again."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    plan = facility_part(floor_plans, facility, plan_id)

    def change():
        forms.require_version(plan, request.form.get("version"))
        floor_plans.delete(session, principal, plan)

    outcome = forms.submit(change)
    if outcome.saved:
        return redirect(
            url_for("console.facility_floor_plans", facility_id=facility_id, notice="deleted")
        )
    session.refresh(plan)
    return _floor_plan_page(facility, plan, outcome, None)


def _floor_plan_page(facility, plan: FloorPlan, outcome: forms.Outcome, sent):
    return render(
        "console/facility_floor_plans.html",
        outcome.status,
        facility=facility,
        listed=None,
        plan=plan,
        values=forms.form_values(plan_schema, PLAN_FIELDS, plan, sent, outcome),
        opened=forms.opened_values(plan_schema, PLAN_FIELDS, plan, sent, outcome),
        outcome=outcome,
        unsaved=forms.unsaved_values(plan_schema, PLAN_FIELDS, plan, sent)
        if outcome.conflict and sent is not None
        else {},
        notice=notice(),
    )


@bp.get("/floor-plans/<int:plan_id>/preview")
@page()
def floor_plan_preview(plan_id: int):
    """A plan's PNG preview (a PDF's first page), for an <img>: sent by the API's download
    (its visibility, break-glass and audit event, sandboxed)."""
    return download(db.session(), signed_in().principal, floor_plans, plan_id, None, preview=True)


@bp.get("/floor-plans/<int:plan_id>/file")
@page()
def floor_plan_file(plan_id: int):
    """A plan's file, as uploaded (a download, sandboxed and audited as the API's)."""
    return download(db.session(), signed_in().principal, floor_plans, plan_id, None)
