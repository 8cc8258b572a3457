"""Every model module, imported so that the metadata is complete: importing this module is
enough (migrations/env.py does)."""

# ruff: noqa: F401 - imported for their tables, not their names
from . import history, idempotency
from .agencies import models as agencies
from .aliases import models as aliases
from .audit import models as audit
from .auth import models as auth
from .changes import models as changes
from .console import models as console
from .contacts import models as contacts
from .facilities import models as facilities
from .floorplans import models as floorplans
from .incidents import models as incidents
from .mous import models as mous
from .notifications import models as notifications
from .organizations import models as organizations
from .preplans import models as preplans
