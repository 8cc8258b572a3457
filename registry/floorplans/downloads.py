"""Sending a stored file (a floor plan, an MOU document, or its PNG preview) to someone who may
read it: the one way out for the API's download routes and the console's previews alike, so
both answer with the same visibility, audit event and headers."""

import logging

from flask import Response, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import wrap_file

from .. import audit, errors
from ..access import break_glass
from ..auth.principal import Principal
from .blobs import unavailable
from .service import StoredFileService
from .storage import StorageError, blob_key, preview_key, storage

log = logging.getLogger(__name__)


def download(
    session: Session,
    principal: Principal,
    service: StoredFileService,
    record_id: int,
    version: int | None,
    preview: bool = False,
) -> Response:
    """Send the revision asked for, recorded in the audit trail. A floor plan of a facility the
    caller reads through break-glass is sent too, flagged like the pre-plan that lists it."""
    record, incident = service.readable_file(session, principal, record_id, version)
    audit.record(
        session,
        principal,
        f"{audit.record_type_of(record)}.{'preview' if preview else 'download'}",
        record=record,
        facility_id=service.history_facility_id(record),
        break_glass=incident is not None,
        details={
            "revision": record.revision,
            "incident_id": incident.id if incident is not None else None,
        },
    )
    response = send_stored_file(record, preview=preview)
    if incident is not None:
        response.headers[break_glass.HEADER] = break_glass.header_value(incident)
    return response


def send_stored_file(record, preview: bool = False) -> Response:
    """Stream a stored file (or its PNG preview), with ETag/304 and byte ranges."""
    blob = record.blob
    if preview:
        key, size, media_type = preview_key(blob.sha256), blob.preview_size, "image/png"
        etag, disposition = f"{blob.sha256}-preview", "inline"
        name = record.file_name.rsplit(".", 1)[0] + "-preview.png"
    else:
        key, size, media_type = blob_key(blob.sha256), blob.size, blob.media_type
        etag, disposition, name = blob.sha256, "attachment", record.file_name
    try:
        stream = storage().open(key)
    except StorageError as exc:
        log.error("file store: %s (record %s %s)", exc, type(record).__name__, record.id)
        raise unavailable() from None
    response = Response(
        wrap_file(request.environ, stream), mimetype=media_type, direct_passthrough=True
    )
    response.content_length = size
    response.set_etag(etag)
    response.last_modified = blob.created_at
    response.headers.set("Content-Disposition", disposition, filename=name)
    # Never rendered as anything but what it is, and never with the API's origin if it is.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.cache_control.private = True
    response.cache_control.no_cache = True
    try:
        return response.make_conditional(request, accept_ranges=True, complete_length=size)
    except RequestedRangeNotSatisfiable:
        response.close()
        raise errors.RangeNotSatisfiable(
            f"The file has {size} bytes; the requested range is outside it.",
            headers={"Content-Range": f"bytes */{size}"},
        ) from None
