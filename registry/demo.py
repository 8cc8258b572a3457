"""A small, realistic demo data set: one county, three partners, four agencies."""

from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .access.roles import Role
from .agencies.models import Agency
from .auth.models import User
from .auth.passwords import create_cad_client, create_user
from .contacts.models import Contact
from .facilities import sealing
from .facilities.models import (
    AccessPoint,
    Facility,
    FacilityAlias,
    FacilityExternalId,
    TacticalPoint,
)
from .mous.models import Mou, MouScope, signed_by_both
from .organizations.models import Organization

# Demo logins printed by the README. Development only: the passwords are public.
DEMO_PASSWORD = "demo-password-1"
DEMO_CAD_CLIENT = ("springfield-cad", "demo-cad-secret-0123456789")


class DemoRefused(RuntimeError):
    """The demo data set was asked for where it must never be loaded."""


def _confirm(session: Session, site: Facility, manager: str, at: datetime) -> None:
    """Confirm the facility and its parts not confirmed yet, as `manager` at `at`."""
    parts = [site]
    for model in (Contact, AccessPoint, TacticalPoint):
        parts += session.scalars(select(model).where(model.facility_id == site.id))
    for record in parts:
        if record.confirmed_at is None:
            record.confirmed_at, record.confirmed_by = at, manager


