"""Floor plans: uploads judged by their bytes, stored content-addressed (local directory and S3),
versioned per building level, streamed with ranges, shown in the pre-plan; and nothing left
behind when anything fails."""

import io
import threading
import warnings
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from registry import transaction
from registry.floorplans import blobs, inspection
from registry.floorplans.blobs import prune
from registry.floorplans.models import FileBlob, FloorPlan
from registry.floorplans.storage import StorageError, blob_key, preview_key
from registry.preplans.document import cache
from tests import file_store, sample_files
from tests.conftest import assert_problem, count, fetch
from tests.file_store import created, file_part, stored_keys, upload

# Fixtures: the store under test (local and S3), a closing test client, the small-caps app.
store, client = file_store.store, file_store.client
small_app, small_client = file_store.small_app, file_store.small_client

API = "/api/v1"


@pytest.fixture
def site(make):
    cache.clear()
    org, other_org = make.organization(), make.organization()
    partner, outsider = make.agency(), make.agency()
    facility = make.facility(org)
    make.mou(org, partner)
    return SimpleNamespace(
        org=org,
        facility=facility,
        admin=make.admin(),
        manager=make.manager(org),
        other_manager=make.manager(other_org),
        officer=make.officer(partner),
        cad=make.headers(make.cad_client(partner)),
        outsider=make.officer(outsider),
    )


def nothing_stored(app, blob_store):
    assert count(app, FloorPlan) == 0
    assert count(app, FileBlob) == 0
    assert stored_keys(blob_store) == set()


ACCEPTED = {
    "pdf": (sample_files.pdf, "plan.pdf", "application/pdf"),
    "png": (sample_files.png, "plan.png", "image/png"),
    "jpeg": (sample_files.jpeg, "plan.jpeg", "image/jpeg"),
    "webp": (sample_files.webp, "plan.webp", "image/webp"),
}


