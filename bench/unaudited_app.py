"""The registry with its audit trail detached, for the benchmark's comparison only.

The service has no switch to turn auditing off (an audit trail that can be disabled is not one);
the benchmark removes the commit hook here, in its own module, to measure what the trail costs
per request: events are still collected, but never written.
"""

from sqlalchemy import event
from sqlalchemy.orm import Session

from registry.audit import trail
from wsgi import app

event.remove(Session, "before_commit", trail._append_pending)

__all__ = ["app"]
