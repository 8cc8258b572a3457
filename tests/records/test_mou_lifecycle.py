"""The two-party MOU lifecycle (issue 12, item 2; registry/mous/lifecycle.py): draft, proposed,
active once both the organization and the agency accepted, then expired, terminated or
superseded by a renewal; on both databases.

The cast (`deal`): organization Acme with a store, agency Springfield PD; Acme's manager, a
Springfield officer and CAD client; an officer of another agency and a manager of another
organization (neither is a party); an admin. "Today" comes from registry.db.utcnow, so a test
moves the clock by patching it (`clock.move(days)`), and nothing runs in between.
"""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry import db, transaction
from registry.mous.models import Mou
from registry.notifications.models import Notification
from registry.preplans.document import cache
from tests.conftest import assert_problem, count, fetch

API = "/api/v1"
REAL_UTCNOW = db.utcnow


# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def clock(monkeypatch):
    """Moves registry.db.utcnow (and so utc_today) by whole days from the real now."""

    def move(days: int) -> None:
        monkeypatch.setattr(db, "utcnow", lambda: REAL_UTCNOW() + timedelta(days=days))

    return SimpleNamespace(move=move)


def today() -> date:
    return db.utc_today()


@pytest.fixture
def deal(make):
    cache.clear()
    org, agency, other_agency = make.organization(name="Acme Stores"), make.agency(), make.agency()
    d = SimpleNamespace(org=org, agency=agency, other_agency=other_agency)
    d.facility = make.facility(org, name="Acme Downtown")
    d.accounts = {
        "admin": make.user("admin"),
        "manager": make.user("facility_manager", organization=org),
        "officer": make.user("agency_user", agency=agency),
        "cad": make.cad_client(agency),
        "outsider": make.user("agency_user", agency=other_agency),
        "other_manager": make.user("facility_manager", organization=make.organization()),
    }
    d.headers = {name: make.headers(account) for name, account in d.accounts.items()}
    d.stale = {name: make.headers(account, fresh=False) for name, account in d.accounts.items()}
    return d


def body(d, **fields) -> dict:
    return {
        "organization_id": d.org.id,
        "agency_id": d.agency.id,
        "title": "Pre-plan sharing",
        "effective_date": str(today() - timedelta(days=1)),
        "scopes": ["data_sharing"],
        **fields,
    }


def draft(client, d, who="manager", **fields) -> dict:
    response = client.post(f"{API}/mous", json=body(d, **fields), headers=d.headers[who])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def etag_of(client, d, mou_id) -> str:
    response = client.get(f"{API}/mous/{mou_id}", headers=d.headers["admin"])
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]


def post_step(client, d, mou_id, name, who, payload=None, etag=None, headers=None):
    """POST /mous/<id>/<name> as `who`, with the current ETag unless one is given."""
    sent = dict(headers or d.headers[who])
    sent["If-Match"] = etag or etag_of(client, d, mou_id)
    return client.post(f"{API}/mous/{mou_id}/{name}", json=payload or {}, headers=sent)


def step(client, d, mou_id, name, who, payload=None, status=200) -> dict:
    response = post_step(client, d, mou_id, name, who, payload)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def edit(client, d, mou_id, who, change):
    headers = {**d.headers[who], "If-Match": etag_of(client, d, mou_id)}
    return client.patch(f"{API}/mous/{mou_id}", json=change, headers=headers)


def agreed(client, d, **fields) -> dict:
    """Drafted and proposed by the organization, accepted by the agency: active."""
    mou = draft(client, d, **fields)
    step(client, d, mou["id"], "propose", "manager")
    return step(client, d, mou["id"], "accept", "officer")


def preplan_status(client, d, who) -> int:
    return client.get(f"{API}/preplans/{d.facility.id}", headers=d.headers[who]).status_code


def stored(app, mou_id) -> dict | None:
    """Every column of the MOU's row, its scopes and facilities: "unchanged" means all."""
    mou = fetch(app, Mou, mou_id)
    if mou is None:
        return None
    values = {attr.key: getattr(mou, attr.key) for attr in sa_inspect(Mou).column_attrs}
    return {**values, "scopes": mou.scopes, "facility_ids": mou.facility_ids}


