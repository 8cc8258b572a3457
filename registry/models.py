"""Import every model so the metadata is complete (Alembic, tests)."""


def load_all() -> None:
    from . import history as _history  # noqa: F401
    from . import idempotency as _idempotency  # noqa: F401
    from .agencies import models as _agencies  # noqa: F401
    from .aliases import models as _aliases  # noqa: F401
    from .audit import models as _audit  # noqa: F401
    from .auth import models as _auth  # noqa: F401
    from .contacts import models as _contacts  # noqa: F401
    from .facilities import models as _facilities  # noqa: F401
    from .floorplans import models as _floorplans  # noqa: F401
    from .incidents import models as _incidents  # noqa: F401
    from .mous import models as _mous  # noqa: F401
    from .notifications import models as _notifications  # noqa: F401
    from .organizations import models as _organizations  # noqa: F401
    from .preplans import models as _preplans  # noqa: F401
