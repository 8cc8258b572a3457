"""The offline pack (issue 11, item 5): GET /packs/agency streams one ZIP of every pre-plan an
agency reads by MOU (JSON, GeoJSON, the printable HTML page, the floor plans), with a manifest
of SHA-256 hashes signed with Ed25519; the public key is at GET /packs/public-key; the verifier
(`python -m registry.packs`, `flask packs verify`) refuses a tampered pack. One audit
event lists the facilities.

The cast: organization A shares all its facilities with agency X (a1, a2, and a deleted one);
B shares b1 with agency Y; C shares nothing, but X's CAD has an open break-glass incident at c1.
a2 has a PDF plan and a PNG plan, a1 the same PNG (one file in the pack).
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from registry import config as registry_config
from registry import db, transaction
from registry.audit.models import AuditEvent
from registry.auth.principal import Principal
from registry.db import utcnow
from registry.facilities.models import Facility
from registry.floorplans.models import FileBlob, FloorPlan
from registry.floorplans.storage import LocalBlobStore, StorageError, blob_key, preview_key
from registry.packs import archive, keys, verify
from registry.packs.service import agency_reader, pack_contents, signing_key
from registry.preplans.document import cache
from tests import sample_files
from tests.conftest import TEST_KEYS, assert_problem, count
from tests.file_store import file_part

API = "/api/v1"
PACK, PUBLIC_KEY = f"{API}/packs/agency", f"{API}/packs/public-key"
ROOT = Path(__file__).resolve().parents[2]  # the checkout
DOOR_CODE = "8642#"
ARENA = "900 Arena Way, Springfield, IL 62701"


def upload_plan(client, headers, facility_id, level_number, label, content, name):
    response = client.post(
        f"{API}/facilities/{facility_id}/floor-plans",
        data={
            "building": "Main",
            "level_number": str(level_number),
            "level_label": label,
            "title": f"{label} plan",
            "file": file_part(content, name),
        },
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def w(make, client):
    cache.clear()
    org_a, org_b, org_c = (make.organization(name=n) for n in ("Alpha", "Beta", "Gamma"))
    x, y = make.agency(name="Springfield PD"), make.agency(name="Shelbyville PD")
    a1 = make.facility(org_a, name="Alpha North")
    a2 = make.facility(org_a, name="Alpha South", hazards="Propane <cage> & dock")
    gone = make.facility(org_a, name="Alpha Closed", deleted_at=utcnow())
    b1 = make.facility(org_b, name="Beta Mall")
    c1 = make.facility(org_c, name="Gamma Arena", address_line1="900 Arena Way")
    make.mou(org_a, x)
    make.mou(org_b, y)
    make.access_point(a2, kind="key_box", name="Knox box", code=DOOR_CODE)
    make.contact(facility_id=a2.id, name="Sam Night", available_24_7=True)
    manager_a = make.manager(org_a)
    pdf, png = sample_files.pdf(), sample_files.png((200, 100))
    plans = {
        "pdf": upload_plan(client, manager_a, a2.id, 1, "First floor", pdf, "first.pdf"),
        "png": upload_plan(client, manager_a, a2.id, 0, "Ground floor", png, "ground.png"),
        "shared": upload_plan(client, manager_a, a1.id, 0, "Ground floor", png, "ground.png"),
    }
    cad_x = make.cad_client(x)
    w = SimpleNamespace(
        x=x,
        y=y,
        a1=a1,
        a2=a2,
        gone=gone,
        b1=b1,
        c1=c1,
        plans=plans,
        files={"pdf": pdf, "png": png},
        officer_x=make.officer(x),
        cad_x=make.headers(cad_x),
        officer_y=make.officer(y),
        manager_a=manager_a,
        admin=make.admin(),
        auditor=make.headers(make.user("auditor")),
    )
    # X's CAD opens an incident at C's arena: break-glass, which the pack must leave out.
    opened = client.post(
        f"{API}/incidents",
        json={"cad_incident_number": "F-1", "incident_type": "fire", "address": ARENA},
        headers=w.cad_x,
    )
    assert opened.status_code == 201 and opened.json["break_glass"] is True, opened.get_data(
        as_text=True
    )
    assert client.get(f"{API}/preplans/{c1.id}", headers=w.officer_x).status_code == 200
    return w


def download(client, headers, **params) -> bytes:
    response = client.get(PACK, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/zip"
    assert response.is_streamed and response.content_length is None
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=preplans-")
    return response.get_data()


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive_file:
        assert archive_file.testzip() is None
        return {name: archive_file.read(name) for name in archive_file.namelist()}


def public_key(client):
    response = client.get(PUBLIC_KEY)  # no token
    assert response.status_code == 200 and response.mimetype == "application/x-pem-file"
    return keys.load_public_key(response.data), response


def pack_events(app) -> list[AuditEvent]:
    with app.app_context(), transaction.session_scope() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "preplan.pack").order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
        return events


def write(tmp_path, data: bytes, name="pack.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rewritten(data: bytes, change=None, drop=(), add=None) -> bytes:
    """The pack rewritten as a tamperer would: entries changed (with a correct CRC), removed or
    added, everything else as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            content = old.read(info)
            if change and info.filename in change:
                content = change[info.filename](content)
            new.writestr(info, content)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of a name written twice: the point
            for name, content in (add or {}).items():
                new.writestr(name, content)
    return out.getvalue()