def told(app, **recipient) -> list[tuple[str, int]]:
    """(kind, mou_id) of the notifications for one organization or agency, oldest first."""
    with app.app_context(), transaction.session_scope() as session:
        column, value = next(iter(recipient.items()))
        rows = session.scalars(
            select(Notification)
            .where(getattr(Notification, column) == value)
            .order_by(Notification.id)
        )
        return [(n.kind, n.mou_id) for n in rows]


def history(client, d, mou_id, who="officer") -> list[dict]:
    response = client.get(f"{API}/mous/{mou_id}/history", headers=d.headers[who])
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def audited(client, d, mou_id) -> list[tuple[str, str | None]]:
    response = client.get(
        f"{API}/audit-events",
        query_string={"action": "mou.", "record_id": mou_id, "per_page": 100},
        headers=d.headers["admin"],
    )
    assert response.status_code == 200, response.get_json()
    return [(e["action"], e["details"].get("party")) for e in response.get_json()["items"]]


# ---------------------------------------------------------------------------------------------
# The path: draft, proposed, accepted by one, active once both have


def test_an_mou_grants_only_once_both_parties_accepted_it(client, app, deal):
    d = deal
    mou = draft(client, d)
    assert (mou["status"], mou["drafting_party"], mou["in_force"]) == (
        "draft",
        "organization",
        False,
    )
    # The agency reads the draft; nothing is shared yet.
    assert client.get(f"{API}/mous/{mou['id']}", headers=d.headers["officer"]).status_code == 200
    assert preplan_status(client, d, "officer") == 404

    proposed = step(client, d, mou["id"], "propose", "manager")

    assert proposed["status"] == "proposed" and proposed["in_force"] is False
    manager_name = d.accounts["manager"].username
    assert proposed["proposed_by"] == proposed["organization_accepted_by"] == manager_name
    assert proposed["organization_accepted_at"] is not None
    assert proposed["agency_accepted_at"] is None and proposed["agency_accepted_by"] is None
    assert told(app, agency_id=d.agency.id) == [("mou_proposed", mou["id"])]
    for who in ("officer", "cad"):
        assert preplan_status(client, d, who) == 404

    active = step(client, d, mou["id"], "accept", "officer")

    assert (active["status"], active["in_force"]) == ("active", True)
    assert active["agency_accepted_by"] == d.accounts["officer"].username
    assert active["agency_accepted_at"] >= active["organization_accepted_at"]
    assert active["organization_accepted_by"] == manager_name
    assert told(app, organization_id=d.org.id) == [("mou_accepted", mou["id"])]
    for who in ("officer", "cad"):
        assert preplan_status(client, d, who) == 200
    listed = client.get(f"{API}/notifications", headers=d.headers["officer"]).get_json()
    assert [n["kind"] for n in listed["items"]] == ["mou_proposed"]

    rows = history(client, d, mou["id"])
    assert [(h["action"], h["party"]) for h in rows] == [
        ("accept", "agency"),
        ("propose", "organization"),
        ("create", "organization"),
    ]
    assert rows[0]["actor"] == f"user:{d.accounts['officer'].id}"
    assert rows[0]["changes"]["status"] == ["proposed", "active"]
    assert rows[1]["changes"]["status"] == ["draft", "proposed"]
    assert audited(client, d, mou["id"]) == [
        ("mou.accept", "agency"),
        ("mou.propose", "organization"),
        ("mou.create", None),
    ]


