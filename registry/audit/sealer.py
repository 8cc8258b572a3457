"""The thread that seals the audit trail in each server process (see trail.py, "Sealing").

gunicorn starts one per worker (gunicorn.conf.py, `post_worker_init`); any other server runs
`flask --app wsgi audit seal --follow` beside it instead. Sealers on every instance take turns
on the chain head without waiting for each other, so running many costs a cheap query each per
interval. Tests call `trail.seal_all` themselves.
"""

import logging
import threading

from . import trail

log = logging.getLogger(__name__)


class Sealer:
    def __init__(self, app, interval: float):
        self.app = app
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self.run_forever, name="audit-sealer", daemon=True)

    def start(self) -> "Sealer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def run_forever(self) -> None:
        factory = self.app.extensions["registry.sessionmaker"]
        while not self._stopped.wait(self.interval):
            self.seal_once(factory)

    def seal_once(self, factory) -> int:
        try:
            with self.app.app_context():
                sealed = trail.seal_all(factory)
        except trail.AuditTrailBroken:
            # Logged CRITICAL by trail.seal each time; /readyz says so too. Keep trying: an
            # operator's removing the planted row is the only fix, and sealing resumes then.
            return 0
        except Exception:
            # The database is down or restarting: the events wait (they are committed), and
            # the next round seals them.
            log.warning("audit sealing failed; retrying in %.1f s", self.interval, exc_info=True)
            return 0
        return sealed


def start(app) -> Sealer | None:
    """Start this process's sealer unless the configuration turns it off (interval 0)."""
    interval = app.config["REGISTRY_AUDIT_SEAL_INTERVAL"]
    if interval <= 0:
        return None
    sealer = Sealer(app, interval).start()
    app.extensions["registry.audit_sealer"] = sealer
    return sealer
