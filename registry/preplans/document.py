"""The pre-plan: everything responders need about one facility, in one document."""

import hashlib
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, lazyload, selectinload

from .. import access, errors
from ..auth.principal import Principal
from ..contacts.models import Contact
from ..facilities.models import Facility
from ..mous.models import Mou, mou_facilities


@dataclass
class Preplan:
    facility: Facility
    contacts: list[Contact]
    mous: list[Mou]
    floor_plans: list  # filled by the floor-plan feature; no plans are stored yet

    @property
    def access_points(self):
        return self.facility.access_points

    @property
    def tactical_points(self):
        return self.facility.tactical_points

    @property
    def etag(self) -> str:
        """Changes whenever any row in the document changes (every row carries a version)."""
        rows = [self.facility, *self.contacts, *self.access_points, *self.tactical_points]
        rows += self.mous
        parts = [f"{type(r).__name__}:{r.id}:{r.version}" for r in rows]
        parts.append(f"in_force:{[m.in_force for m in self.mous]}")
        return "preplan-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def load_preplan(session: Session, principal: Principal, facility_id: int) -> Preplan:
    facility = session.scalar(
        select(Facility)
        .where(Facility.id == facility_id, access.facility_filter(principal))
        .options(
            selectinload(Facility.access_points),
            selectinload(Facility.tactical_points),
            selectinload(Facility.alias_rows),
            selectinload(Facility.external_ids),
        )
    )
    if facility is None:
        raise errors.NotFound(f"No facility with id {facility_id} is visible to you.")
    contacts = session.scalars(
        select(Contact)
        .where(Contact.facility_id == facility.id)
        .order_by(Contact.call_order, Contact.available_24_7.desc(), Contact.name, Contact.id)
    ).all()
    covers = or_(
        Mou.covers_all_facilities,
        Mou.id.in_(
            select(mou_facilities.c.mou_id).where(mou_facilities.c.facility_id == facility.id)
        ),
    )
    # The pre-plan leaves out each MOU's facility list, so it is not loaded.
    mous = (
        select(Mou)
        .where(Mou.organization_id == facility.organization_id, covers)
        .options(lazyload(Mou.facilities))
    )
    if principal.role in access.AGENCY_ROLES:
        mous = mous.where(Mou.agency_id == principal.agency_id)
    return Preplan(facility, list(contacts), list(session.scalars(mous.order_by(Mou.id))), [])


def _feature(lon, lat, properties):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def as_geojson(preplan: Preplan) -> dict:
    """Facility, access points and tactical points as GeoJSON (RFC 7946) point features.
    Points without coordinates are left out: a map layer cannot place them."""
    f = preplan.facility
    features = []
    if f.lat is not None:
        features.append(
            _feature(
                f.lon,
                f.lat,
                {
                    "feature_type": "facility",
                    "id": f.id,
                    "name": f.name,
                    "facility_type": f.facility_type,
                    "address": f.normalized_address,
                },
            )
        )
    for feature_type, points in (
        ("access_point", preplan.access_points),
        ("tactical_point", preplan.tactical_points),
    ):
        for p in points:
            if p.lat is None:
                continue
            features.append(
                _feature(
                    p.lon,
                    p.lat,
                    {
                        "feature_type": feature_type,
                        "id": p.id,
                        "kind": p.kind,
                        "name": p.name,
                        "level": p.level,
                        "facility_id": f.id,
                    },
                )
            )
    return {"type": "FeatureCollection", "features": features}
