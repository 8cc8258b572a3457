"""The pack as a ZIP archive, written while it is sent.

Why ZIP: a laptop opens it with no extra software (Windows Explorer, macOS Finder, any Linux
desktop) and can open one facility's page without unpacking the rest; and Python's zipfile
writes one to a stream that cannot seek (each entry's CRC and sizes follow its data in a data
descriptor), so nothing is held back: each entry leaves as it is written, a floor plan in
1 MiB chunks read from the file store. Memory stays at about one chunk and one page whatever
the pack's size (bench/offline_pack.py measures it).

Layout:
    README.txt                  what this is and how to verify it
    index.html                  every facility, with links to the files below
    preplans/<id>.json          the pre-plan, as GET /api/v1/preplans/<id> answers it
    preplans/<id>.geojson       its map layer (?format=geojson)
    preplans/<id>.html          its printable page (the HTML page: ~2 ms each, where a PDF
                                takes ~0.1 s of CPU, a minute for 500 facilities)
    floor-plans/<sha256>.<ext>  the current floor plans the pre-plans list (once per content)
    manifest.json               every file above with its size and SHA-256 (written last: the
                                hashes are known once the files are written)
    manifest.sig                the Ed25519 signature of manifest.json's exact bytes

A floor plan the file store cannot open is left out and listed in the manifest's `unavailable`
(the rest of the pack is still worth carrying). A floor plan whose bytes turn out different
from their content address, or a store that fails mid-file, ends the download instead: the
archive is then cut short, and no reader or verifier takes a cut ZIP for a whole one.
"""

import hashlib
import json
import logging
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from jinja2 import Environment

from ..api.router import API_PREFIX
from ..floorplans.inspection import TYPES
from ..floorplans.storage import StorageError, blob_key, storage
from ..preplans import printing
from . import keys
from .service import PackContents
from .verify import FORMAT, MANIFEST, SIGNATURE

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024
EXTENSIONS = {file_type.media_type: file_type.extension for file_type in TYPES}
PUBLIC_KEY_PATH = f"{API_PREFIX}/packs/public-key"


class PackBroken(Exception):
    """The file store gave bytes that are not the floor plan the registry accepted."""


