"""What an uploaded file really is, decided from its bytes; and its preview.

Accepted: PDF, PNG, JPEG and WebP. The type comes from the content (never the name or the
client's Content-Type), then the whole file must decode with the decoder of that type alone:
Pillow opened with `formats=[...]` for images, PDFium (pypdfium2) for PDFs. Refused, with a
415 that says why: an empty file, anything else (HTML, SVG, scripts, archives …), files that
carry web markup anywhere (markup.py: polyglots a browser could run as a page, and markup in a
PNG's compressed text or a PDF's object streams), damaged or truncated files, encrypted PDFs,
PDFs with JavaScript or other actions that run or open something (pdf_actions.py), and a name
whose extension says another type.

Decoding and the preview (a PNG of at most 640 pixels a side: the image scaled down, or the
first page of a PDF drawn by PDFium) happen in a process of their own, checker.py, within a
budget from configuration: memory, CPU and wall-clock seconds, decoded bytes and images on a
PDF's first page, the pixel cap. Over budget is a 413 that says which limit. At most
REGISTRY_UPLOAD_CHECKS_AT_ONCE checks run at once for one database on one host (the others get
a 503 at once, with Retry-After): with gunicorn's sync workers a check holds its worker, and
uploads must never hold every worker while CAD lookups wait.
"""

import fcntl
import hashlib
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from werkzeug.utils import secure_filename

from .. import errors
from .checker import Budget, out_of_memory
from .markup import OVERLAP, describe, find_markup

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileType:
    media_type: str
    extension: str  # the canonical one, given to download names
    extensions: frozenset[str]  # names that agree with this type
    label: str


PDF = FileType("application/pdf", ".pdf", frozenset({".pdf"}), "PDF")
PNG = FileType("image/png", ".png", frozenset({".png"}), "PNG")
JPEG = FileType("image/jpeg", ".jpg", frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}), "JPEG")
WEBP = FileType("image/webp", ".webp", frozenset({".webp"}), "WebP")
TYPES = (PDF, PNG, JPEG, WEBP)
MEDIA_TYPES = tuple(t.media_type for t in TYPES)
ACCEPTED = "PDF, PNG, JPEG or WebP"


@dataclass(frozen=True)
class Inspected:
    """An accepted upload: what it is, its content address and its preview."""

    file_type: FileType
    sha256: str
    size: int
    preview: bytes

    @property
    def media_type(self) -> str:
        return self.file_type.media_type


def refuse(detail: str):
    return errors.UnsupportedMediaType(detail)


