"""Checking an upload has a budget (issue 15): decoded bytes, images on a PDF's first page,
CPU and wall-clock seconds and memory of the checking process, and how many checks run at once.
Over budget is a 413 that says which limit; a full house of checks is a 503 at once. Nothing is
stored either way.

The hostile files are generated (tests/sample_files.py): blank FlateDecode images compress about
1,000 to 1, so a gigabyte of pixels is a megabyte of file, made in milliseconds.
"""

import time

import pytest

from registry import config as registry_config
from registry.floorplans import inspection
from registry.floorplans.models import FileBlob, FloorPlan
from tests import file_store, sample_files
from tests.conftest import TEST_KEYS, assert_problem, count
from tests.file_store import upload_plan

# The shared fixture: a facility and a manager who may upload its plans.
plan_site = file_store.plan_site

GIB = 1024 * 1024 * 1024


def refused(response, status: int, reason: str, app) -> None:
    body = assert_problem(response, status)
    assert reason in body["detail"], body["detail"]
    assert count(app, FloorPlan) == 0 and count(app, FileBlob) == 0


def test_the_testers_pdf_is_refused_before_anything_is_decoded(client, app, plan_site):
    # Issue 15: blank FlateDecode images on page 1 (here 4 GiB of pixels in a 4 MB file).
    # Their sizes are read from the images' dictionaries; PDFium never decodes them.
    started = time.monotonic()
    response = upload_plan(client, plan_site, sample_files.pdf_of_blank_images(4, 32768, 32768))
    refused(response, 413, "would decode more than 512 MiB", app)
    assert time.monotonic() - started < 3


def test_the_images_a_first_page_may_draw_are_counted(build_app, app, plan_site):
    client = build_app(REGISTRY_UPLOAD_MAX_PDF_IMAGES=2).test_client()
    three_draws = sample_files.pdf_of_blank_images(1, 10, 10, draws=3)
    refused(upload_plan(client, plan_site, three_draws), 413, "more than 2 images", app)
    two_draws = sample_files.pdf_of_blank_images(1, 10, 10, draws=2)
    assert upload_plan(client, plan_site, two_draws).status_code == 201


def test_a_check_that_runs_out_of_time_is_stopped(build_app, app, plan_site):
    # One 1 GiB image drawn 8 times: several seconds of PDFium, if nothing stopped it.
    client = build_app(
        REGISTRY_UPLOAD_CHECK_SECONDS=1, REGISTRY_UPLOAD_DECODED_BYTES=64 * GIB
    ).test_client()
    slow = sample_files.pdf_of_blank_images(1, 32768, 32768, draws=8)
    started = time.monotonic()
    response = upload_plan(client, plan_site, slow)
    refused(response, 413, "could not be checked within the 1 s allowed", app)
    assert time.monotonic() - started < 3


def test_a_check_that_needs_too_much_memory_is_stopped(build_app, app, plan_site):
    # 7,000 x 7,000 RGBA is under the pixel cap but needs ~200 MB decoded.
    client = build_app(REGISTRY_UPLOAD_CHECK_MEMORY_BYTES=150 * 1024 * 1024).test_client()
    response = upload_plan(client, plan_site, sample_files.blank_png(7000, 7000), "plan.png")
    refused(response, 413, "more than the 150 MiB of memory allowed", app)


def test_when_every_checking_slot_is_taken_an_upload_is_503_at_once(client, app, plan_site):
    url = app.config["REGISTRY_DATABASE_URL"]
    # Another worker of the same deployment is checking an upload (the slot is a lock file).
    with inspection.checking_slot(url, 1):
        started = time.monotonic()
        response = upload_plan(client, plan_site, sample_files.pdf())
        refused(response, 503, "Other uploads are being checked", app)
        assert response.headers["Retry-After"]
        assert time.monotonic() - started < 2
    assert upload_plan(client, plan_site, sample_files.pdf()).status_code == 201


def test_two_slots_let_two_checks_run(build_app, plan_site):
    client = build_app(REGISTRY_UPLOAD_CHECKS_AT_ONCE=2).test_client()
    with inspection.checking_slot(client.application.config["REGISTRY_DATABASE_URL"], 1):
        assert upload_plan(client, plan_site, sample_files.pdf()).status_code == 201


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REGISTRY_UPLOAD_CHECK_SECONDS", "0", "above 0"),
        ("REGISTRY_UPLOAD_CHECK_MEMORY_BYTES", "1000000", "at least"),
        ("REGISTRY_UPLOAD_DECODED_BYTES", "0", "positive"),
        ("REGISTRY_UPLOAD_MAX_PDF_IMAGES", "0", "positive"),
        ("REGISTRY_UPLOAD_CHECKS_AT_ONCE", "0", "positive"),
    ],
)
def test_budget_settings_are_checked_at_start(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(registry_config.ConfigError, match=f"{name} must be {message}"):
        registry_config.load_config(dict(TEST_KEYS))


def test_the_checking_process_gets_no_secrets(client, app, plan_site, monkeypatch):
    monkeypatch.setenv("REGISTRY_JWT_SECRET", "a-secret-the-checker-must-not-see-0123456789")
    started = []
    real_popen = inspection.subprocess.Popen

    def popen(*args, **kwargs):
        started.append(kwargs.get("env"))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(inspection.subprocess, "Popen", popen)
    assert upload_plan(client, plan_site, sample_files.png(), "plan.png").status_code == 201
    (environment,) = started
    assert environment is not None  # None would mean "inherit everything"
    assert not [name for name in environment if name.startswith("REGISTRY_")]


def test_no_process_for_a_check_is_a_503(client, app, plan_site, monkeypatch):
    def popen(*args, **kwargs):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(inspection.subprocess, "Popen", popen)
    response = upload_plan(client, plan_site, sample_files.png(), "plan.png")
    refused(response, 503, "cannot be checked right now", app)
