"""Users and CAD clients, managed by administrators only."""

from sqlalchemy import or_

from .. import errors, history
from ..access import visibility
from ..access.roles import Role
from ..agencies.models import Agency
from ..crud import RecordService, contains
from ..db import utcnow
from ..organizations.models import Organization
from .models import CadClient, User
from .passwords import check_password_strength, create_cad_client, hash_secret


def _ends_sessions(record, data: dict, binding: tuple[str, ...]) -> bool:
    """Whether `data` disables an existing account or changes its role or binding: then every
    token issued before must stop working (identity._issued_after_cutoff)."""
    if record.id is None:
        return False
    if data.get("is_active") is False and record.is_active:
        return True
    return any(field in data and data[field] != getattr(record, field) for field in binding)


class UserService(RecordService):
    model = User
    noun = "user"

    def read_filter(self, principal):
        return visibility.accounts(principal)

    def assign(self, session, record, data):
        data = dict(data)
        cut_off = _ends_sessions(record, data, ("role", "organization_id", "agency_id"))
        if "password" in data:
            password = data.pop("password")
            check_password_strength(password, username=data.get("username", record.username))
            record.password_hash = hash_secret(password)
            # A stolen token is a common reason to change a password: end every session. An
            # administrator's reset is also how a locked-out person gets back in at once.
            cut_off = cut_off or record.id is not None
            record.failed_logins, record.locked_until = 0, None
        super().assign(session, record, data)
        if cut_off:
            record.tokens_valid_after = utcnow()

    def validate(self, session, record):
        self.require(session, Organization, record.organization_id, "organization_id")
        self.require(session, Agency, record.agency_id, "agency_id")
        needed = {Role.FACILITY_MANAGER: "organization_id", Role.AGENCY_USER: "agency_id"}.get(
            record.role
        )
        for field in ("organization_id", "agency_id"):
            value = getattr(record, field)
            if field == needed and value is None:
                raise errors.InvalidInput({field: [f"Required for role {record.role}."]})
            if field != needed and value is not None:
                raise errors.InvalidInput({field: [f"Must be empty for role {record.role}."]})

    def filters(self, args):
        return [
            getattr(User, name) == args[name]
            for name in ("role", "organization_id", "agency_id")
            if args.get(name) is not None
        ]

    def matching(self, text: str):
        """Users whose username, name or email contain `text` (any case): the console's
        search box."""
        return or_(
            *(contains(column, text) for column in (User.username, User.full_name, User.email))
        )

    def order_by(self):
        return (User.username,)


class CadClientService(RecordService):
    model = CadClient
    noun = "CAD client"

    def read_filter(self, principal):
        return visibility.accounts(principal)

    def create(self, session, principal, data):
        self.require(session, Agency, data["agency_id"], "agency_id")
        client, secret = create_cad_client(session, **data)
        # New credentials are a write like any other: audited (the secret's hash redacted).
        self._changed(
            session, principal, client, "create", history.diff({}, history.snapshot(client))
        )
        client.client_secret = secret  # shown once in the creation response, never stored
        return client

    def assign(self, session, record, data):
        cut_off = _ends_sessions(record, data, ("agency_id",))
        super().assign(session, record, data)
        if cut_off:
            record.tokens_valid_after = utcnow()

    def validate(self, session, record):
        self.require(session, Agency, record.agency_id, "agency_id")

    def matching(self, text: str):
        """Clients whose client id or name contain `text` (any case): the console's search box."""
        return or_(contains(CadClient.client_id, text), contains(CadClient.name, text))


users = UserService()
cad_clients = CadClientService()