def _sniff(head: bytes) -> FileType | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def _describe_unknown(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head.lower():
        return "SVG files are not accepted (they can carry scripts); send a PDF or PNG instead."
    if text.startswith(b"<"):
        return f"This is HTML or XML, not a {ACCEPTED} file."
    return f"Only {ACCEPTED} files are accepted; the content of this file is none of them."


def _digest_and_scan(stream: BinaryIO) -> tuple[str, int, bytes, bytes | None]:
    """SHA-256, size, first bytes and the first web markup found anywhere, in one pass."""
    digest, size, head, tail, markup = hashlib.sha256(), 0, b"", b"", None
    stream.seek(0)
    while chunk := stream.read(_CHUNK):
        if not head:
            head = chunk[:1024]
        digest.update(chunk)
        size += len(chunk)
        if markup is None:
            window = tail + chunk
            markup = find_markup(window)
            tail = window[-OVERLAP:]
    stream.seek(0)
    return digest.hexdigest(), size, head, markup


def declared_extension(file_name: str | None) -> str:
    """The extension the client's file name claims (lower case, '' for none)."""
    base = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return PurePosixPath(base).suffix.lower() if "." in base.strip(".") else ""


def download_name(file_name: str | None, file_type: FileType, default: str) -> str:
    """A safe name to store and to offer for download: no path, ASCII, the right extension."""
    base = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    claimed = declared_extension(base)
    stem = secure_filename(base[: -len(claimed)] if claimed else base)[:100].strip("._")
    extension = claimed if claimed in file_type.extensions else file_type.extension
    return (stem or default) + extension


def budget(config: Mapping) -> Budget:
    """What checking one upload may cost, from the app's configuration."""
    return Budget(
        max_pixels=config["REGISTRY_MAX_IMAGE_PIXELS"],
        decoded_bytes=config["REGISTRY_UPLOAD_DECODED_BYTES"],
        max_images=config["REGISTRY_UPLOAD_MAX_PDF_IMAGES"],
        seconds=config["REGISTRY_UPLOAD_CHECK_SECONDS"],
        memory_bytes=config["REGISTRY_UPLOAD_CHECK_MEMORY_BYTES"],
    )


def inspect(stream: BinaryIO, file_name: str | None, config: Mapping) -> Inspected:
    """Decide what the upload is and check it all; raise UnsupportedMediaType or
    ContentTooLarge when it is not acceptable, ServiceUnavailable when every checking slot is
    taken (then nothing, not even the digest, is spent on it)."""
    with checking_slot(config["REGISTRY_DATABASE_URL"], config["REGISTRY_UPLOAD_CHECKS_AT_ONCE"]):
        sha256, size, head, markup = _digest_and_scan(stream)
        if size == 0:
            raise refuse("The file is empty.")
        file_type = _sniff(head)
        if file_type is None:
            raise refuse(_describe_unknown(head))
        if markup is not None:
            raise refuse(
                f"The file is a {file_type.label} but also holds web markup ({describe(markup)}); "
                "files that are also web pages are refused."
            )
        claimed = declared_extension(file_name)
        if claimed and claimed not in file_type.extensions:
            raise refuse(
                f"The file name ends in {claimed} but the content is {file_type.label}; "
                "rename the file or send the right one."
            )
        preview = _check_in_own_process(stream, file_type, budget(config))
    stream.seek(0)
    return Inspected(file_type, sha256, size, preview)


# ---------------------------------------------------------------------------------------------
# Checking slots: at most N checks at once, across the workers of one deployment on one host


def _slot_directory() -> Path:
    directory = Path(tempfile.gettempdir()) / f"registry-upload-checks-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    found = directory.lstat()
    # A shared /tmp: the directory must be ours (not another user's, not a link elsewhere).
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
        raise RuntimeError(f"{directory} is not a directory of this user")
    return directory


@contextmanager
def checking_slot(database_url: str, slots: int) -> Iterator[None]:
    """Hold one of `slots` lock files shared by every process of this deployment (named after
    its database) while checking; ServiceUnavailable at once if all are held. The kernel lets
    go of a lock when its holder exits, however it exits."""
    deployment = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    directory = _slot_directory()
    for number in range(slots):
        path = directory / f"{deployment}-{number}.lock"
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        try:
            yield
        finally:
            os.close(descriptor)  # releases the lock
        return
    raise errors.ServiceUnavailable(
        "Other uploads are being checked right now; nothing was saved. Retry in a few seconds."
    )


# ---------------------------------------------------------------------------------------------
# The checking process (checker.py)

_CHECKER = Path(__file__).with_name("checker.py")
# A 640 x 640 RGBA PNG cannot honestly be larger than this; a bigger answer is not a preview.
_MAX_PREVIEW_BYTES = 4 * 1024 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# SIGXCPU at the soft CPU limit; SIGKILL at the hard one, or from us at the wall-clock limit.
_OUT_OF_TIME = (-signal.SIGXCPU, -signal.SIGKILL)


@contextmanager
def _as_real_file(stream: BinaryIO) -> Iterator[BinaryIO]:
    """The upload as a file with a descriptor, read from the start, for the checker's stdin.
    Werkzeug spools parts to temporary files (asking for the descriptor moves a small one from
    memory to disk); anything else is copied into one."""
    try:
        stream.fileno()
        has_descriptor = True
    except (AttributeError, OSError):
        has_descriptor = False
    try:
        if has_descriptor:
            stream.flush()
            stream.seek(0)  # the checker reads from the descriptor's offset: the start
            yield stream
        else:
            with tempfile.TemporaryFile() as copy:
                stream.seek(0)
                while chunk := stream.read(_CHUNK):
                    copy.write(chunk)
                copy.flush()
                copy.seek(0)
                yield copy
    finally:
        stream.seek(0)


def _check_in_own_process(stream: BinaryIO, file_type: FileType, limits: Budget) -> bytes:
    request = json.dumps({"label": file_type.label, "budget": asdict(limits)})
    # -E -s: no PYTHON* variables, no user site-packages; only this venv's libraries.
    command = [sys.executable, "-E", "-s", str(_CHECKER), request]
    with _as_real_file(stream) as source:
        try:
            process = subprocess.Popen(  # noqa: S603 - our interpreter and script; no shell
                command,
                stdin=source,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_checker_environment(),
            )
        except OSError as exc:  # no process to be had (memory, process limits)
            log.error("could not start the upload checker: %s", exc)
            raise errors.ServiceUnavailable(
                "Uploads cannot be checked right now; nothing was saved. Retry later."
            ) from None
        try:
            out, err = process.communicate(timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            log.warning("upload check killed after %s s (wall clock)", limits.seconds)
            raise _out_of_time(limits) from None
    return _answer(process.returncode, out, err, limits)


def _checker_environment() -> dict[str, str]:
    # The checker handles hostile files: it gets none of the service's secrets (keys, the
    # database URL) in its environment, only what finding programs and libraries needs.
    return {name: os.environ[name] for name in ("PATH", "LD_LIBRARY_PATH") if name in os.environ}


def _out_of_time(limits: Budget) -> errors.ContentTooLarge:
    return errors.ContentTooLarge(
        f"The file could not be checked within the {limits.seconds:g} s allowed. Send a smaller "
        "or simpler file (or retry later, if the service is very busy)."
    )


def _answer(returncode: int, out: bytes, err: bytes, limits: Budget) -> bytes:
    """The preview, or the refusal the checker gave; anything else is its failure."""
    if returncode in _OUT_OF_TIME:
        log.warning("upload check stopped at its CPU limit (%s s)", limits.seconds)
        raise _out_of_time(limits)
    if returncode < 0:
        # PDFium ends the process when an allocation fails under RLIMIT_AS; a decoder crash on
        # a hostile file looks the same from here.
        log.warning("upload check died of signal %d: %s", -returncode, err[-2000:])
        raise errors.ContentTooLarge(out_of_memory(limits))
    if returncode != 0:
        raise RuntimeError(f"the upload checker failed ({returncode}): {err[-2000:]!r}")
    line, _, preview = out.partition(b"\n")
    answer = json.loads(line)
    if "status" in answer:
        detail = str(answer["detail"])[:500]
        if answer["status"] == 413:
            raise errors.ContentTooLarge(detail)
        raise errors.UnsupportedMediaType(detail)
    if (
        len(preview) != answer["preview"]
        or len(preview) > _MAX_PREVIEW_BYTES
        or not preview.startswith(_PNG_SIGNATURE)
    ):
        raise RuntimeError("the upload checker answered with something that is not a preview")
    return preview
