"""What the clock brings, found by the worker's scan: an MOU ending within 30 days and one
that expired (both parties told), a facility gone stale (its organization told); each once,
however often the scan runs. The clock is moved by patching registry.db.utcnow, as the MOU
lifecycle tests do."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry import db, transaction
from registry.contacts.models import Contact
from registry.facilities.models import Facility
from registry.notifications import scans
from registry.notifications.models import Delivery, Notification
from tests.notifications.conftest import subscribe

REAL_UTCNOW = db.utcnow


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        def move(self, days):
            monkeypatch.setattr(db, "utcnow", lambda: REAL_UTCNOW() + timedelta(days=days))

    return Clock()


def _told(app) -> list[tuple]:
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        return [(n.kind, n.organization_id, n.agency_id, n.mou_id, n.facility_id) for n in rows]


def _scan(app) -> int:
    with app.app_context():
        return scans.announce_all()


@pytest.fixture
def confirmed(app):
    """Confirm every facility now, so only what the test makes stale is."""

    def run():
        with app.app_context(), transaction.session_scope() as session:
            for facility in session.scalars(select(Facility)):
                facility.confirmed_at, facility.confirmed_by = db.utcnow(), "test"

    return run


def test_an_mou_ending_and_expiring_is_announced_once_to_both_parties(
    app, client, make, clock, confirmed
):
    org, agency = make.organization(), make.agency()
    make.facility(org)
    confirmed()
    today = date.today()
    mou = make.mou(org, agency, expiry_date=today + timedelta(days=40))
    subscribe(client, make.officer(agency), channel="email", email="watch@pd.example")
    assert _scan(app) == 0

    clock.move(11)  # 29 days left
    assert _scan(app) == 2
    assert _told(app) == [
        ("mou_ending_soon", org.id, None, mou.id, None),
        ("mou_ending_soon", None, agency.id, mou.id, None),
    ]
    # The agency's subscription got its delivery with it.
    assert [d.notification_id for d in _all(app, Delivery)] == [_ids(app)[1]]
    assert _scan(app) == 0  # again: nothing new
    clock.move(20)
    assert _scan(app) == 0  # still ending soon: already said

    clock.move(41)  # the day after its expiry date
    assert _scan(app) == 2
    assert [kind for kind, *_ in _told(app)][2:] == ["mou_expired", "mou_expired"]
    assert _scan(app) == 0
    clock.move(50)
    assert _scan(app) == 0


def test_an_mou_without_an_end_or_long_expired_is_not_announced(app, make, confirmed):
    org, agency = make.organization(), make.agency()
    make.mou(org, agency)  # no expiry date
    make.mou(
        org,
        agency,
        effective_date=date.today() - timedelta(days=400),
        expiry_date=date.today() - timedelta(days=90),
    )
    make.mou(org, agency, status="terminated", expiry_date=date.today() + timedelta(days=5))
    assert _scan(app) == 0 and _told(app) == []


def test_stale_data_is_announced_once_per_episode(app, make, clock, confirmed):
    org = make.organization()
    facility = make.facility(org, name="Main Street Store")
    contact = make.contact(facility_id=facility.id)
    confirmed()
    with app.app_context(), transaction.session_scope() as session:
        session.get(Contact, contact.id).confirmed_at = db.utcnow()
    assert _scan(app) == 0

    clock.move(181)  # contacts are stale after 180 days; the facility (365) is not
    assert _scan(app) == 1
    ((kind, org_id, _agency_id, _mou_id, facility_id),) = _told(app)
    assert (kind, org_id, facility_id) == ("data_stale", org.id, facility.id)
    assert _scan(app) == 0
    clock.move(200)
    assert _scan(app) == 0  # the same episode

    # Confirmed again, then stale again later: news again.
    with app.app_context(), transaction.session_scope() as session:
        session.get(Contact, contact.id).confirmed_at = db.utcnow()
    assert _scan(app) == 0
    clock.move(381)  # the facility went stale on day 366, the contact again on day 381
    assert _scan(app) == 1
    assert [kind for kind, *_ in _told(app)] == ["data_stale", "data_stale"]
    assert _scan(app) == 0


def test_the_worker_runs_the_scan_and_delivers_what_it_wrote(
    app, client, make, clock, confirmed, deliver, receiver
):
    org, agency = make.organization(), make.agency()
    make.facility(org)
    confirmed()
    make.mou(org, agency, expiry_date=date.today() + timedelta(days=10))
    subscribe(client, make.manager(org), url=receiver.url, kinds=["mou_ending_soon"])
    counts = deliver(announce=True)
    assert (counts["announced"], counts["delivered"]) == (2, 1)
    (arrival,) = receiver.arrivals
    assert json.loads(arrival.body)["type"] == "mou_ending_soon"
    assert deliver(announce=True) == {"delivered": 0, "failed": 0, "dead": 0, "announced": 0}


def _all(app, model):
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(select(model).order_by(model.id)).all()
        session.expunge_all()
        return rows


def _ids(app):
    return [n.id for n in _all(app, Notification)]
