"""The roles a caller can have, and the groups of them that the access rules name."""

from enum import StrEnum


class Role(StrEnum):
    """A caller's role. Each member is its own value (a `str`), so what the database stores, the
    API shows and the tokens carry stays these very strings."""

    ADMIN = "admin"
    FACILITY_MANAGER = "facility_manager"
    AGENCY_USER = "agency_user"
    # Reads the audit trail and nothing else: who saw what is checked by someone who cannot
    # change the records (separation of duties).
    AUDITOR = "auditor"
    # A dispatch system of one agency, logging in with client credentials; never a person.
    CAD = "cad"


# A person's roles (a CAD client's is always CAD).
USER_ROLES = (Role.ADMIN, Role.FACILITY_MANAGER, Role.AGENCY_USER, Role.AUDITOR)
# Callers who act for an agency: its people and its dispatch system.
AGENCY_ROLES = (Role.AGENCY_USER, Role.CAD)
# Who may run the CAD lookup: those who dispatch or plan a response. For anyone else it would be
# an oracle (another tenant's manager learning facility names, or whose phone is a liaison's).
LOOKUP_ROLES = (Role.ADMIN, *AGENCY_ROLES)
