"""Whose pack, and what goes in it: every pre-plan an agency reads by role or MOU.

Break-glass pre-plans are left out on purpose: a break-glass grant is bound to one incident and
ends with it, while a pack is carried for months; a facility that does not share with the
agency must not ride along on a laptop because the agency once had an incident there.

Everything the pack needs from the database is read here, before the answer starts (the
pre-plan documents are small dicts, mostly already in the worker's pre-plan cache); the ZIP is
then written as it is sent (archive.py), reading only the file store.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import errors
from ..access import visibility
from ..access.roles import AGENCY_ROLES, Role
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..facilities.models import Facility
from ..preplans import printing
from ..preplans.document import preplan
from . import keys


@dataclass(frozen=True)
class PackedFacility:
    id: int
    document: dict  # the pre-plan, as GET /api/v1/preplans/{id} answers it (do not change it)
    geojson: dict


@dataclass
class PackContents:
    registry: str  # where it came from (the service's base URL)
    agency_id: int
    agency_name: str
    reader: Principal  # whose view of the pre-plans: the agency's
    generated_by: str  # the caller's subject
    generated_at: datetime
    facilities: list[PackedFacility]
    names: dict  # the MOUs' parties, for the printed pages (printing.parties)

    @property
    def facility_ids(self) -> list[int]:
        return [facility.id for facility in self.facilities]

    @property
    def floor_plan_count(self) -> int:
        """Distinct floor-plan files the pre-plans list (the pack holds each content once)."""
        return len({p["sha256"] for f in self.facilities for p in f.document["floor_plans"]})


def agency_reader(
    session: Session, principal: Principal, agency_id: int | None
) -> tuple[Agency, Principal]:
    """The agency whose pack `principal` asks for, and the principal whose view it is built
    from: the caller itself for an agency user or CAD client (its own agency only), an agency
    user of `agency_id` for an administrator (who must name one)."""
    if principal.role in AGENCY_ROLES:
        if agency_id is not None and agency_id != principal.agency_id:
            raise errors.Forbidden("You may download only your own agency's pack.")
        agency = session.get(Agency, principal.agency_id)
        if agency is None:
            raise errors.NotFound("Your agency is no longer registered.")
        return agency, principal
    if principal.role != Role.ADMIN:
        raise errors.Forbidden("Only agencies (and administrators for them) download packs.")
    if agency_id is None:
        raise errors.InvalidInput(
            {"agency_id": ["An administrator names the agency whose pack to build."]},
            "The query string has invalid parameters.",
        )
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise errors.NotFound(f"No agency with id {agency_id}.")
    # Exactly what that agency reads: its MOUs' facilities, its MOUs on each pre-plan.
    reader = Principal(principal.kind, principal.id, Role.AGENCY_USER, agency_id=agency.id)
    return agency, reader


def pack_contents(
    session: Session,
    principal: Principal,
    agency: Agency,
    reader: Principal,
    registry: str,
    generated_at: datetime,
) -> PackContents:
    """The pre-plans of every live facility `reader` reads by role or MOU, in id order."""
    facility_ids = session.scalars(
        select(Facility.id)
        .where(visibility.facilities(reader), Facility.deleted_at.is_(None))
        .order_by(Facility.id)
    ).all()
    packed = []
    for facility_id in facility_ids:
        try:
            rendered, decision = preplan(session, reader, facility_id)
        except errors.NotFound:
            continue  # deleted or no longer shared since the list was read
        if decision.break_glass:
            continue  # stopped being shared meanwhile, and read through an incident: not here
        packed.append(PackedFacility(facility_id, rendered.document, rendered.geojson))
    mous = [mou for facility in packed for mou in facility.document["mous"]]
    return PackContents(
        registry=registry,
        agency_id=agency.id,
        agency_name=agency.name,
        reader=reader,
        generated_by=principal.subject,
        generated_at=generated_at,
        facilities=packed,
        names=printing.parties(session, reader, mous),
    )


def signing_key() -> Ed25519PrivateKey:
    """The configured pack-signing key (REGISTRY_PACK_SIGNING_KEY)."""
    return _signing_key(current_app.config["REGISTRY_PACK_SIGNING_KEY"])


@lru_cache(maxsize=4)
def _signing_key(text: str) -> Ed25519PrivateKey:
    return keys.load_signing_key(text)