# --- what is in it -------------------------------------------------------------------------


def test_an_agency_pack_holds_exactly_what_it_reads(client, w):
    files = entries(download(client, w.officer_x))
    manifest = json.loads(files["manifest.json"])

    packed = [facility["id"] for facility in manifest["facilities"]]
    # Not B's (another agency's), not the deleted one, not C's (break-glass only).
    assert packed == [w.a1.id, w.a2.id]
    assert manifest["agency"] == {"id": w.x.id, "name": "Springfield PD"}
    for facility_id in packed:
        base = f"preplans/{facility_id}"
        as_api = client.get(f"{API}/preplans/{facility_id}", headers=w.officer_x).get_json()
        assert json.loads(files[f"{base}.json"]) == as_api
        geojson = client.get(
            f"{API}/preplans/{facility_id}", query_string={"format": "geojson"}, headers=w.officer_x
        )
        assert json.loads(files[f"{base}.geojson"]) == geojson.get_json()
        page = files[f"{base}.html"].decode()
        assert page.startswith("<!DOCTYPE html>") and as_api["facility"]["name"] in page
    assert "Propane &lt;cage&gt; &amp; dock" in files[f"preplans/{w.a2.id}.html"].decode()
    # Floor plans by content: the PNG both facilities list is in the pack once.
    pdf_path = f"floor-plans/{w.plans['pdf']['sha256']}.pdf"
    png_path = f"floor-plans/{w.plans['png']['sha256']}.png"
    assert files[pdf_path] == w.files["pdf"] and files[png_path] == w.files["png"]
    assert sorted(n for n in files if n.startswith("floor-plans/")) == sorted([pdf_path, png_path])
    assert manifest["facilities"][0]["floor_plans"] == [png_path]
    assert set(files) == {
        "README.txt",
        "index.html",
        "manifest.json",
        "manifest.sig",
        pdf_path,
        png_path,
        *(f"preplans/{i}.{ext}" for i in packed for ext in ("json", "geojson", "html")),
    }
    assert all(DOOR_CODE.encode() not in content for content in files.values())
    index = files["index.html"].decode()
    assert f'href="preplans/{w.a2.id}.html"' in index and f'href="{pdf_path}"' in index