def test_an_agency_drafts_proposes_and_accepts_too(client, app, deal):
    d = deal
    mou = draft(client, d, who="officer")
    assert mou["drafting_party"] == "agency"
    # An agency's own draft tells it nothing about the organization it names.
    org_path = f"{API}/organizations/{d.org.id}"
    assert_problem(client.get(org_path, headers=d.headers["officer"]), 404)
    # The other party reads the draft but does not write it.
    assert client.get(f"{API}/mous/{mou['id']}", headers=d.headers["manager"]).status_code == 200
    before = stored(app, mou["id"])
    assert_problem(edit(client, d, mou["id"], "manager", {"title": "Mine now"}), 403)
    assert_problem(post_step(client, d, mou["id"], "propose", "manager"), 403)
    assert_problem(post_step(client, d, mou["id"], "accept", "manager"), 409)
    assert stored(app, mou["id"]) == before

    step(client, d, mou["id"], "propose", "officer")
    assert told(app, organization_id=d.org.id) == [("mou_proposed", mou["id"])]
    assert_problem(client.get(org_path, headers=d.headers["officer"]), 404)
    active = step(client, d, mou["id"], "accept", "manager")

    assert active["status"] == "active" and active["in_force"] is True
    assert active["proposed_by"] == active["agency_accepted_by"] == d.accounts["officer"].username
    assert preplan_status(client, d, "cad") == 200
    # The organization took part: its record is the agency's to read now.
    assert client.get(org_path, headers=d.headers["officer"]).status_code == 200


def test_an_agency_names_only_facilities_shared_with_it(client, app, make, deal):
    d = deal
    hidden, foreign = (
        make.facility(d.org, name="Acme Warehouse"),
        make.facility(make.organization()),
    )
    total = count(app, Mou)

    for facility_ids in ([hidden.id], [foreign.id], [987654]):
        response = client.post(
            f"{API}/mous",
            json=body(d, covers_all_facilities=False, facility_ids=facility_ids),
            headers=d.headers["officer"],
        )
        problem = assert_problem(response, 422, "facility_ids")
        # The same words whether the facility is the organization's, another's, or nobody's.
        assert problem["errors"]["facility_ids"] == [
            f"No facility with id {facility_ids[0]} in this MOU's organization."
        ]
    assert count(app, Mou) == total
    # The organization names its own facilities.
    listed = draft(client, d, covers_all_facilities=False, facility_ids=[hidden.id])
    assert listed["facility_ids"] == [hidden.id]


@pytest.mark.parametrize("name", ["propose", "accept", "terminate", "renew"])
def test_a_third_party_can_neither_see_nor_act_on_it(client, app, deal, name):
    d = deal
    mou = draft(client, d)
    if name != "propose":
        step(client, d, mou["id"], "propose", "manager")
    if name in ("terminate", "renew"):
        step(client, d, mou["id"], "accept", "officer")
    before, total = stored(app, mou["id"]), count(app, Mou)
    payload = {"reason": "Mine now"} if name == "terminate" else {}

    for who in ("outsider", "other_manager"):
        for path in (f"{API}/mous/{mou['id']}", f"{API}/mous/{mou['id']}/history"):
            assert_problem(client.get(path, headers=d.headers[who]), 404)
        response = post_step(client, d, mou["id"], name, who, payload)
        missing = post_step(client, d, mou["id"], name, who, payload, etag='"x"')
        assert_problem(response, 404)
        assert response.get_json()["detail"] == missing.get_json()["detail"]
        listed = client.get(f"{API}/mous", headers=d.headers[who]).get_json()
        assert listed["total"] == 0
    # The agency's CAD client reads the MOU, and is no party to it.
    assert_problem(post_step(client, d, mou["id"], name, "cad", payload), 403)
    assert (stored(app, mou["id"]), count(app, Mou)) == (before, total)


def test_no_party_accepts_for_the_other(client, app, deal):
    d = deal
    mou = draft(client, d)
    step(client, d, mou["id"], "propose", "manager")
    before = stored(app, mou["id"])

    again = post_step(client, d, mou["id"], "accept", "manager")
    assert "already" in assert_problem(again, 409)["detail"]
    posing = post_step(client, d, mou["id"], "accept", "manager", {"party": "agency"})
    assert_problem(posing, 403)
    assert_problem(post_step(client, d, mou["id"], "accept", "cad"), 403)
    # An admin acts for the party it names, and must name it.
    assert_problem(post_step(client, d, mou["id"], "accept", "admin"), 422, "party")
    assert stored(app, mou["id"]) == before

    active = step(client, d, mou["id"], "accept", "admin", {"party": "agency"})
    assert active["status"] == "active"
    assert active["agency_accepted_by"] == d.accounts["admin"].username
    assert audited(client, d, mou["id"])[0] == ("mou.accept", "agency")


