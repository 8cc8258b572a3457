"""The access log never carries a lookup's query (a caller's number or position): issue 15.11."""

import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

# tests/service/ -> the checkout.
CONFIG = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_the_access_log_format_leaves_query_strings_out():
    settings = runpy.run_path(str(CONFIG))
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", settings["access_log_format"])
    logger = Logger(config)
    query = "phone=%2B12175550100&lat=39.8&lon=-89.6&address=10+S+Walnut+St"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/api/v1/preplans/lookup?{query}",
        "PATH_INFO": "/api/v1/preplans/lookup",
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": f"https://cad.example/?{query}",
        "HTTP_USER_AGENT": "cad/1.0",
    }
    response = SimpleNamespace(status="200 OK", sent=123, headers=[])
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=4))
    line = logger.cfg.access_log_format % atoms
    assert "/api/v1/preplans/lookup" in line and " 200 " in line
    for secret in ("12175550100", "39.8", "Walnut", "phone"):
        assert secret not in line, line


def test_make_run_uses_that_configuration():
    makefile = (CONFIG.parent / "Makefile").read_text()
    # gunicorn reads ./gunicorn.conf.py unless told otherwise: make run must not override it.
    assert "--access-logformat" not in makefile
    assert "-c " not in makefile and "--config" not in makefile


def test_a_worker_keeps_what_it_loaded_out_of_the_collectors_sight(monkeypatch):
    # A full collection walks every object the collector tracks; a worker's loaded app would be
    # most of them (gunicorn.conf.py, post_worker_init). The bare floor app has no sealer.
    hooks = runpy.run_path(str(CONFIG))
    frozen = []
    monkeypatch.setattr("gc.freeze", lambda: frozen.append(True))
    hooks["post_worker_init"](SimpleNamespace(wsgi=SimpleNamespace(extensions={})))
    assert frozen == [True]