def load_demo(session: Session) -> str:
    """Load the demo data set, unless it is there already; never into a production registry,
    whose `admin` would then log in with the password the README publishes."""
    if current_app.config["REGISTRY_ENV"] == "production":
        raise DemoRefused(
            "Refusing to load the demo data set: REGISTRY_ENV is production, and the demo "
            "accounts' passwords are published in the README. Nothing was written."
        )
    if session.scalar(select(User).where(User.username == "admin")) is not None:
        return "demo data already loaded"
    now = datetime.now(UTC)

    police = Agency(
        name="Springfield Police Department",
        agency_type="law_enforcement",
        ori="IL0840100",
        jurisdiction="City of Springfield",
        state="IL",
        county_fips=["17167"],  # Sangamon County
        main_phone="+12175550100",
        dispatch_phone="+12175550111",
    )
    fire = Agency(
        name="Springfield Fire Department",
        agency_type="fire",
        fdid="84010",
        jurisdiction="City of Springfield",
        state="IL",
        county_fips=["17167"],  # Sangamon County
        main_phone="+12175550200",
    )
    ems = Agency(
        name="Sangamon County EMS",
        agency_type="ems",
        jurisdiction="Sangamon County",
        state="IL",
        county_fips=["17167"],  # Sangamon County
        main_phone="+12175550300",
    )
    mutual_aid = Agency(
        name="Chatham Police Department",
        agency_type="law_enforcement",
        ori="IL0840300",
        jurisdiction="Village of Chatham",
        state="IL",
        county_fips=["17167"],  # Sangamon County
        main_phone="+12175550400",
    )
    retailer = Organization(name="Prairie Goods Stores", kind="retailer", main_phone="+12175551000")
    mall = Organization(name="White Oaks Mall LLC", kind="mall_owner", main_phone="+12175552000")
    theater = Organization(name="Capital Theaters", kind="theater", main_phone="+12175553000")
    session.add_all([police, fire, ems, mutual_aid, retailer, mall, theater])
    session.flush()

    def facility(org, name, ftype, line1, lat, lon, **extra):
        record = Facility(
            organization_id=org.id,
            name=name,
            facility_type=ftype,
            address_line1=line1,
            city="Springfield",
            state="IL",
            postal_code=extra.pop("postal_code", "62704"),
            lat=lat,
            lon=lon,
            **extra,
        )
        record.refresh_match_keys()  # what the CAD lookup searches
        return record

    store = facility(
        retailer,
        "Prairie Goods #1432",
        "retail_store",
        "123 N Main St",
        39.8017,
        -89.6436,
        address_line2="Ste 4",
        postal_code="62701",
        main_phone="+12175551432",
        occupancy=900,
        opening_hours="Mo-Su 07:00-23:00",
        stories_above_grade=1,
        has_sprinklers=True,
        has_fire_alarm=True,
        hazards="Pool chemicals and propane cylinders in garden centre (north-east corner).",
        cctv_notes="Monitors in the asset-protection office behind customer service.",
        bleeding_control_kit_locations="Customer service desk; pharmacy; break room.",
        aed_locations="Front entrance vestibule; pharmacy.",
    )
    mall_site = facility(
        mall,
        "White Oaks Mall",
        "shopping_mall",
        "2501 W Wabash Ave",
        39.7706,
        -89.7119,
        main_phone="+12175552001",
        occupancy=12000,
        opening_hours="Mo-Sa 10:00-21:00; Su 11:00-18:00",
        stories_above_grade=2,
        has_sprinklers=True,
        has_fire_alarm=True,
        security_office_notes="Security office on level 1 near the food court; staffed 24/7.",
        aed_locations="Each mall entrance; food court; security office.",
    )
    cinema = facility(
        theater,
        "Capital 12 Cinema",
        "theater",
        "3000 Dirksen Pkwy",
        39.7570,
        -89.6040,
        postal_code="62703",
        occupancy=2400,
        stories_above_grade=1,
        has_sprinklers=True,
    )
    # What call-takers type instead of an address, and the PSAP's own premise ids.
    mall_site.alias_rows = [FacilityAlias(alias="White Oaks")]
    store.external_ids = [FacilityExternalId(system="springfield-cad", external_id="P-1432")]
    session.add_all([store, mall_site, cinema])
    session.flush()

    dock = AccessPoint(
        facility=store,
        kind="loading_dock",
        name="Receiving dock (north)",
        lat=39.8020,
        lon=-89.6437,
        level="Ground",
        notes="Roll-up door; night crew can open it.",
    )
    knox_box = AccessPoint(
        facility=store, kind="key_box", name="Knox box at main entrance", level="Ground"
    )
    alarm_panel = AccessPoint(
        facility=mall_site,
        kind="fire_alarm_panel",
        name="FACP east service corridor",
        level="Level 1",
    )
    session.add_all(
        [
            AccessPoint(
                facility=store,
                kind="entrance",
                name="Main entrance (south)",
                lat=39.8015,
                lon=-89.6436,
                level="Ground",
            ),
            dock,
            knox_box,
            AccessPoint(
                facility=mall_site,
                kind="security_office",
                name="Mall security office",
                level="Level 1",
                description="CCTV for all common areas.",
            ),
            alarm_panel,
            TacticalPoint(
                facility=store,
                kind="staging_area",
                name="East parking lot",
                lat=39.8017,
                lon=-89.6425,
            ),
            TacticalPoint(
                facility=store,
                kind="casualty_collection_point",
                name="Garden centre gate",
                lat=39.8019,
                lon=-89.6431,
            ),
            TacticalPoint(
                facility=mall_site,
                kind="reunification_site",
                name="Cinema lobby (outside wing)",
                lat=39.7712,
                lon=-89.7125,
            ),
            TacticalPoint(
                facility=mall_site,
                kind="command_post",
                name="Ring road at entrance 3",
                lat=39.7700,
                lon=-89.7110,
            ),
        ]
    )
    # Sealed once the points have the ids their secrets are bound to (facilities/sealing.py).
    session.flush()
    sealing.seal_new(session, dock, {"code": "2468#"})
    sealing.seal_new(
        session,
        knox_box,
        {"key_location": "Knox box left of the south doors, 1.5 m up; master key ring #1"},
    )
    sealing.seal_new(
        session,
        alarm_panel,
        {"code": "5150", "key_location": "Panel key in the security office lock box"},
    )
    session.add_all(
        [
            Contact(
                facility=store,
                name="Dana Ruiz",
                role="Store manager",
                call_order=1,
                available_24_7=False,
                phones=[{"kind": "mobile", "number": "+12175554001"}],
                # Confirmed long ago: past the contacts' 180 days, the pre-plan says stale.
                confirmed_at=now - timedelta(days=200),
                confirmed_by="manager.prairie",
            ),
            Contact(
                facility=store,
                name="Asset protection on duty",
                role="Asset protection",
                call_order=1,
                available_24_7=True,
                phones=[{"kind": "desk", "number": "+12175554002"}],
            ),
            Contact(
                facility=mall_site,
                name="Mall security dispatch",
                role="Security",
                call_order=1,
                available_24_7=True,
                phones=[{"kind": "desk", "number": "+12175552010"}],
            ),
            Contact(
                organization_id=retailer.id,
                name="Lee Park",
                role="Regional security director",
                email="lee.park@example.com",
                call_order=2,
                phones=[{"kind": "mobile", "number": "+12175551010"}],
            ),
            Contact(
                agency_id=police.id,
                name="Sgt. Morgan Hale",
                role="Community liaison",
                call_order=1,
                phones=[{"kind": "office", "number": "+12175550150"}],
            ),
        ]
    )
    session.flush()
    # Confirmed by their managers weeks ago. Capital Theaters has no manager yet: nothing of
    # its cinema was ever confirmed, and its pre-plan says so.
    for site, manager in ((store, "manager.prairie"), (mall_site, "manager.mall")):
        _confirm(session, site, manager, now - timedelta(days=20))
    today = date.today()
    session.add_all(
        [
            Mou(
                organization_id=retailer.id,
                agency_id=police.id,
                title="Prairie Goods / Springfield PD data sharing",
                status="active",
                **signed_by_both(
                    "manager.prairie", "officer.springfield", now - timedelta(days=370)
                ),
                effective_date=today - timedelta(days=365),
                expiry_date=today + timedelta(days=365),
                scope_rows=[
                    MouScope(scope="data_sharing"),
                    MouScope(scope="training"),
                    # Springfield PD may reveal the store's door codes and key locations.
                    MouScope(scope="key_holding"),
                ],
            ),
            Mou(
                organization_id=mall.id,
                agency_id=police.id,
                title="White Oaks Mall / Springfield PD",
                status="active",
                **signed_by_both("manager.mall", "officer.springfield", now - timedelta(days=101)),
                effective_date=today - timedelta(days=100),
                scope_rows=[MouScope(scope="data_sharing"), MouScope(scope="cctv_access")],
            ),
            Mou(
                organization_id=mall.id,
                agency_id=fire.id,
                title="White Oaks Mall / Springfield FD (draft)",
                status="draft",
                effective_date=today,
                scope_rows=[MouScope(scope="data_sharing")],
            ),
        ]
    )
    session.flush()

    logins = [
        ("admin", Role.ADMIN, {}),
        ("manager.prairie", Role.FACILITY_MANAGER, {"organization_id": retailer.id}),
        ("manager.mall", Role.FACILITY_MANAGER, {"organization_id": mall.id}),
        ("officer.springfield", Role.AGENCY_USER, {"agency_id": police.id}),
        ("officer.chatham", Role.AGENCY_USER, {"agency_id": mutual_aid.id}),
    ]
    for username, role, binding in logins:
        create_user(session, username=username, password=DEMO_PASSWORD, role=role, **binding)
    client_id, secret = DEMO_CAD_CLIENT
    create_cad_client(
        session,
        client_id=client_id,
        agency_id=police.id,
        name="Springfield PSAP CAD",
        secret=secret,
    )
    return "demo data loaded: 3 organizations, 3 facilities, 4 agencies, 5 users, 1 CAD client"