def test_the_manifest_lists_every_file_and_is_signed_with_the_published_key(client, w, tmp_path):
    data = download(client, w.officer_x)
    files = entries(data)
    manifest_bytes = files["manifest.json"]
    manifest = json.loads(manifest_bytes)
    key, response = public_key(client)

    key.verify(files["manifest.sig"], manifest_bytes)  # raises when it does not match
    assert manifest["signature"]["key_id"] == keys.key_id(key)
    assert response.headers["ETag"] == f'"{keys.key_id(key)}"'
    listed = {item["path"]: item for item in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json", "manifest.sig"}
    for path, item in listed.items():
        assert item["size"] == len(files[path])
        assert item["sha256"] == hashlib.sha256(files[path]).hexdigest()
    assert manifest["format"] == verify.FORMAT and manifest["unavailable"] == []
    assert manifest["generated_by"].startswith("user:")
    verified = verify.verify_pack(write(tmp_path, data), key)
    assert verified.key_id == keys.key_id(key) and verified.warnings == []


def test_a_cad_client_and_an_admin_for_the_agency_get_the_same_pre_plans(client, w):
    def packed(headers, **params):
        manifest = json.loads(entries(download(client, headers, **params))["manifest.json"])
        return [facility["id"] for facility in manifest["facilities"]], manifest

    ids, manifest = packed(w.cad_x)
    assert ids == [w.a1.id, w.a2.id] and manifest["generated_by"].startswith("cad:")
    assert packed(w.admin, agency_id=w.x.id)[0] == [w.a1.id, w.a2.id]
    assert packed(w.admin, agency_id=w.y.id)[0] == [w.b1.id]
    assert packed(w.officer_y)[0] == [w.b1.id]
    assert packed(w.officer_x, agency_id=w.x.id)[0] == [w.a1.id, w.a2.id]  # its own: fine


def test_an_agency_without_mous_gets_an_empty_pack_that_verifies(client, make, tmp_path):
    lonely = make.agency(name="Nowhere FD")
    data = download(client, make.officer(lonely))
    key, _ = public_key(client)

    verified = verify.verify_pack(write(tmp_path, data), key)

    assert verified.manifest["facilities"] == [] and len(verified.manifest["files"]) == 2


def test_the_pack_is_one_audit_event_listing_the_facilities(client, app, w):
    views = count(app, AuditEvent, AuditEvent.action == "preplan.view")
    download(client, w.officer_x)
    download(client, w.admin, agency_id=w.y.id)

    first, second = pack_events(app)
    assert (first.record_type, first.record_id, first.role) == ("agency", w.x.id, "agency_user")
    assert first.details["facility_ids"] == [w.a1.id, w.a2.id]
    assert first.details["floor_plans"] == 2
    configured = keys.load_signing_key(TEST_KEYS["REGISTRY_PACK_SIGNING_KEY"])
    assert first.details["key_id"] == keys.key_id(configured.public_key())
    assert (second.role, second.record_id, second.details["facility_ids"]) == (
        "admin",
        w.y.id,
        [w.b1.id],
    )
    # One event, not one read per facility.
    assert count(app, AuditEvent, AuditEvent.action == "preplan.view") == views


def test_the_event_is_committed_before_the_first_byte(client, app, w, monkeypatch):
    """The view's transaction ends (and the event is written) when it returns; the archive is
    written afterwards, as it is sent: a caller who stops reading was still audited."""
    seen, real_stream = [], archive.stream

    def watched(contents, key):
        seen.append([event.details["facility_ids"] for event in pack_events(app)])
        yield from real_stream(contents, key)

    monkeypatch.setattr(archive, "stream", watched)
    download(client, w.officer_x)

    assert seen == [[[w.a1.id, w.a2.id]]]


# --- who may, and bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "params", "status", "field"),
    [
        ("anonymous", {}, 401, None),
        ("manager_a", {}, 403, None),
        ("auditor", {}, 403, None),
        ("officer_x", {"agency_id": "other"}, 403, None),
        ("cad_x", {"agency_id": "other"}, 403, None),
        ("admin", {}, 422, "agency_id"),
        ("admin", {"agency_id": 987654}, 404, None),
        ("admin", {"agency_id": "abc"}, 422, "agency_id"),
        ("admin", {"agency_id": 0}, 422, "agency_id"),
        ("admin", {"agency_id": 2**31}, 422, "agency_id"),
        ("officer_x", {"format": "tar"}, 422, "format"),
        ("officer_x", {"agency_id": "1\x00"}, 422, None),
    ],
)
def test_refusals_are_problems_and_change_nothing(client, app, w, caller, params, status, field):
    headers = {} if caller == "anonymous" else getattr(w, caller)
    if params.get("agency_id") == "other":
        params = {"agency_id": w.y.id}
    events = count(app, AuditEvent)

    response = client.get(PACK, query_string=params, headers=headers)

    assert_problem(response, status, field)
    assert count(app, AuditEvent) == events