# ---------------------------------------------------------------------------------------------
# Terms: a party is never bound to terms it did not accept


def test_changing_the_terms_after_one_acceptance_clears_the_other(client, app, deal):
    d = deal
    mou = draft(client, d)
    step(client, d, mou["id"], "propose", "manager")
    proposal_etag = etag_of(client, d, mou["id"])

    # The agency counters with a narrower scope: its acceptance, not the organization's.
    countered = edit(client, d, mou["id"], "officer", {"scopes": ["data_sharing", "training"]})

    assert countered.status_code == 200, countered.get_json()
    shown = countered.get_json()
    assert shown["status"] == "proposed" and shown["in_force"] is False
    assert shown["organization_accepted_at"] is None and shown["organization_accepted_by"] is None
    assert shown["agency_accepted_by"] == d.accounts["officer"].username
    assert told(app, organization_id=d.org.id) == [("mou_changed", mou["id"])]
    assert history(client, d, mou["id"])[0]["party"] == "agency"
    assert (
        "already"
        in assert_problem(post_step(client, d, mou["id"], "accept", "officer"), 409)["detail"]
    )
    # Accepting what one read before the change is refused: the terms it saw are gone.
    stale = post_step(client, d, mou["id"], "accept", "manager", etag=proposal_etag)
    assert_problem(stale, 412)
    assert fetch(app, Mou, mou["id"]).organization_accepted_at is None

    active = step(client, d, mou["id"], "accept", "manager")
    assert active["status"] == "active" and active["scopes"] == ["data_sharing", "training"]


def test_an_admins_change_to_a_proposal_clears_both_acceptances(client, app, deal):
    d = deal
    mou = draft(client, d)
    step(client, d, mou["id"], "propose", "manager")

    changed = edit(
        client, d, mou["id"], "admin", {"expiry_date": str(today() + timedelta(days=99))}
    )

    assert changed.status_code == 200, changed.get_json()
    row = fetch(app, Mou, mou["id"])
    assert (row.organization_accepted_at, row.agency_accepted_at) == (None, None)
    assert told(app, organization_id=d.org.id) == [("mou_changed", mou["id"])]
    assert told(app, agency_id=d.agency.id) == [
        ("mou_proposed", mou["id"]),
        ("mou_changed", mou["id"]),
    ]
    # The same terms sent again change nothing, and clear nothing.
    step(client, d, mou["id"], "accept", "officer")
    same = edit(client, d, mou["id"], "officer", {"title": mou["title"]})
    assert same.status_code == 200
    assert fetch(app, Mou, mou["id"]).agency_accepted_at is not None


@pytest.mark.parametrize(
    ("stage", "change", "status", "field"),
    [
        ("proposed", {"status": "active"}, 422, "status"),
        ("draft", {"status": "draft"}, 422, "status"),
        ("proposed", {"agency_id": "other"}, 422, "agency_id"),
        (
            "proposed",
            {"organization_accepted_at": "2024-01-01T00:00:00+00:00"},
            422,
            "organization_accepted_at",
        ),
        ("active", {"title": "Better terms"}, 409, None),
        ("active", {"scopes": ["data_sharing", "access_codes"]}, 409, None),
        ("terminated", {"notes": "Reopened"}, 409, None),
    ],
)
def test_what_no_patch_changes(client, app, deal, stage, change, status, field):
    d = deal
    mou = draft(client, d)
    if stage != "draft":
        step(client, d, mou["id"], "propose", "manager")
    if stage in ("active", "terminated"):
        step(client, d, mou["id"], "accept", "officer")
    if stage == "terminated":
        step(client, d, mou["id"], "terminate", "officer", {"reason": "Closed"})
    if change.get("agency_id") == "other":
        change = {"agency_id": d.other_agency.id}
    before = stored(app, mou["id"])

    response = edit(client, d, mou["id"], "manager", change)

    problem = assert_problem(response, status, field)
    if "status" in change:
        assert "/propose" in problem["errors"]["status"][0]
    if status == 409 and stage == "active":
        assert f"/mous/{mou['id']}/renew" in problem["detail"]
    assert stored(app, mou["id"]) == before