class _Spool:
    """Where zipfile writes; the generator hands on what gathered after each step. No `tell`
    or `seek`: zipfile then writes data descriptors instead of seeking back."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class _Writer:
    """The ZIP being written, and the manifest's list of what is in it."""

    def __init__(self, contents: PackContents):
        self.spool = _Spool()
        self.zip = zipfile.ZipFile(self.spool, "w")
        self.date_time = contents.generated_at.timetuple()[:6]
        self.files: list[dict] = []

    def _entry(self, path: str, size: int, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.file_size = size  # lets zipfile choose ZIP64 for an entry over 4 GiB up front
        info.external_attr = 0o644 << 16
        return info

    def add(self, path: str, data: bytes, listed: bool = True) -> bytes:
        with self.zip.open(self._entry(path, len(data), compress=True), "w") as entry:
            entry.write(data)
        if listed:
            self.files.append(
                {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            )
        return self.spool.take()

    def add_stream(self, path: str, source: BinaryIO, size: int, sha256: str) -> Iterator[bytes]:
        """A stored file, in chunks; stored as is (PDF, PNG, JPEG, WebP are compressed)."""
        digest, written = hashlib.sha256(), 0
        with self.zip.open(self._entry(path, size, compress=False), "w") as entry:
            while chunk := _read(source, path):
                entry.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                yield self.spool.take()
        if written != size or digest.hexdigest() != sha256:
            raise PackBroken(f"{path}: the file store gave {written} bytes that are not it")
        self.files.append({"path": path, "size": size, "sha256": sha256})
        yield self.spool.take()

    def close(self) -> bytes:
        self.zip.close()
        return self.spool.take()


def _read(source: BinaryIO, path: str) -> bytes:
    try:
        return source.read(_CHUNK)
    except OSError as exc:  # StorageError from S3, OSError from a disk
        raise PackBroken(f"{path}: the file store failed mid-file: {exc}") from exc


def stream(contents: PackContents, signing_key) -> Iterator[bytes]:
    """The pack's bytes, entry by entry. Runs in an application context (the file store)."""
    writer = _Writer(contents)
    key_id = keys.key_id(signing_key.public_key())
    yield writer.add("README.txt", _readme(contents, key_id).encode("utf-8"))
    yield writer.add("index.html", _index(contents).encode("utf-8"))
    facilities, unavailable, written = [], [], set()
    for facility in contents.facilities:
        base = f"preplans/{facility.id}"
        yield writer.add(f"{base}.json", _json(facility.document))
        yield writer.add(f"{base}.geojson", _json(facility.geojson))
        yield writer.add(f"{base}.html", _page(contents, facility))
        plan_paths = []
        for plan in facility.document["floor_plans"]:
            path = plan_path(plan)
            plan_paths.append(path)
            if path in written:
                continue  # the same content listed twice (a plan shared by two facilities)
            written.add(path)
            try:
                source = storage().open(blob_key(plan["sha256"]))
            except StorageError as exc:
                log.error("file store: %s (floor plan %s, for a pack)", exc, plan["id"])
                unavailable.append(
                    {"path": path, "floor_plan_id": plan["id"], "reason": "file store failed"}
                )
                continue
            with source:
                yield from writer.add_stream(path, source, plan["size"], plan["sha256"])
        facilities.append(
            {
                "id": facility.id,
                "name": facility.document["facility"]["name"],
                "preplan": f"{base}.json",
                "geojson": f"{base}.geojson",
                "page": f"{base}.html",
                "floor_plans": plan_paths,
            }
        )
    manifest = _manifest(contents, key_id, facilities, writer.files, unavailable)
    yield writer.add(MANIFEST, manifest, listed=False)
    yield writer.add(SIGNATURE, signing_key.sign(manifest), listed=False)
    yield writer.close()


def plan_path(plan: dict) -> str:
    """A floor plan's name in the pack: its content address, so one content is one file."""
    return f"floor-plans/{plan['sha256']}{EXTENSIONS.get(plan['media_type'], '')}"


def _json(value) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def _page(contents: PackContents, facility) -> bytes:
    sheet = printing.printable(
        contents.reader, facility.document, contents.names, contents.generated_at
    )
    return printing.render(sheet, "html")


def _manifest(contents, key_id, facilities, files, unavailable) -> bytes:
    manifest = {
        "format": FORMAT,
        "format_version": 1,
        "registry": contents.registry,
        "agency": {"id": contents.agency_id, "name": contents.agency_name},
        "generated_at": contents.generated_at.isoformat(),
        "generated_by": contents.generated_by,
        "signature": {
            "algorithm": keys.ALGORITHM,
            "key_id": key_id,
            "public_key": PUBLIC_KEY_PATH,
            "signs": f"the exact bytes of {MANIFEST}; the signature is {SIGNATURE}",
        },
        "facilities": facilities,
        "files": files,
        "unavailable": unavailable,
    }
    return json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")


def _readme(contents: PackContents, key_id: str) -> str:
    return f"""Offline pre-plan pack of {contents.agency_name}
from {contents.registry}, generated {contents.generated_at:%Y-%m-%d %H:%M} UTC
by {contents.generated_by}: {len(contents.facilities)} facilities.

Open index.html: every facility with its printable page, its pre-plan (JSON, GeoJSON) and its
current floor plans. This copy was right when it was generated and does not update itself:
when the link is back, the registry is the reference. Door codes and key locations are never
in a pack. It holds contacts' phone numbers: keep it like printed pre-plans (an encrypted disk).

Verify it before relying on it, with the registry's public key (fetched while online from
{contents.registry.rstrip("/")}{PUBLIC_KEY_PATH} and kept; this pack names key {key_id}):

    python -m registry.packs THIS.zip --public-key registry-pack-key.pem

or without the registry's software, with OpenSSL 3 (the signature), then compare each file's
SHA-256 (sha256sum) with the "files" of manifest.json:

    openssl pkeyutl -verify -pubin -inkey registry-pack-key.pem -rawin \\
        -in manifest.json -sigfile manifest.sig

A pack that fails either check was changed or damaged: do not rely on it.
"""


_INDEX = Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Pre-plans of {{ agency }}</title>
<style>body{font-family:sans-serif;margin:1.5em}td,th{padding:.2em .6em;text-align:left;
border-bottom:1px solid #ccc}table{border-collapse:collapse}</style></head>
<body>
<h1>Pre-plans of {{ agency }}</h1>
<p>{{ count }} facilities, generated {{ generated }} UTC from {{ registry }}. Verify this pack
before relying on it (README.txt).</p>
<table>
<thead><tr><th>Facility</th><th>Address</th><th>Pre-plan</th><th>Floor plans</th></tr></thead>
<tbody>
{% for f in facilities %}<tr><td><a href="{{ f.page }}">{{ f.name }}</a> (#{{ f.id }})</td>
<td>{{ f.address }}</td><td><a href="{{ f.page }}">page</a> · <a href="{{ f.json }}">JSON</a> ·
<a href="{{ f.geojson }}">GeoJSON</a></td><td>{% for label, path in f.plans %}<a href="{{ path }}">{{ label }}</a>{% if not loop.last %} · {% endif %}{% endfor %}</td></tr>
{% endfor %}</tbody>
</table>
</body>
</html>
"""
)


def _index(contents: PackContents) -> str:
    rows = []
    for facility in contents.facilities:
        record, base = facility.document["facility"], f"preplans/{facility.id}"
        rows.append(
            {
                "id": facility.id,
                "name": record["name"],
                "address": f"{record['address_line1']}, {record['city']}, {record['state']}",
                "page": f"{base}.html",
                "json": f"{base}.json",
                "geojson": f"{base}.geojson",
                "plans": [
                    (plan.get("level") or f"level {plan.get('level_number')}", plan_path(plan))
                    for plan in facility.document["floor_plans"]
                ],
            }
        )
    return _INDEX.render(
        agency=contents.agency_name,
        count=len(rows),
        generated=f"{contents.generated_at:%Y-%m-%d %H:%M}",
        registry=contents.registry,
        facilities=rows,
    )
