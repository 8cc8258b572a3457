"""Who is calling: a user or a CAD client, with the role and the binding that limit what they see.

identity.py finds the principal of a request from its bearer token; services take it as an
argument.
"""

from dataclasses import dataclass

from ..access.roles import Role


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "cad"
    id: int
    role: Role
    organization_id: int | None = None
    agency_id: int | None = None

    def __post_init__(self):
        # The account row stores the role's value; one that names no role fails here, where
        # the caller is identified, rather than later as a caller whom no rule matches.
        object.__setattr__(self, "role", Role(self.role))

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.id}"