def test_only_the_drafting_party_deletes_and_only_a_draft(client, app, deal):
    d = deal
    mou = draft(client, d, who="officer")
    path = f"{API}/mous/{mou['id']}"

    def delete(who):
        return client.delete(
            path, headers={**d.headers[who], "If-Match": etag_of(client, d, mou["id"])}
        )

    assert_problem(delete("manager"), 403)
    step(client, d, mou["id"], "propose", "officer")
    assert "terminate" in assert_problem(delete("officer"), 409)["detail"]
    assert stored(app, mou["id"]) is not None

    mine = draft(client, d, who="officer")
    gone = client.delete(
        f"{API}/mous/{mine['id']}",
        headers={**d.headers["officer"], "If-Match": etag_of(client, d, mine["id"])},
    )
    assert gone.status_code == 204
    assert fetch(app, Mou, mine["id"]) is None


# ---------------------------------------------------------------------------------------------
# Every step: If-Match, fresh login, a body that is judged, nothing changed when refused


STEPS = {
    # step: (stage it applies to, who takes it, body)
    "propose": ("draft", "manager", {}),
    "accept": ("proposed", "officer", {}),
    "terminate": ("active", "officer", {"reason": "Store sold"}),
    "renew": ("active", "manager", {}),
}


def at_stage(client, d, stage) -> dict:
    mou = draft(client, d)
    if stage in ("proposed", "active"):
        step(client, d, mou["id"], "propose", "manager")
    if stage == "active":
        step(client, d, mou["id"], "accept", "officer")
    return mou


@pytest.mark.parametrize("name", list(STEPS))
def test_each_step_needs_if_match_a_fresh_login_and_a_valid_body(client, app, deal, name):
    d = deal
    stage, who, payload = STEPS[name]
    mou = at_stage(client, d, stage)
    path = f"{API}/mous/{mou['id']}/{name}"
    old_etag = etag_of(client, d, mou["id"])
    with app.app_context(), transaction.session_scope() as session:
        session.get(Mou, mou["id"]).notes = "Changed by a script"  # the version moves on
    before, total = stored(app, mou["id"]), count(app, Mou)
    told_before = count(app, Notification)

    assert_problem(client.post(path, json=payload, headers=d.headers[who]), 428)
    assert_problem(post_step(client, d, mou["id"], name, who, payload, etag=old_etag), 412)
    not_fresh = post_step(client, d, mou["id"], name, who, payload, headers=d.stale[who])
    assert assert_problem(not_fresh, 401)["type"].endswith("fresh-login-required")
    assert_problem(post_step(client, d, mou["id"], name, who, {"party": "everyone"}), 422, "party")
    assert_problem(
        post_step(client, d, mou["id"], name, who, {**payload, "extra": 1}), 422, "extra"
    )
    unsent = client.post(
        path,
        data="not json",
        content_type="text/plain",
        headers={**d.headers[who], "If-Match": etag_of(client, d, mou["id"])},
    )
    assert_problem(unsent, 415)
    if name == "terminate":
        assert_problem(post_step(client, d, mou["id"], name, who, {}), 422, "reason")
    assert (stored(app, mou["id"]), count(app, Mou)) == (before, total)
    assert count(app, Notification) == told_before

    done = post_step(client, d, mou["id"], name, who, payload)
    assert done.status_code == (201 if name == "renew" else 200), done.get_json()


@pytest.mark.parametrize(
    ("name", "stage", "who", "payload"),
    [
        ("propose", "proposed", "manager", {}),
        ("propose", "active", "manager", {}),
        ("accept", "draft", "officer", {}),
        ("accept", "active", "officer", {}),
        ("terminate", "draft", "manager", {"reason": "Never mind"}),
        ("renew", "draft", "manager", {}),
        ("renew", "proposed", "manager", {}),
    ],
)
def test_a_step_at_the_wrong_stage_is_a_409(client, app, deal, name, stage, who, payload):
    d = deal
    mou = at_stage(client, d, stage)
    before, total = stored(app, mou["id"]), count(app, Mou)

    response = post_step(client, d, mou["id"], name, who, payload)

    assert_problem(response, 409)
    assert (stored(app, mou["id"]), count(app, Mou)) == (before, total)