# --- accepted files ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ACCEPTED))
def test_an_accepted_file_is_stored_and_served(client, app, site, store, kind):
    make_file, name, media_type = ACCEPTED[kind]
    content = make_file()
    # The client's Content-Type for the part is a lie; the bytes decide.
    response = client.post(
        f"{API}/facilities/{site.facility.id}/floor-plans",
        data={
            "building": "Main building",
            "level_number": "0",
            "level_label": "Ground floor",
            "title": "Ground floor plan",
            "file": file_part(content, name, "text/html"),
        },
        headers=site.manager,
        content_type="multipart/form-data",
    )
    plan = created(response)
    assert plan["media_type"] == media_type
    assert plan["size"] == len(content)
    assert plan["revision"] == 1 and plan["current"] is True
    assert plan["file_name"] == name
    assert plan["url"] == f"{API}/floor-plans/{plan['id']}/file"
    assert response.headers["ETag"] == f'"floorplan-{plan["id"]}-v{plan["version"]}"'

    # The row names a blob whose bytes and preview are in the store.
    assert stored_keys(store) == {blob_key(plan["sha256"]), preview_key(plan["sha256"])}
    assert fetch(app, FileBlob, plan["sha256"]).size == len(content)

    download = client.get(plan["url"], headers=site.officer)
    assert download.status_code == 200
    assert download.data == content
    assert download.mimetype == media_type
    assert download.headers["Content-Length"] == str(len(content))
    assert download.headers["ETag"] == f'"{plan["sha256"]}"'
    assert download.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox"
    assert download.headers["Accept-Ranges"] == "bytes"

    preview = client.get(plan["preview_url"], headers=site.officer)
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert preview.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(preview.data), formats=["PNG"]) as image:
        assert max(image.size) <= 640
        # A PDF's first page is drawn: the blue rectangle is there.
        if kind == "pdf":
            assert image.convert("RGB").getpixel((image.width // 2, image.height // 2)) == (
                0,
                0,
                255,
            )


def test_a_path_traversal_name_is_made_safe(client, app, site, store, tmp_path):
    plan = created(
        upload(
            client, site.manager, site.facility.id, sample_files.png(), "../../../etc/passwd.png"
        )
    )
    assert plan["file_name"] == "passwd.png"
    download = client.get(plan["url"], headers=site.manager)
    assert download.headers["Content-Disposition"] == "attachment; filename=passwd.png"
    # Only content addresses were written: no name from the client reaches the store.
    assert stored_keys(store) == {blob_key(plan["sha256"]), preview_key(plan["sha256"])}
    assert not list(tmp_path.rglob("passwd*"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("C:/Users/me/../plan.PDF", "plan.pdf"),
        ("平面図.pdf", "floor-plan.pdf"),
        ("level 2 (final).pdf", "level_2_final.pdf"),
        ("no-extension", "no-extension.pdf"),
        ("", "floor-plan.pdf"),
    ],
)
def test_file_names_are_sanitized(client, site, store, name, expected):
    plan = created(upload(client, site.manager, site.facility.id, sample_files.pdf(), name))
    assert plan["file_name"] == expected


# --- refused files -------------------------------------------------------------------------------


REFUSED = {
    "empty": (b"", "plan.pdf", "empty"),
    "html named .png": (sample_files.HTML, "plan.png", "HTML"),
    "svg": (sample_files.SVG, "plan.svg", "SVG"),
    "png that is also a web page": (sample_files.png_with_markup(), "plan.png", "web markup"),
    "pdf that is also a web page": (sample_files.pdf_with_markup(), "plan.pdf", "web markup"),
    "png named .pdf": (sample_files.png(), "plan.pdf", "ends in .pdf"),
    "pdf named .jpg": (sample_files.pdf(), "plan.jpg", "ends in .jpg"),
    "truncated png": (sample_files.truncated_png(), "plan.png", "damaged"),
    "broken pdf": (b"%PDF-1.7\n1 0 obj garbage", "plan.pdf", "cannot read"),
    "pdf with javascript": (sample_files.pdf_with_javascript(), "plan.pdf", "JavaScript"),
    "zip": (b"PK\x03\x04" + bytes(100), "plan.zip", "none of them"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_unacceptable_files_are_415_and_leave_nothing(client, app, site, store, case):
    content, name, reason = REFUSED[case]
    response = upload(client, site.manager, site.facility.id, content, name)
    body = assert_problem(response, 415)
    assert reason in body["detail"]
    nothing_stored(app, store)


@pytest.mark.parametrize("ignore_warnings", [False, True])
def test_a_decompression_bomb_is_refused_whatever_the_warning_filters(
    client, app, site, store, ignore_warnings
):
    with warnings.catch_warnings():
        if ignore_warnings:
            # Pillow's own check only warns below twice its limit; it must still be a refusal.
            warnings.simplefilter("ignore")
        for width, height in ((60_000, 60_000), (10_000, 10_000)):
            bomb = sample_files.png_claiming(width, height)
            body = assert_problem(
                upload(client, site.manager, site.facility.id, bomb, "a.png"), 413
            )
            assert f"{width} x {height} pixels" in body["detail"]
    nothing_stored(app, store)


def test_the_pixel_cap_comes_from_configuration(small_client, app, site, store):
    # 40 x 30 = 1,200 pixels; the small app allows 1,000.
    response = upload(small_client, site.manager, site.facility.id, sample_files.png(), "a.png")
    body = assert_problem(response, 413)
    assert "1,000 pixels" in body["detail"]
    tiny = sample_files.png((20, 20))
    created(upload(small_client, site.manager, site.facility.id, tiny, "a.png"))


@pytest.mark.parametrize("key", [None, "retry-8"])
def test_an_upload_over_the_cap_is_413(small_client, app, site, store, key):
    big = sample_files.pdf() + b"%" + b"x" * 8000 + b"\n"
    headers = {**site.manager, **({"Idempotency-Key": key} if key else {})}
    response = upload(small_client, headers, site.facility.id, big, "plan.pdf")
    body = assert_problem(response, 413)
    assert "4,096 bytes" in body["detail"]
    nothing_stored(app, store)


class Tripwire(io.RawIOBase):
    """A request body that must not be read (seeking is how the test client measures it)."""

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        return 0

    def readinto(self, buffer):
        raise AssertionError("the body was read")


@pytest.mark.parametrize("key", [None, "retry-7"])
def test_the_size_cap_is_judged_before_reading_the_body(small_client, site, key):
    # With an Idempotency-Key too: its fingerprint must not read a body that is over the cap.
    headers = {**site.manager, **({"Idempotency-Key": key} if key else {})}
    response = small_client.post(
        f"{API}/facilities/{site.facility.id}/floor-plans",
        input_stream=Tripwire(),
        content_type="multipart/form-data; boundary=x",
        headers=headers,
        environ_overrides={"CONTENT_LENGTH": str(10**9)},
    )
    assert_problem(response, 413)


# Werkzeug drops the part it was spooling when it stops at the cap; CPython closes that temporary
# file at once (refcount), with a ResourceWarning that is no leak.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_streamed_body_is_cut_off_at_the_cap(small_client, site, app, store):
    # Chunked (no Content-Length): Werkzeug stops reading at the cap instead of spooling it all.
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + b"x" * 100_000
    response = small_client.post(
        f"{API}/facilities/{site.facility.id}/floor-plans",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=site.manager,
        environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
    )
    assert_problem(response, 413)
    nothing_stored(app, store)


def test_fields_and_the_file_are_required(client, app, site, store):
    response = client.post(
        f"{API}/facilities/{site.facility.id}/floor-plans",
        data={"building": "Main", "level_number": "two", "extra": "x"},
        headers=site.manager,
        content_type="multipart/form-data",
    )
    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"file", "level_number", "level_label", "title", "extra"}
    json_body = client.post(
        f"{API}/facilities/{site.facility.id}/floor-plans",
        json={"building": "Main"},
        headers=site.manager,
    )
    assert_problem(json_body, 415)
    nul = upload(client, site.manager, site.facility.id, sample_files.pdf(), title="a\x00b")
    assert_problem(nul, 422)
    nothing_stored(app, store)


# --- failures leave nothing half-done -------------------------------------------------------


def test_a_store_failure_is_503_and_leaves_nothing(client, app, site, store, monkeypatch):
    def broken_put(*args, **kwargs):
        raise StorageError("disk full")

    monkeypatch.setattr(store, "put", broken_put)
    response = upload(client, site.manager, site.facility.id, sample_files.pdf())
    assert_problem(response, 503)
    nothing_stored(app, store)


@contextmanager
def failing_commit():
    """The next commit fails (the request's); the collector's own commits go through."""
    failures = []

    def fail(session):
        if not failures:
            failures.append(session)
            raise RuntimeError("the database went away at commit")

    event.listen(Session, "before_commit", fail)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", fail)
    assert failures, "no commit was attempted"


def test_a_failed_commit_leaves_no_blob(client, app, site, store):
    # The bytes are already stored when the commit fails: they must be collected again.
    with failing_commit():
        response = upload(client, site.manager, site.facility.id, sample_files.pdf())
    assert_problem(response, 500)
    nothing_stored(app, store)


def test_a_failed_commit_keeps_a_blob_another_plan_uses(client, app, site, store):
    first = created(upload(client, site.manager, site.facility.id, sample_files.pdf()))

    with failing_commit():
        response = upload(
            client, site.manager, site.facility.id, sample_files.pdf(), level_number="2"
        )
    assert_problem(response, 500)
    assert count(app, FloorPlan) == 1
    assert stored_keys(store) == {blob_key(first["sha256"]), preview_key(first["sha256"])}
    assert client.get(first["url"], headers=site.manager).data == sample_files.pdf()


# --- versions and deletion ---------------------------------------------------------------------


def test_a_new_upload_supersedes_and_the_old_one_stays(client, app, site, store):
    first_bytes, second_bytes = sample_files.pdf(), sample_files.png()
    first = created(upload(client, site.manager, site.facility.id, first_bytes))
    # Same building (in another case) and level: a new version of the same plan.
    second = created(
        upload(
            client,
            site.manager,
            site.facility.id,
            second_bytes,
            "plan-v2.png",
            building="MAIN BUILDING",
            level_label="First floor",
        )
    )
    assert second["revision"] == 2 and second["building"] == "Main building"
    assert (
        client.get(f"{API}/floor-plans/{first['id']}", headers=site.officer).get_json()["current"]
        is False
    )

    listing = client.get(f"{API}/facilities/{site.facility.id}/floor-plans", headers=site.officer)
    assert [p["id"] for p in listing.get_json()["items"]] == [second["id"]]
    everything = client.get(
        f"{API}/facilities/{site.facility.id}/floor-plans?include_superseded=true",
        headers=site.officer,
    )
    assert [p["id"] for p in everything.get_json()["items"]] == [second["id"], first["id"]]
    versions = client.get(f"{API}/floor-plans/{second['id']}/versions", headers=site.officer)
    assert [p["revision"] for p in versions.get_json()["items"]] == [2, 1]

    assert client.get(second["url"] + "?version=1", headers=site.officer).data == first_bytes
    assert client.get(first["url"] + "?version=2", headers=site.officer).data == second_bytes
    assert_problem(client.get(second["url"] + "?version=3", headers=site.officer), 404)
    assert_problem(client.get(second["url"] + "?version=0", headers=site.officer), 422)

    # Deleting the wrong upload makes the previous one current again.
    tag = client.get(f"{API}/floor-plans/{second['id']}", headers=site.manager).headers["ETag"]
    deleted = client.delete(
        f"{API}/floor-plans/{second['id']}", headers={**site.manager, "If-Match": tag}
    )
    assert deleted.status_code == 204
    # Soft-deleted: hidden, but its file stays so that its owner can restore it.
    assert_problem(client.get(f"{API}/floor-plans/{second['id']}", headers=site.officer), 404)
    assert stored_keys(store) == {
        blob_key(first["sha256"]),
        preview_key(first["sha256"]),
        blob_key(second["sha256"]),
        preview_key(second["sha256"]),
    }
    assert count(app, FileBlob) == 2
    listing = client.get(f"{API}/facilities/{site.facility.id}/floor-plans", headers=site.officer)
    assert [(p["id"], p["current"]) for p in listing.get_json()["items"]] == [(first["id"], True)]
    # The next upload of that level is revision 3: a deleted revision keeps its number.
    again = created(upload(client, site.manager, site.facility.id, second_bytes, "again.png"))
    assert again["revision"] == 3
    restored = client.post(f"{API}/floor-plans/{second['id']}/restore", headers=site.manager)
    assert restored.status_code == 200 and restored.get_json()["current"] is False
    assert client.get(second["url"], headers=site.officer).data == second_bytes

    # Each upload and deletion is in the facility's history.
    history = client.get(f"{API}/facilities/{site.facility.id}/history", headers=site.manager)
    entries = [
        (h["action"], h["record_id"])
        for h in history.get_json()["items"]
        if h["record_type"] == "floor_plan"
    ]
    assert sorted(entries) == sorted(
        [
            ("create", first["id"]),
            ("create", second["id"]),
            ("delete", second["id"]),
            ("create", again["id"]),
            ("restore", second["id"]),
        ]
    )


def test_a_shared_blob_stays_while_any_plan_refers_to_it(client, app, site, store):
    content = sample_files.pdf()
    ground = created(upload(client, site.manager, site.facility.id, content, level_number="0"))
    first = created(upload(client, site.manager, site.facility.id, content, level_number="1"))
    assert ground["sha256"] == first["sha256"]
    assert count(app, FileBlob) == 1
    keys = {blob_key(ground["sha256"]), preview_key(ground["sha256"])}
    assert stored_keys(store) == keys

    # Deleted plans are soft-deleted and still refer to the file (see the MOU test for a
    # record that is really removed, and its file collected).
    for plan in (ground, first):
        path = f"{API}/floor-plans/{plan['id']}"
        tag = client.get(path, headers=site.manager).headers["ETag"]
        assert client.delete(path, headers={**site.manager, "If-Match": tag}).status_code == 204
        assert stored_keys(store) == keys
    assert count(app, FileBlob) == 1


def test_if_match_guards_patch_and_delete(client, app, site, store):
    plan = created(upload(client, site.manager, site.facility.id, sample_files.pdf()))
    path = f"{API}/floor-plans/{plan['id']}"
    etag = client.get(path, headers=site.manager).headers["ETag"]

    assert_problem(client.patch(path, json={"title": "New"}, headers=site.manager), 428)
    assert_problem(client.delete(path, headers=site.manager), 428)
    changed = client.patch(
        path,
        json={"title": "Renamed", "level_label": "L1"},
        headers={**site.manager, "If-Match": etag},
    )
    assert changed.status_code == 200
    assert changed.get_json()["title"] == "Renamed" and changed.get_json()["level_label"] == "L1"
    stale = {**site.manager, "If-Match": etag}
    assert_problem(client.patch(path, json={"title": "Lost"}, headers=stale), 412)
    assert_problem(client.delete(path, headers=stale), 412)
    # Building and level name the series: they cannot be patched.
    fresh = {**site.manager, "If-Match": changed.headers["ETag"]}
    assert_problem(client.patch(path, json={"building": "Annex"}, headers=fresh), 422, "building")
    assert fetch(app, FloorPlan, plan["id"]).title == "Renamed"
    assert len(stored_keys(store)) == 2


# --- downloads -------------------------------------------------------------------------------------


def test_ranges_and_conditional_downloads(client, site, store):
    content = sample_files.pdf()
    plan = created(upload(client, site.manager, site.facility.id, content))
    url, size = plan["url"], len(content)

    head = client.get(url, headers={**site.cad, "Range": "bytes=0-9"})
    assert head.status_code == 206
    assert head.headers["Content-Range"] == f"bytes 0-9/{size}"
    assert head.data == content[:10]
    middle = client.get(url, headers={**site.cad, "Range": "bytes=100-199"})
    assert middle.status_code == 206 and middle.data == content[100:200]
    tail = client.get(url, headers={**site.cad, "Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.data == content[-16:]

    outside = client.get(url, headers={**site.cad, "Range": f"bytes={size + 10}-"})
    assert_problem(outside, 416)
    assert outside.headers["Content-Range"] == f"bytes */{size}"

    etag = client.get(url, headers=site.cad).headers["ETag"]
    assert etag == f'"{plan["sha256"]}"'
    not_modified = client.get(url, headers={**site.cad, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    preview_tag = client.get(plan["preview_url"], headers=site.cad).headers["ETag"]
    again = client.get(plan["preview_url"], headers={**site.cad, "If-None-Match": preview_tag})
    assert again.status_code == 304
    # If-Range with a stale tag: the whole file, not a fragment of something else.
    stale = client.get(url, headers={**site.cad, "Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.data == content


def test_a_missing_blob_is_503_not_a_broken_download(client, app, site, store):
    plan = created(upload(client, site.manager, site.facility.id, sample_files.pdf()))
    store.delete(blob_key(plan["sha256"]))
    assert_problem(client.get(plan["url"], headers=site.manager), 503)


# --- visibility -----------------------------------------------------------------------------------


def test_who_may_read_and_write(client, app, site, store):
    plan = created(upload(client, site.manager, site.facility.id, sample_files.pdf()))
    fid, pid = site.facility.id, plan["id"]
    reads = [
        f"{API}/facilities/{fid}/floor-plans",
        f"{API}/floor-plans/{pid}",
        f"{API}/floor-plans/{pid}/versions",
        f"{API}/floor-plans/{pid}/file",
        f"{API}/floor-plans/{pid}/preview",
    ]
    for who in ("admin", "manager", "officer", "cad"):
        for path in reads:
            assert client.get(path, headers=getattr(site, who)).status_code == 200, (who, path)
    # No MOU, or another partner's manager: not found, never "forbidden".
    for who in ("outsider", "other_manager"):
        headers = getattr(site, who)
        for path in reads:
            assert_problem(client.get(path, headers=headers), 404)
        assert_problem(upload(client, headers, fid, sample_files.png(), "a.png"), 404)
        tagged = {**headers, "If-Match": '"floorplan-x"'}
        assert_problem(client.patch(reads[1], json={"title": "x"}, headers=tagged), 404)
        assert_problem(client.delete(reads[1], headers=tagged), 404)
    # A partner agency reads but never writes.
    etag = client.get(reads[1], headers=site.officer).headers["ETag"]
    for who in ("officer", "cad"):
        headers = getattr(site, who)
        assert_problem(upload(client, headers, fid, sample_files.png(), "a.png"), 403)
        tagged = {**headers, "If-Match": etag}
        assert_problem(client.patch(reads[1], json={"title": "x"}, headers=tagged), 403)
        assert_problem(client.delete(reads[1], headers=tagged), 403)
    assert_problem(client.get(reads[3]), 401)
    assert count(app, FloorPlan) == 1
    assert created(upload(client, site.admin, fid, sample_files.png(), "a.png", level_number="2"))


def test_a_deleted_facility_hides_its_plans(client, site, store):
    plan = created(upload(client, site.manager, site.facility.id, sample_files.pdf()))
    path = f"{API}/facilities/{site.facility.id}"
    tag = client.get(path, headers=site.manager).headers["ETag"]
    assert client.delete(path, headers={**site.manager, "If-Match": tag}).status_code == 204
    assert_problem(client.get(plan["url"], headers=site.manager), 404)
    assert_problem(client.get(plan["url"], headers=site.officer), 404)


# --- the pre-plan ---------------------------------------------------------------------------------


def preplan(client, site, headers=None):
    response = client.get(f"{API}/preplans/{site.facility.id}", headers=headers or site.officer)
    assert response.status_code == 200
    return response.headers["ETag"], response.get_json()["floor_plans"]


def test_the_preplan_lists_the_current_plan_of_each_level(client, site, store):
    etag, plans = preplan(client, site)
    assert plans == []
    ground = created(
        upload(
            client,
            site.manager,
            site.facility.id,
            sample_files.png(),
            "ground.png",
            level_number="0",
            level_label="Ground",
        )
    )
    after_first, plans = preplan(client, site)
    assert after_first != etag
    assert [p["id"] for p in plans] == [ground["id"]]
    first = created(upload(client, site.manager, site.facility.id, sample_files.pdf()))
    newer = created(upload(client, site.manager, site.facility.id, sample_files.jpeg(), "f.jpg"))
    after_more, plans = preplan(client, site)
    assert after_more != after_first
    assert [(p["level_number"], p["id"]) for p in plans] == [(0, ground["id"]), (1, newer["id"])]
    shown = plans[1]
    assert shown["url"] == f"{API}/floor-plans/{newer['id']}/file"
    assert shown["preview_url"] == f"{API}/floor-plans/{newer['id']}/preview"
    assert shown["level"] == "Level 1" and shown["building"] == "Main building"
    assert shown["media_type"] == "image/jpeg" and shown["revision"] == 2
    assert first["id"] not in [p["id"] for p in plans]
    # The CAD client follows the URL it was given.
    download = client.get(shown["url"], headers=site.cad)
    assert download.status_code == 200 and download.data == sample_files.jpeg()

    # Metadata edits show at once too.
    tag = client.get(f"{API}/floor-plans/{newer['id']}", headers=site.manager).headers["ETag"]
    client.patch(
        f"{API}/floor-plans/{newer['id']}",
        json={"level_label": "Mezzanine"},
        headers={**site.manager, "If-Match": tag},
    )
    after_edit, plans = preplan(client, site)
    assert after_edit != after_more and plans[1]["level"] == "Mezzanine"


def test_plans_changed_around_the_api_change_the_preplan(client, app, site, store):
    plan = created(upload(client, site.manager, site.facility.id, sample_files.pdf()))
    etag, _ = preplan(client, site)
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            text("UPDATE floor_plans SET title = 'Fixed by a script' WHERE id = :id"),
            {"id": plan["id"]},
        )
    new_etag, plans = preplan(client, site)
    assert new_etag != etag and plans[0]["title"] == "Fixed by a script"
    with app.app_context(), transaction.session_scope() as session:
        session.execute(text("DELETE FROM floor_plans WHERE id = :id"), {"id": plan["id"]})
    last_etag, plans = preplan(client, site)
    assert last_etag != new_etag and plans == []


# --- orphans -----------------------------------------------------------------------------------------


def test_prune_removes_bytes_no_record_refers_to(client, app, site, store):
    kept = created(upload(client, site.manager, site.facility.id, sample_files.pdf()))
    orphan = "ab" * 32
    store.put(blob_key(orphan), io.BytesIO(b"left by a crash"), 15, "application/pdf")
    with app.app_context():
        examined, deleted = prune(timedelta(seconds=-5))
    assert (examined, deleted) == (1, 1)
    assert stored_keys(store) == {blob_key(kept["sha256"]), preview_key(kept["sha256"])}
    # Young orphans are left alone: their upload may still be about to commit.
    store.put(blob_key(orphan), io.BytesIO(b"in flight"), 9, "application/pdf")
    result = app.test_cli_runner().invoke(args=["files", "prune"])
    assert result.exit_code == 0, result.output
    assert "0 unreferenced" in result.output
    assert blob_key(orphan) in stored_keys(store)


def test_an_upload_in_flight_keeps_a_blob_whose_last_plan_is_deleted(client, app, site, store):
    """Upload U claims blob X (same bytes as plan P) and has not committed; meanwhile P is
    deleted and X collected. The collector must wait for U and then keep X for U's plan."""
    content = sample_files.pdf()
    old = created(upload(client, site.manager, site.facility.id, content))
    inspected = inspection.inspect(io.BytesIO(content), "plan.pdf", app.config)
    factory = app.extensions["registry.sessionmaker"]
    claimed, deleted = threading.Event(), threading.Event()

    def delete_old_plan():
        with app.app_context():
            claimed.wait(10)
            with transaction.session_scope() as session:  # commits, then collects X (it must wait)
                session.delete(session.get(FloorPlan, old["id"]))
                blobs.release(session, old["sha256"])
            deleted.set()

    deleter = threading.Thread(target=delete_old_plan)
    deleter.start()
    with app.app_context():
        session = factory()
        try:
            blob = blobs.claim(session, inspected, io.BytesIO(content))
            claimed.set()
            # The collector cannot finish while the claim is held.
            assert not deleted.wait(0.5)
            session.add(
                FloorPlan(
                    facility_id=site.facility.id,
                    building="Annex",
                    level_number=1,
                    level_label="L1",
                    title="Same bytes",
                    revision=1,
                    file_name="plan.pdf",
                    uploaded_by="user:1",
                    blob=blob,
                )
            )
            session.commit()
        finally:
            session.close()
    deleter.join(15)
    assert deleted.is_set()
    assert count(app, FloorPlan) == 1 and count(app, FileBlob) == 1
    assert stored_keys(store) == {blob_key(old["sha256"]), preview_key(old["sha256"])}