def test_the_pack_has_a_budget_of_its_own(build_app, app, w):
    client = build_app(REGISTRY_PACK_RATE_LIMIT="2/hour").test_client()
    # A refused request spends nothing.
    assert client.get(PACK, query_string={"x": 1}, headers=w.officer_x).status_code == 422
    for _ in range(2):
        assert client.get(PACK, headers=w.officer_x).status_code == 200
    events = count(app, AuditEvent)

    refused = client.get(PACK, headers=w.officer_x)

    body = assert_problem(refused, 429)
    assert body["type"].endswith("too-many-requests")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert count(app, AuditEvent) == events  # nothing built, nothing audited
    # Another client's budget is its own; JSON reads go on.
    assert client.get(PACK, headers=w.cad_x).status_code == 200
    assert client.get(f"{API}/preplans/{w.a1.id}", headers=w.officer_x).status_code == 200


def test_head_builds_nothing_and_audits_nothing(client, app, w):
    events = count(app, AuditEvent)

    response = client.head(PACK, headers=w.officer_x)

    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.data == b"" and count(app, AuditEvent) == events
    assert client.head(PACK, headers=w.manager_a).status_code == 403


def test_a_bad_pack_budget_setting_is_refused_at_start(build_app):
    with pytest.raises(registry_config.ConfigError, match="REGISTRY_PACK_RATE_LIMIT"):
        build_app(REGISTRY_PACK_RATE_LIMIT="lots")


# --- the verifier ---------------------------------------------------------------------------


@pytest.fixture
def pack(client, w, tmp_path):
    data = download(client, w.officer_x)
    key, _ = public_key(client)
    return SimpleNamespace(data=data, key=key, path=write(tmp_path, data), w=w)


def _flip_last_byte(content: bytes) -> bytes:
    return content[:-1] + bytes([content[-1] ^ 1])


def _raw_flip(data: bytes, needle: bytes) -> bytes:
    """One byte changed in the archive itself (no CRC fixed): damage, or a careless tamperer."""
    at = data.index(needle)
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