def test_a_proposal_whose_end_has_passed_is_not_accepted(client, app, clock, deal):
    d = deal
    mou = draft(client, d, expiry_date=str(today() + timedelta(days=2)))
    step(client, d, mou["id"], "propose", "manager")
    clock.move(3)
    before = stored(app, mou["id"])

    refused = post_step(client, d, mou["id"], "accept", "officer")

    assert "expiry date" in assert_problem(refused, 409)["detail"]
    assert stored(app, mou["id"]) == before


def test_creates_and_steps_are_idempotent(client, app, deal):
    d = deal
    headers = {**d.headers["manager"], "Idempotency-Key": "mou-1"}
    first = client.post(f"{API}/mous", json=body(d), headers=headers)
    again = client.post(f"{API}/mous", json=body(d), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(app, Mou) == 1

    mou_id = first.get_json()["id"]
    step(client, d, mou_id, "propose", "manager")
    step(client, d, mou_id, "accept", "officer")
    renew = {**d.headers["officer"], "If-Match": etag_of(client, d, mou_id), "Idempotency-Key": "r"}
    renewed = [client.post(f"{API}/mous/{mou_id}/renew", json={}, headers=renew) for _ in "ab"]
    assert [r.status_code for r in renewed] == [201, 201]
    assert renewed[0].get_json()["id"] == renewed[1].get_json()["id"]
    assert count(app, Mou) == 2


# ---------------------------------------------------------------------------------------------
# Ends: terminated, expired, superseded


def test_terminating_stops_access_at_once_even_with_the_preplan_cached(client, app, deal):
    d = deal
    mou = agreed(client, d)
    for who in ("officer", "cad"):
        assert preplan_status(client, d, who) == 200
        assert preplan_status(client, d, who) == 200  # now served from the cache
    assert any(key[0] != "mou" for key in cache.items)

    ended = step(client, d, mou["id"], "terminate", "officer", {"reason": "Contract lapsed"})

    assert (ended["status"], ended["in_force"]) == ("terminated", False)
    assert ended["terminated_by"] == d.accounts["officer"].username
    assert (ended["terminating_party"], ended["termination_reason"]) == (
        "agency",
        "Contract lapsed",
    )
    for who in ("officer", "cad"):
        assert preplan_status(client, d, who) == 404
    assert told(app, organization_id=d.org.id)[-1] == ("mou_terminated", mou["id"])
    with app.app_context(), transaction.session_scope() as session:
        message = session.scalars(
            select(Notification.message).order_by(Notification.id.desc())
        ).first()
    assert "Contract lapsed" in message
    assert history(client, d, mou["id"], "manager")[0]["action"] == "terminate"
    assert audited(client, d, mou["id"])[0] == ("mou.terminate", "agency")
    assert_problem(post_step(client, d, mou["id"], "terminate", "manager", {"reason": "x"}), 409)


def test_a_proposal_is_withdrawn_or_declined_by_terminating_it(client, app, deal):
    d = deal
    mou = draft(client, d)
    step(client, d, mou["id"], "propose", "manager")

    declined = step(client, d, mou["id"], "terminate", "officer", {"reason": "Not our area"})

    assert declined["status"] == "terminated"
    assert_problem(post_step(client, d, mou["id"], "accept", "officer"), 409)
    assert preplan_status(client, d, "officer") == 404


def test_expiry_stops_access_that_day_without_any_job(client, app, clock, deal):
    d = deal
    mou = agreed(client, d, expiry_date=str(today() + timedelta(days=1)))
    version = fetch(app, Mou, mou["id"]).version
    assert mou["days_left"] == 1

    clock.move(1)  # its last day
    shown = client.get(f"{API}/mous/{mou['id']}", headers=d.headers["officer"]).get_json()
    assert (shown["status"], shown["in_force"], shown["days_left"]) == ("active", True, 0)
    for who in ("officer", "cad"):
        assert preplan_status(client, d, who) == 200

    clock.move(2)  # the day after: no job has run, nothing was written
    for who in ("officer", "cad"):
        assert preplan_status(client, d, who) == 404
    shown = client.get(f"{API}/mous/{mou['id']}", headers=d.headers["officer"]).get_json()
    assert (shown["status"], shown["in_force"], shown["days_left"]) == ("expired", False, None)
    row = fetch(app, Mou, mou["id"])
    assert (row.status, row.version) == ("active", version)
    listed = client.get(f"{API}/mous?status=expired", headers=d.headers["officer"]).get_json()
    assert [m["id"] for m in listed["items"]] == [mou["id"]]
    # Expired is ended: nothing to terminate; it can be renewed.
    assert_problem(post_step(client, d, mou["id"], "terminate", "officer", {"reason": "x"}), 409)
    assert step(client, d, mou["id"], "renew", "officer", status=201)["status"] == "draft"


def test_a_renewal_supersedes_the_old_mou_without_a_gap_or_an_overlap(client, app, clock, deal):
    d = deal
    old = agreed(client, d, expiry_date=str(today() + timedelta(days=10)))

    renewal = step(client, d, old["id"], "renew", "officer", status=201)

    # By default from the day after the old one ends, for as long as its term.
    assert renewal["supersedes_id"] == old["id"]
    assert (renewal["status"], renewal["drafting_party"]) == ("draft", "agency")
    assert renewal["effective_date"] == str(today() + timedelta(days=11))
    assert renewal["expiry_date"] == str(today() + timedelta(days=22))
    assert renewal["scopes"] == old["scopes"]
    assert_problem(post_step(client, d, old["id"], "renew", "manager"), 409)  # one at a time
    moved = edit(client, d, renewal["id"], "officer", {"agency_id": d.other_agency.id})
    assert_problem(moved, 422, "agency_id")
    assert history(client, d, old["id"])[0]["action"] == "renew"

    step(client, d, renewal["id"], "propose", "officer")
    assert fetch(app, Mou, old["id"]).status == "active"
    active = step(client, d, renewal["id"], "accept", "manager")

    assert active["status"] == "active" and active["in_force"] is False  # from day 11
    superseded = client.get(f"{API}/mous/{old['id']}", headers=d.headers["officer"]).get_json()
    assert superseded["status"] == "superseded"
    assert superseded["superseded_on"] == renewal["effective_date"]
    assert superseded["in_force"] is True and superseded["days_left"] == 10
    assert ("supersede", "organization") in [
        (h["action"], h["party"]) for h in history(client, d, old["id"])
    ]
    for day, granting in ((0, old), (10, old), (11, active), (22, active)):
        clock.move(day)
        in_force = {
            m["id"]
            for m in client.get(
                f"{API}/mous?in_force=true", headers=d.headers["officer"]
            ).get_json()["items"]
        }
        assert in_force == {granting["id"]}, day
        assert preplan_status(client, d, "cad") == 200, day
    clock.move(23)
    assert preplan_status(client, d, "cad") == 404


def test_a_renewal_backdated_takes_over_at_once(client, app, deal):
    d = deal
    old = agreed(client, d, scopes=["data_sharing", "key_holding"])
    renewal = step(
        client,
        d,
        old["id"],
        "renew",
        "manager",
        {"effective_date": str(today() - timedelta(days=1))},
        status=201,
    )
    edit(client, d, renewal["id"], "manager", {"scopes": ["data_sharing"]})
    step(client, d, renewal["id"], "propose", "manager")
    step(client, d, renewal["id"], "accept", "officer")

    in_force = client.get(f"{API}/mous?in_force=true", headers=d.headers["officer"]).get_json()
    assert [m["id"] for m in in_force["items"]] == [renewal["id"]]
    assert fetch(app, Mou, old["id"]).status == "superseded"
    # A superseded MOU has ended: nothing to terminate or renew.
    assert_problem(post_step(client, d, old["id"], "terminate", "officer", {"reason": "x"}), 409)
    assert_problem(post_step(client, d, old["id"], "renew", "officer"), 409)


# ---------------------------------------------------------------------------------------------
# Reports: MOUs ending within 30, 60 or 90 days


def test_mous_ending_soon_are_listed_soonest_first(client, app, make, deal):
    d = deal
    ends = {}
    for days in (80, 10, 45, 120, 0):
        ends[days] = make.mou(
            d.org, d.agency, title=f"Ends in {days}", expiry_date=today() + timedelta(days=days)
        ).id
    make.mou(d.org, d.agency, title="Open-ended")
    make.mou(d.org, d.agency, title="Ended", expiry_date=today() - timedelta(days=1))
    make.mou(
        d.org, d.agency, title="Draft", status="draft", expiry_date=today() + timedelta(days=5)
    )
    make.mou(
        d.org,
        d.agency,
        title="Renewed",
        status="superseded",
        expiry_date=today() + timedelta(days=5),
    )
    elsewhere = make.mou(
        make.organization(), d.other_agency, expiry_date=today() + timedelta(days=5)
    ).id

    def ending(days, who="officer"):
        response = client.get(f"{API}/mous?ending_within_days={days}", headers=d.headers[who])
        assert response.status_code == 200, response.get_json()
        return [(m["id"], m["days_left"]) for m in response.get_json()["items"]]

    assert ending(30) == [(ends[0], 0), (ends[10], 10)]
    assert ending(60) == [(ends[0], 0), (ends[10], 10), (ends[45], 45)]
    assert ending(90, "manager") == [(ends[0], 0), (ends[10], 10), (ends[45], 45), (ends[80], 80)]
    everyone = [ends[0], elsewhere, ends[10], ends[45], ends[80]]
    assert [m for m, _ in ending(90, "admin")] == everyone
    assert ending(90, "outsider") == [(elsewhere, 5)]  # its own agency's, nobody else's
    for bad in ("0", "45", "91", "-30", "thirty", "30.0", "99999999999999999999"):
        response = client.get(f"{API}/mous?ending_within_days={bad}", headers=d.headers["officer"])
        assert_problem(response, 422, "ending_within_days")


# ---------------------------------------------------------------------------------------------
# Admins, and the migration's view of older MOUs


def test_an_admin_acts_for_the_party_it_names(client, app, deal):
    d = deal
    mou = draft(client, d, who="admin", drafting_party="agency")
    assert mou["drafting_party"] == "agency"
    assert_problem(post_step(client, d, mou["id"], "propose", "manager"), 403)
    step(client, d, mou["id"], "propose", "admin")  # for the drafting party
    assert fetch(app, Mou, mou["id"]).agency_accepted_at is not None
    assert_problem(
        post_step(client, d, mou["id"], "terminate", "admin", {"reason": "x"}), 422, "party"
    )
    active = step(client, d, mou["id"], "accept", "admin", {"party": "organization"})

    assert active["status"] == "active"
    assert [(h["action"], h["party"]) for h in history(client, d, mou["id"], "admin")][:2] == [
        ("accept", "organization"),
        ("propose", "agency"),
    ]
    refused = client.post(
        f"{API}/mous", json=body(d, drafting_party="agency"), headers=d.headers["manager"]
    )
    assert_problem(refused, 403)


def test_the_database_refuses_an_mou_that_grants_without_both_acceptances(app, deal):
    """Whatever writes the row (a script, a bug), an MOU that grants carries both acceptances."""
    unaccepted = Mou(
        organization_id=deal.org.id,
        agency_id=deal.agency.id,
        title="Signed by one",
        status="active",
        effective_date=today(),
        drafting_party="organization",
        organization_accepted_at=db.utcnow(),
        organization_accepted_by="someone",
    )
    with pytest.raises(IntegrityError), app.app_context(), transaction.session_scope() as session:
        session.add(unaccepted)
        session.flush()
    assert count(app, Mou) == 0
