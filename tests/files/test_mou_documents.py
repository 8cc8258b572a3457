"""The signed MOU file: the same checks, storage and versions as floor plans; readable by whoever
may read the MOU, written by whoever may write it."""

from types import SimpleNamespace

import pytest

from registry.floorplans.models import FileBlob, MouDocument
from registry.floorplans.storage import blob_key, preview_key
from tests import file_store, sample_files
from tests.conftest import assert_problem, count
from tests.file_store import file_part, stored_keys

store, client = file_store.store, file_store.client  # fixtures

API = "/api/v1"


@pytest.fixture
def deal(make):
    org, other_org = make.organization(), make.organization()
    agency, other_agency = make.agency(), make.agency()
    make.facility(org)
    mou = make.mou(org, agency, status="draft")
    return SimpleNamespace(
        mou=mou,
        admin=make.admin(),
        manager=make.manager(org),
        other_manager=make.manager(other_org),
        officer=make.officer(agency),
        cad=make.headers(make.cad_client(agency)),
        other_officer=make.officer(other_agency),
    )


def upload(client, headers, mou_id, content, name="signed.pdf", **fields):
    return client.post(
        f"{API}/mous/{mou_id}/documents",
        data={**fields, "file": file_part(content, name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def created(response) -> dict:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_the_signed_mou_is_stored_versioned_and_served(client, app, deal, store):
    first_bytes, second_bytes = sample_files.pdf(), sample_files.jpeg()
    first = created(upload(client, deal.manager, deal.mou.id, first_bytes, title="Signed copy"))
    assert first["mou_id"] == deal.mou.id and first["revision"] == 1
    assert first["title"] == "Signed copy" and first["media_type"] == "application/pdf"
    second = created(upload(client, deal.manager, deal.mou.id, second_bytes, "scan.jpg"))
    assert second["revision"] == 2 and second["title"] is None

    # The agency of the MOU reads it (even while the MOU is a draft).
    listing = client.get(f"{API}/mous/{deal.mou.id}/documents", headers=deal.officer)
    assert [d["id"] for d in listing.get_json()["items"]] == [second["id"]]
    versions = client.get(f"{API}/mou-documents/{second['id']}/versions", headers=deal.cad)
    assert [d["revision"] for d in versions.get_json()["items"]] == [2, 1]
    download = client.get(second["url"], headers=deal.officer)
    assert download.data == second_bytes and download.mimetype == "image/jpeg"
    assert download.headers["Content-Disposition"] == "attachment; filename=scan.jpg"
    assert download.headers["Content-Security-Policy"] == "sandbox"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(second["url"] + "?version=1", headers=deal.cad).data == first_bytes
    part = client.get(first["url"], headers={**deal.officer, "Range": "bytes=0-4"})
    assert part.status_code == 206 and part.data == b"%PDF-"
    preview = client.get(first["preview_url"], headers=deal.officer)
    assert preview.status_code == 200 and preview.mimetype == "image/png"

    assert stored_keys(store) == {
        key(d["sha256"]) for d in (first, second) for key in (blob_key, preview_key)
    }


@pytest.mark.parametrize(
    ("content", "name", "status"),
    [
        (sample_files.HTML, "signed.pdf", 415),
        (sample_files.png_with_markup(), "signed.png", 415),
        (b"", "signed.pdf", 415),
        (sample_files.png(), "signed.pdf", 415),
        (sample_files.png_claiming(60_000, 60_000), "signed.png", 413),
    ],
)
def test_the_same_checks_apply(client, app, deal, store, content, name, status):
    assert_problem(upload(client, deal.manager, deal.mou.id, content, name), status)
    assert count(app, MouDocument) == 0 and count(app, FileBlob) == 0
    assert stored_keys(store) == set()


def test_who_may_read_and_write(client, app, deal, store):
    document = created(upload(client, deal.manager, deal.mou.id, sample_files.pdf()))
    item = f"{API}/mou-documents/{document['id']}"
    reads = [f"{API}/mous/{deal.mou.id}/documents", item, f"{item}/versions", f"{item}/file"]
    for who in ("admin", "manager", "officer", "cad"):
        for path in reads:
            assert client.get(path, headers=getattr(deal, who)).status_code == 200, (who, path)
    for who in ("other_manager", "other_officer"):
        headers = getattr(deal, who)
        for path in reads:
            assert_problem(client.get(path, headers=headers), 404)
        assert_problem(upload(client, headers, deal.mou.id, sample_files.pdf()), 404)
    etag = client.get(item, headers=deal.officer).headers["ETag"]
    for who in ("officer", "cad"):
        headers = getattr(deal, who)
        assert_problem(upload(client, headers, deal.mou.id, sample_files.pdf()), 403)
        tagged = {**headers, "If-Match": etag}
        assert_problem(client.patch(item, json={"title": "x"}, headers=tagged), 403)
        assert_problem(client.delete(item, headers=tagged), 403)
    assert count(app, MouDocument) == 1


def test_if_match_and_deletion(client, app, deal, store):
    document = created(upload(client, deal.manager, deal.mou.id, sample_files.pdf()))
    item = f"{API}/mou-documents/{document['id']}"
    assert_problem(client.patch(item, json={"title": "Signed"}, headers=deal.manager), 428)
    etag = client.get(item, headers=deal.manager).headers["ETag"]
    changed = client.patch(
        item, json={"title": "Signed"}, headers={**deal.manager, "If-Match": etag}
    )
    assert changed.status_code == 200 and changed.get_json()["title"] == "Signed"
    assert_problem(client.delete(item, headers={**deal.manager, "If-Match": etag}), 412)
    assert_problem(client.delete(item, headers=deal.manager), 428)
    gone = client.delete(item, headers={**deal.manager, "If-Match": changed.headers["ETag"]})
    assert gone.status_code == 204
    assert_problem(client.get(item, headers=deal.manager), 404)
    # Soft-deleted: the row and its file stay until the document is restored or its MOU goes.
    assert count(app, MouDocument, MouDocument.deleted_at.is_(None)) == 0
    assert count(app, FileBlob) == 1 and len(stored_keys(store)) == 2
    restored = client.post(f"{item}/restore", headers=deal.manager)
    assert restored.status_code == 200 and restored.get_json()["title"] == "Signed"
    assert client.get(item, headers=deal.manager).status_code == 200


def test_deleting_the_mou_collects_its_files(client, app, deal, store):
    created(upload(client, deal.manager, deal.mou.id, sample_files.pdf()))
    created(upload(client, deal.manager, deal.mou.id, sample_files.png(), "scan.png"))
    assert len(stored_keys(store)) == 4
    path = f"{API}/mous/{deal.mou.id}"
    etag = client.get(path, headers=deal.manager).headers["ETag"]
    assert client.delete(path, headers={**deal.manager, "If-Match": etag}).status_code == 204
    assert count(app, MouDocument) == 0 and count(app, FileBlob) == 0
    assert stored_keys(store) == set()