TAMPERING = {
    "changed-json": lambda p: rewritten(
        p.data, change={f"preplans/{p.w.a2.id}.json": lambda c: c.replace(b"Sam", b"Tom")}
    ),
    "changed-page": lambda p: rewritten(
        p.data, change={f"preplans/{p.w.a1.id}.html": _flip_last_byte}
    ),
    "changed-floor-plan": lambda p: rewritten(
        p.data, change={f"floor-plans/{p.w.plans['pdf']['sha256']}.pdf": _flip_last_byte}
    ),
    "changed-readme": lambda p: rewritten(
        p.data, change={"README.txt": lambda c: c + b"\nCall 555-0100 instead.\n"}
    ),
    "damaged-floor-plan-bytes": lambda p: _raw_flip(p.data, p.w.files["pdf"][40:60]),
    "changed-manifest": lambda p: rewritten(
        p.data,
        change={"manifest.json": lambda c: c.replace(b'"Springfield PD"', b'"Shelbyville PD"')},
    ),
    "changed-signature": lambda p: rewritten(p.data, change={"manifest.sig": _flip_last_byte}),
    "removed-file": lambda p: rewritten(p.data, drop={f"preplans/{p.w.a1.id}.geojson"}),
    "removed-signature": lambda p: rewritten(p.data, drop={"manifest.sig"}),
    "added-file": lambda p: rewritten(p.data, add={"preplans/999.html": b"<p>Enter here</p>"}),
    "added-directory": lambda p: rewritten(p.data, add={"extra/": b""}),
    "entry-twice": lambda p: rewritten(p.data, add={f"preplans/{p.w.a1.id}.json": b"{}"}),
    "cut-short": lambda p: p.data[: len(p.data) // 2],
    "not-a-zip": lambda p: b"PK\x03\x04 but nothing else",
}
EXPECTED = {
    "changed-json": "json differs from the manifest's SHA-256",
    "changed-page": "html differs from the manifest's SHA-256",
    "changed-floor-plan": ".pdf differs from the manifest's SHA-256",
    "changed-readme": "README.txt has",
    "damaged-floor-plan-bytes": ".pdf cannot be read",
    "changed-manifest": "manifest.sig does not match manifest.json",
    "changed-signature": "manifest.sig does not match manifest.json",
    "removed-file": ".geojson is missing",
    "removed-signature": "manifest.sig is missing",
    "added-file": "preplans/999.html is not in the manifest",
    "added-directory": "extra/ is not in the manifest",
    "entry-twice": "more than one entry named",
    "cut-short": "not a whole ZIP archive",
    "not-a-zip": "not a whole ZIP archive",
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_the_verifier_refuses_a_tampered_pack(pack, tmp_path, capsys, case):
    tampered = write(tmp_path, TAMPERING[case](pack), "tampered.zip")
    key_file = write(tmp_path, keys.public_key_pem(pack.key), "key.pem")

    with pytest.raises(verify.PackRefused) as refused:
        verify.verify_pack(tampered, pack.key)
    status = verify.main([str(tampered), "--public-key", str(key_file)])

    assert any(EXPECTED[case] in problem for problem in refused.value.problems), refused.value
    assert status == 1
    out = capsys.readouterr()
    assert out.out == "" and "REFUSED" in out.err and EXPECTED[case] in out.err
    # The untouched pack still verifies.
    assert verify.main([str(pack.path), "--public-key", str(key_file)]) == 0


def test_the_verifier_refuses_another_key_and_names_the_one_that_signed(pack, tmp_path, capsys):
    other = keys.load_signing_key(keys.new_signing_key_pem()).public_key()
    key_file = write(tmp_path, keys.public_key_pem(other), "other.pem")

    assert verify.main([str(pack.path), "--public-key", str(key_file)]) == 1

    err = capsys.readouterr().err
    assert keys.key_id(pack.key) in err and keys.key_id(other) in err


def test_the_verifier_refuses_a_key_file_that_is_no_key(pack, tmp_path, capsys):
    not_a_key = write(tmp_path, b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    assert verify.main([str(pack.path), "--public-key", str(not_a_key)]) == 2
    assert "cannot use the public key" in capsys.readouterr().err


def test_the_verifier_runs_offline_as_a_module(pack, tmp_path):
    """`python -m registry.packs` with no configuration, no database and no network:
    only the package, the pack and the key."""
    key_file = write(tmp_path, keys.public_key_pem(pack.key), "registry-pack-key.pem")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
    elsewhere = tmp_path / "laptop"
    elsewhere.mkdir()

    def run(path):
        command = [sys.executable, "-m", "registry.packs", str(path)]
        return subprocess.run(  # noqa: S603 - this interpreter, on files this test wrote
            [*command, "--public-key", str(key_file)],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = run(pack.path)
    bad = run(write(tmp_path, TAMPERING["changed-json"](pack), "bad.zip"))

    assert good.returncode == 0 and good.stdout.startswith("OK: pack of Springfield PD"), good
    assert bad.returncode == 1 and "differs from the manifest's SHA-256" in bad.stderr, bad
    assert list(elsewhere.iterdir()) == []  # wrote nothing (no instance/, no keys)


def test_flask_packs_verify(app, pack, tmp_path):
    runner = app.test_cli_runner()
    key_file = write(tmp_path, keys.public_key_pem(pack.key), "key.pem")
    tampered = write(tmp_path, TAMPERING["removed-file"](pack), "tampered.zip")

    own_key = runner.invoke(args=["packs", "verify", str(pack.path)])
    given_key = runner.invoke(args=["packs", "verify", str(pack.path), "--public-key", key_file])
    refused = runner.invoke(args=["packs", "verify", str(tampered)])
    printed = runner.invoke(args=["packs", "public-key"])

    assert own_key.exit_code == 0 and "OK: pack of Springfield PD" in own_key.output
    assert given_key.exit_code == 0
    assert refused.exit_code == 1 and ".geojson is missing" in refused.output
    assert printed.exit_code == 0 and keys.load_public_key(printed.stdout.encode()) == pack.key


def test_openssl_verifies_the_signature_too(pack, tmp_path):
    """The README's way without the registry's software: OpenSSL 3 checks the signature."""
    files = entries(pack.data)
    manifest, signature = write(tmp_path, files["manifest.json"], "m.json"), tmp_path / "m.sig"
    signature.write_bytes(files["manifest.sig"])
    key_file = write(tmp_path, keys.public_key_pem(pack.key), "key.pem")
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(key_file), "-rawin"]
    command += ["-in", str(manifest), "-sigfile", str(signature)]

    def openssl_accepts() -> bool:
        # openssl from PATH, as the README tells a laptop's user to run it.
        done = subprocess.run(command, capture_output=True, timeout=30)  # noqa: S603
        return done.returncode == 0

    assert openssl_accepts()
    manifest.write_bytes(files["manifest.json"].replace(b"Springfield", b"Springfielt"))
    assert not openssl_accepts()


# --- the file store -------------------------------------------------------------------------


class _FailingStore:
    """The app's store, except that `broken` keys fail to open or give other bytes."""

    def __init__(self, store, fail=(), wrong=()):
        self.store, self.fail, self.wrong = store, set(fail), set(wrong)

    def open(self, key):
        if key in self.fail:
            raise StorageError(f"cannot read {key}: gone")
        if key in self.wrong:
            return io.BytesIO(b"not the floor plan")
        return self.store.open(key)

    def __getattr__(self, name):
        return getattr(self.store, name)


@pytest.fixture
def swap_store(app):
    previous = app.extensions["registry.storage"]

    def swap(**broken):
        app.extensions["registry.storage"] = _FailingStore(previous, **broken)

    yield swap
    app.extensions["registry.storage"] = previous


def test_a_floor_plan_the_store_cannot_open_is_listed_as_unavailable(
    client, w, swap_store, tmp_path, capsys
):
    sha = w.plans["pdf"]["sha256"]
    swap_store(fail={blob_key(sha)})
    data = download(client, w.officer_x)
    key, _ = public_key(client)

    verified = verify.verify_pack(write(tmp_path, data), key)

    path = f"floor-plans/{sha}.pdf"
    assert path not in entries(data)
    assert verified.manifest["unavailable"] == [
        {"path": path, "floor_plan_id": w.plans["pdf"]["id"], "reason": "file store failed"}
    ]
    assert verified.warnings == [f"{path} is not in the pack: file store failed"]


def test_bytes_that_are_not_the_floor_plan_end_the_download(client, w, swap_store):
    swap_store(wrong={blob_key(w.plans["pdf"]["sha256"])})
    response = client.get(PACK, headers=w.officer_x)
    assert response.status_code == 200  # the answer had started

    with pytest.raises(archive.PackBroken):
        response.get_data()


# --- streaming ------------------------------------------------------------------------------

PLAN_BYTES = 4 * 1024 * 1024


def stored_plan(app, facility_id: int, seed: int) -> None:
    """A large floor plan put straight into the store (the upload checks are not the subject)."""
    content = hashlib.sha256(str(seed).encode()).digest() * (PLAN_BYTES // 32)
    sha = hashlib.sha256(content).hexdigest()
    preview = sample_files.png()
    with app.app_context(), transaction.session_scope() as session:
        store = app.extensions["registry.storage"]
        store.put(blob_key(sha), io.BytesIO(content), len(content), "application/pdf")
        store.put(preview_key(sha), io.BytesIO(preview), len(preview), "image/png")
        session.add(
            FileBlob(
                sha256=sha,
                size=len(content),
                media_type="application/pdf",
                preview_size=len(preview),
            )
        )
        session.flush()
        session.add(
            FloorPlan(
                facility_id=facility_id,
                sha256=sha,
                revision=1,
                file_name="big.pdf",
                uploaded_by="user:1",
                building="Main",
                level_number=0,
                level_label="Ground",
                title="Big plan",
            )
        )
        session.execute(
            update(Facility)
            .where(Facility.id == facility_id)
            .values(preplan_version=Facility.preplan_version + 1)
        )


def test_a_large_pack_is_streamed_not_held(app, make, tmp_path):
    """Six facilities with a 4 MiB plan each: 24 MiB of plans, while the pack is written in
    chunks of about 1 MiB (bench/offline_pack.py measures larger packs)."""
    assert isinstance(app.extensions["registry.storage"], LocalBlobStore)
    organization, agency = make.organization(), make.agency()
    make.mou(organization, agency)
    facilities = [make.facility(organization) for _ in range(6)]
    for seed, facility in enumerate(facilities):
        stored_plan(app, facility.id, seed)
    officer = make.user("agency_user", agency=agency)

    with app.test_request_context():
        principal = Principal("user", officer.id, "agency_user", agency_id=agency.id)
        session = db.session()
        found, reader = agency_reader(session, principal, None)
        contents = pack_contents(session, principal, found, reader, "http://test/", utcnow())
        chunks, largest, total = 0, 0, 0
        out = (tmp_path / "pack.zip").open("wb")
        tracemalloc.start()
        for chunk in archive.stream(contents, signing_key()):
            chunks, largest, total = chunks + 1, max(largest, len(chunk)), total + len(chunk)
            out.write(chunk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.close()
        key = signing_key().public_key()

    assert total > 6 * PLAN_BYTES and chunks > 6 * 4
    assert largest <= 1024 * 1024 + 64 * 1024
    assert peak < 6 * 1024 * 1024, peak  # a quarter of the plans' bytes, whatever their number
    assert len(verify.verify_pack(tmp_path / "pack.zip", key).manifest["facilities"]) == 6


# --- the key --------------------------------------------------------------------------------


def test_the_public_key_needs_no_token_and_matches_the_signing_key(client):
    key, response = public_key(client)
    configured = keys.load_signing_key(TEST_KEYS["REGISTRY_PACK_SIGNING_KEY"]).public_key()
    assert key == configured
    assert response.data.startswith(b"-----BEGIN PUBLIC KEY-----")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("REGISTRY_ENV", "REGISTRY_PACK_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REGISTRY_JWT_SECRET", TEST_KEYS["JWT_SECRET_KEY"])
    monkeypatch.setenv("REGISTRY_SECRET_KEY", TEST_KEYS["SECRET_KEY"])
    monkeypatch.setenv("REGISTRY_FIELD_KEYS", TEST_KEYS["REGISTRY_FIELD_KEYS"])
    monkeypatch.setattr(registry_config, "INSTANCE_DIR", tmp_path / "instance")
    return monkeypatch


def test_production_requires_a_signing_key(clean_env, tmp_path):
    clean_env.setenv("REGISTRY_ENV", "production")
    with pytest.raises(registry_config.ConfigError, match="REGISTRY_PACK_SIGNING_KEY"):
        registry_config.load_config({"REGISTRY_DATABASE_URL": "sqlite://"})
    assert not (tmp_path / "instance").exists()

    pem = keys.new_signing_key_pem()
    clean_env.setenv("REGISTRY_PACK_SIGNING_KEY", pem)
    assert registry_config.load_config()["REGISTRY_PACK_SIGNING_KEY"] == pem


def test_development_generates_one_key_and_keeps_it(clean_env, tmp_path):
    first = registry_config.load_config()["REGISTRY_PACK_SIGNING_KEY"]
    again = registry_config.load_config()["REGISTRY_PACK_SIGNING_KEY"]

    assert first == again == (tmp_path / "instance" / "pack-signing.key").read_text().strip()
    assert first.startswith("-----BEGIN PRIVATE KEY-----")
    assert isinstance(keys.load_signing_key(first), Ed25519PrivateKey)


@pytest.mark.parametrize(
    "value",
    [
        "c2hvcnQ=",  # 5 bytes
        "not base64 at all!",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        # An RSA or EC key is not an Ed25519 key.
        "EC",
    ],
)
def test_a_signing_key_that_is_no_ed25519_key_is_refused(clean_env, value):
    if value == "EC":
        value = (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
    clean_env.setenv("REGISTRY_PACK_SIGNING_KEY", value)
    with pytest.raises(registry_config.ConfigError, match="REGISTRY_PACK_SIGNING_KEY"):
        registry_config.load_config()
