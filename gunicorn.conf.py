"""gunicorn settings read from the working directory (`make run`, and production started from the
checkout): gunicorn loads ./gunicorn.conf.py by itself.

The access log leaves every query string and the referrer out: a CAD lookup's query names a
911 caller's number and position (GET …/preplans/lookup?phone=..., under api.router.API_PREFIX),
and a reveal's path is logged without anything that could carry a code. Paths, methods, statuses
and timings stay.
"""

import gc

# %(U)s is the path without its query string; %(r)s (the request line) and %(q)s would carry it.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


def post_worker_init(worker):
    # The worker has loaded its app: what exists now (modules, mappers, schemas, the address
    # tables) lives as long as the process. Moved out of the garbage collector's sight, it is
    # not walked again by every full collection, which the pre-plan cache's turnover triggers
    # every few hundred cold reads: about a tenth of a cold read's CPU, and pauses of tens of
    # milliseconds in the tail (measured in issue 14; README, "Benchmark"). Collected first, so
    # no garbage is kept forever.
    gc.collect()
    gc.freeze()
    # Each worker seals the audit trail in a thread (registry/audit/sealer.py): without a sealer
    # events stay unsealed, and /readyz and `audit verify` fail after the sealing window.
    # (Other apps served with this file, such as the benchmark's bare Flask floor, have none, and
    # do not load the registry for it.)
    app = worker.wsgi
    if "registry.sessionmaker" in getattr(app, "extensions", {}):
        from registry.audit import sealer  # noqa: PLC0415 - only a registry worker loads it

        sealer.start(app)
