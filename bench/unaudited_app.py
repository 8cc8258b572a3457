"""The registry with its audit trail detached, for the benchmark's comparison only.

The service has no switch to turn auditing off (an audit trail that can be disabled is not one);
the benchmark replaces the append here, in its own module, to measure what the trail costs per
request: events are still collected, but dropped at the commit instead of written.
"""

from registry.audit import trail
from wsgi import app

# registry/transaction.py calls trail.append(session) by module attribute.
trail.append = trail.discard

__all__ = ["app"]
