"""Where uploaded files live: a local directory (the default) or an S3-compatible bucket.

Files are content-addressed: a blob's key is the SHA-256 of its bytes (`ab/ab12…`), its preview
sits beside it (`ab/ab12….preview.png`). A key therefore names one content forever, two records
may share a blob, and storing the same bytes twice is harmless. `put` never leaves a half-written
blob visible: the local store writes to a temporary name and renames it into place; S3 makes an
object visible only once its upload is complete. Which blobs may be deleted is decided by the
database (see blobs.py), never here.
"""

import io
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}(\.preview\.png)?$")
_CHUNK = 1024 * 1024


class StorageError(Exception):
    """The file store failed (disk, network, permissions) or lost a blob it should hold."""


def blob_key(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


def preview_key(sha256: str) -> str:
    return f"{blob_key(sha256)}.preview.png"


def sha256_of_key(key: str) -> str:
    return key.split("/")[1][:64]


def _checked(key: str) -> str:
    # Keys are built from hex digests only; anything else is a bug, never a path to follow.
    if not _KEY.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class BlobStore(Protocol):
    def put(self, key: str, source: BinaryIO, size: int, media_type: str) -> None:
        """Store `size` bytes read from `source` under `key`, all or nothing."""

    def exists(self, key: str) -> bool: ...

    def open(self, key: str) -> BinaryIO:
        """A readable, seekable file object (ranges are served by seeking)."""

    def delete(self, key: str) -> None:
        """Remove `key`; a key that is already gone is not an error."""

    def stored_before(self, cutoff: datetime) -> Iterator[str]:
        """Every key last written before `cutoff` (for pruning orphans)."""


class LocalBlobStore:
    """A directory tree: `<root>/ab/ab12…`. Half-written files are `.incoming-*` siblings."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put(self, key, source, size, media_type):
        path = self._path(key)
        draft = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, draft = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out, _CHUNK)
                if out.tell() != size:
                    raise StorageError(f"wrote {out.tell()} bytes of {size} for {key}")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(draft, 0o640)
            os.replace(draft, path)  # atomic: readers see the old state or the whole file
            draft = None
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc.strerror or exc}") from exc
        finally:
            if draft is not None:
                Path(draft).unlink(missing_ok=True)

    def exists(self, key):
        return self._path(key).is_file()

    def open(self, key):
        try:
            return open(self._path(key), "rb")  # the response closes it
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror or exc}") from exc

    def delete(self, key):
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc.strerror or exc}") from exc

    def stored_before(self, cutoff):
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*")):
            key = f"{path.parent.name}/{path.name}"
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if modified >= cutoff:
                continue
            if _KEY.match(key):
                yield key
            elif path.name.startswith(".incoming-"):
                path.unlink(missing_ok=True)  # left by a crash mid-write; never visible


class S3BlobStore:
    """An S3-compatible bucket (AWS, MinIO, Ceph …), keys under an optional prefix."""

    def __init__(self, bucket: str, prefix: str = "", client=None, **client_options):
        self.bucket, self.prefix = bucket, prefix
        self._client, self._client_options = client, client_options
        self._lock = threading.Lock()

    @property
    def client(self):
        # Created on first use (boto3 clients are thread-safe once made, not while being made).
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3})
                self._client = boto3.client("s3", config=config, **self._client_options)
        return self._client

    def _key(self, key: str) -> str:
        return self.prefix + _checked(key)

    def _call(self, what: str, key: str, method, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(Bucket=self.bucket, Key=self._key(key), **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot {what} {key}: {exc}") from exc

    def put(self, key, source, size, media_type):
        self._call(
            "write",
            key,
            self.client.put_object,
            Body=source,
            ContentLength=size,
            ContentType=media_type,
        )

    def exists(self, key):
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"cannot check {key}: {exc}") from exc
        except Exception as exc:
            raise StorageError(f"cannot check {key}: {exc}") from exc
        return True

    def open(self, key):
        head = self._call("read", key, self.client.head_object)
        return _S3Reader(self, key, head["ContentLength"])

    def delete(self, key):
        self._call("delete", key, self.client.delete_object)

    def stored_before(self, cutoff):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(self.prefix)
                    if _KEY.match(key) and item["LastModified"] < cutoff:
                        yield key
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot list the bucket: {exc}") from exc


class _S3Reader(io.RawIOBase):
    """A seekable reader over one object: each read after a seek is one ranged GET, streamed,
    so a Range request for the end of a large PDF fetches only that end."""

    def __init__(self, store: S3BlobStore, key: str, size: int):
        self.store, self.key, self.size = store, key, size
        self.position, self.body = 0, None

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        target = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        target += offset
        if target != self.position:
            self._drop_body()
            self.position = max(0, target)
        return self.position

    def readinto(self, buffer):
        if self.position >= self.size:
            return 0
        if self.body is None:
            response = self.store._call(
                "read",
                self.key,
                self.store.client.get_object,
                Range=f"bytes={self.position}-",
            )
            self.body = response["Body"]
        try:
            data = self.body.read(len(buffer))
        except Exception as exc:
            raise StorageError(f"cannot read {self.key}: {exc}") from exc
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def _drop_body(self):
        if self.body is not None:
            self.body.close()
            self.body = None

    def close(self):
        self._drop_body()
        super().close()


def make_store(config: dict) -> BlobStore:
    if config["REGISTRY_STORAGE"] == "s3":
        options = {
            "endpoint_url": config["REGISTRY_S3_ENDPOINT_URL"],
            "region_name": config["REGISTRY_S3_REGION"],
            "aws_access_key_id": config["REGISTRY_S3_ACCESS_KEY_ID"],
            "aws_secret_access_key": config["REGISTRY_S3_SECRET_ACCESS_KEY"],
        }
        return S3BlobStore(
            config["REGISTRY_S3_BUCKET"],
            config["REGISTRY_S3_PREFIX"],
            **{name: value for name, value in options.items() if value},
        )
    return LocalBlobStore(config["REGISTRY_STORAGE_DIR"])


def init_app(app: Flask) -> None:
    app.extensions["registry.storage"] = make_store(app.config)


def storage() -> BlobStore:
    """The application's file store."""
    return current_app.extensions["registry.storage"]


# Previews are 640-pixel PNGs, checked when uploaded (inspection.py); more is not a preview.
MAX_PREVIEW_BYTES = 4 * 1024 * 1024


def read_preview(sha256: str) -> bytes:
    """The PNG preview of a stored file, whole (for embedding in a printed pre-plan)."""
    key, data = preview_key(sha256), bytearray()
    with storage().open(key) as stream:
        # A raw stream (S3) may answer a read with less than asked: read until the end.
        while chunk := _read(stream, key, MAX_PREVIEW_BYTES + 1 - len(data)):
            data += chunk
            if len(data) > MAX_PREVIEW_BYTES:
                raise StorageError(f"{key} is larger than a preview can be")
    return bytes(data)


def _read(stream, key: str, size: int) -> bytes:
    try:
        return stream.read(size)
    except OSError as exc:
        raise StorageError(f"cannot read {key}: {exc.strerror or exc}") from exc
