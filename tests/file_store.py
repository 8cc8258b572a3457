"""Fixtures shared by the tests that upload files: the file store under test (a local directory
or moto's in-process S3), an app with small caps, helpers to upload floor plans and helpers to
inspect the store."""

import io
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from flask.testing import FlaskClient
from moto import mock_aws
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from registry import create_app, db
from registry.floorplans.storage import LocalBlobStore, S3BlobStore
from tests.conftest import TEST_KEYS

BUCKET = "registry-files-test"


@pytest.fixture(params=["local", "s3"])
def store(request, app, tmp_path):
    """The app's file store for one test: a fresh directory, or a fresh bucket in moto."""
    if request.param == "local":
        mock, blob_store = nullcontext(), LocalBlobStore(tmp_path / "files")
    else:
        mock = mock_aws()
        mock.start()
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=BUCKET)
        blob_store = S3BlobStore(BUCKET, "registry/", client=client)
    previous = app.extensions["registry.storage"]
    app.extensions["registry.storage"] = blob_store
    try:
        yield blob_store
    finally:
        app.extensions["registry.storage"] = previous
        if request.param == "s3":
            mock.stop()


def stored_keys(blob_store) -> set[str]:
    """Every key in the store (nothing else may be there: no temporary or stray files)."""
    keys = set(blob_store.stored_before(datetime.now(UTC) + timedelta(days=1)))
    if isinstance(blob_store, LocalBlobStore) and blob_store.root.exists():
        files = {
            str(path.relative_to(blob_store.root))
            for path in Path(blob_store.root).rglob("*")
            if path.is_file()
        }
        assert files == keys, f"stray files in the store: {files - keys}"
    return keys


class BufferedClient(FlaskClient):
    """A test client that consumes and closes every response, as a WSGI server does (a
    streamed file response holds an open file until it is closed)."""

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def client(app):
    return BufferedClient(app, app.response_class)


@pytest.fixture(scope="module")
def small_app(app):
    """The same database, with a 4 KiB upload cap and a 1,000-pixel image cap."""
    small = create_app(
        {
            "REGISTRY_DATABASE_URL": app.config["REGISTRY_DATABASE_URL"],
            "REGISTRY_MAX_UPLOAD_BYTES": 4096,
            "REGISTRY_MAX_IMAGE_PIXELS": 1000,
            **TEST_KEYS,
        }
    )
    yield small
    with small.app_context():
        db.engine().dispose()


@pytest.fixture
def small_client(small_app, store):
    small_app.extensions["registry.storage"] = store
    return BufferedClient(small_app, small_app.response_class)


def file_part(content: bytes, name: str, content_type: str = "application/octet-stream"):
    return (io.BytesIO(content), name, content_type)


def upload(client, headers, facility_id, content, name="plan.pdf", **fields):
    """POST a floor plan of `facility_id` (a level of the main building) with `content` as its
    file, or with no file at all when `content` is None; `fields` override the form."""
    form = {
        "building": "Main building",
        "level_number": "1",
        "level_label": "Level 1",
        "title": "First floor",
        **fields,
    }
    if content is not None:
        form["file"] = file_part(content, name)
    return client.post(
        f"/api/v1/facilities/{facility_id}/floor-plans",
        data=form,
        headers=headers,
        content_type="multipart/form-data",
    )


def created(response) -> dict:
    """The body of a 201, failing with the answer when it is anything else."""
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def plan_site(make):
    """A facility and a manager of its organization, who may upload its floor plans."""
    organization = make.organization()
    return make.facility(organization), make.manager(organization)


def upload_plan(client, plan_site, content: bytes, name: str = "plan.pdf"):
    """POST a floor plan with `content`. The body is encoded here, in memory: the test client
    would spool one over 500 KB to a temporary file it never closes (a ResourceWarning)."""
    facility, headers = plan_site
    boundary, body = encode_multipart(
        {
            "building": "Main building",
            "level_number": "1",
            "level_label": "Level 1",
            "title": "First floor",
            "file": FileStorage(io.BytesIO(content), name),
        }
    )
    return client.post(
        f"/api/v1/facilities/{facility.id}/floor-plans",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
