"""Verify an offline pack with nothing but the pack and the registry's public key.

    python -m registry.packs PACK.zip --public-key registry-pack-key.pem
    flask --app wsgi packs verify PACK.zip [--public-key FILE]   (same check)

No Flask, no database, no network: a laptop in a command vehicle runs it. A pack is accepted
only when all of this holds, and refused (exit 1) naming each thing that failed otherwise:
- it is a whole ZIP archive (a download cut short has no central directory) with no name twice;
- manifest.sig is an Ed25519 signature of manifest.json's exact bytes by the given key;
- every file the manifest lists is in the archive with its size and SHA-256, and the archive
  holds nothing else (an added file is tampering too).
"""

import argparse
import hashlib
import json
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .keys import BadKey, key_id, load_public_key

FORMAT = "partner-registry-offline-pack"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
# A manifest lists a few hundred bytes per file: one of a county's packs is well under this.
LARGEST_MANIFEST = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


class PackRefused(Exception):
    """The pack failed verification; `problems` says each way it failed."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class VerifiedPack:
    manifest: dict
    key_id: str
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        agency = self.manifest.get("agency", {})
        return (
            f"OK: pack of {agency.get('name')} (agency {agency.get('id')}), "
            f"{len(self.manifest['facilities'])} facilities, {len(self.manifest['files'])} files, "
            f"generated {self.manifest.get('generated_at')}, signed by key {self.key_id}"
        )


def verify_pack(pack_path: Path, public_key: Ed25519PublicKey) -> VerifiedPack:
    """Check the pack at `pack_path` against `public_key`; PackRefused when it fails."""
    try:
        archive = zipfile.ZipFile(pack_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackRefused(
            [f"{pack_path} is not a whole ZIP archive ({exc}); was the download cut short?"]
        ) from None
    with archive:
        names = [info.filename for info in archive.infolist()]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise PackRefused([f"the archive holds more than one entry named {', '.join(twice)}"])
        manifest_bytes, signature = _signed_part(archive)
        given = key_id(public_key)
        try:
            public_key.verify(signature, manifest_bytes)
        except InvalidSignature:
            raise PackRefused([_bad_signature(manifest_bytes, given)]) from None
        # Signed by the registry from here on: its content is what the registry wrote.
        manifest = json.loads(manifest_bytes)
        if manifest.get("format") != FORMAT:
            raise PackRefused([f"{MANIFEST} is not a {FORMAT} manifest"])
        problems = _check_files(archive, manifest["files"], set(names))
    if problems:
        raise PackRefused(problems)
    warnings = [
        f"{item['path']} is not in the pack: {item['reason']}"
        for item in manifest.get("unavailable", [])
    ]
    return VerifiedPack(manifest, given, warnings)


def _signed_part(archive: zipfile.ZipFile) -> tuple[bytes, bytes]:
    missing = [name for name in (MANIFEST, SIGNATURE) if name not in archive.NameToInfo]
    if missing:
        raise PackRefused([f"{name} is missing" for name in missing])
    if archive.getinfo(MANIFEST).file_size > LARGEST_MANIFEST:
        raise PackRefused([f"{MANIFEST} is larger than any manifest the registry writes"])
    if archive.getinfo(SIGNATURE).file_size != 64:
        raise PackRefused([f"{SIGNATURE} is not a 64-byte Ed25519 signature"])
    try:
        return archive.read(MANIFEST), archive.read(SIGNATURE)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise PackRefused([f"the manifest cannot be read: damaged ({exc})"]) from None


def _bad_signature(manifest_bytes: bytes, given: str) -> str:
    problem = f"{SIGNATURE} does not match {MANIFEST} under the given key ({given}): "
    try:
        named = json.loads(manifest_bytes)["signature"]["key_id"]
    except (ValueError, KeyError, TypeError):
        named = None
    if isinstance(named, str) and named != given:
        return problem + (
            f"the manifest names key {named[:16]!r}; verify with that key if you have it "
            "(the registry's current key is at /api/v1/packs/public-key)"
        )
    return problem + "the manifest or the signature was changed"


def _check_files(archive: zipfile.ZipFile, files: list[dict], names: set[str]) -> list[str]:
    problems, listed = [], set()
    for item in files:
        path = item["path"]
        listed.add(path)
        if not _plain_path(path) or path in (MANIFEST, SIGNATURE):
            problems.append(f"the manifest lists a file the registry never writes: {path!r}")
            continue
        if path not in names:
            problems.append(f"{path} is missing")
            continue
        problem = _check_file(archive, archive.getinfo(path), item["size"], item["sha256"])
        if problem:
            problems.append(f"{path} {problem}")
    for extra in sorted(names - listed - {MANIFEST, SIGNATURE}):
        problems.append(f"{extra} is not in the manifest (added to the pack)")
    return problems


def _plain_path(path: str) -> bool:
    pure = PurePosixPath(path)
    return (
        bool(path)
        and not pure.is_absolute()
        and ".." not in pure.parts
        and "\\" not in path
        and str(pure) == path
    )


def _check_file(archive: zipfile.ZipFile, info: zipfile.ZipInfo, size: int, sha256: str):
    """What is wrong with one entry, or None. Read in chunks: a floor plan may be large."""
    if info.file_size != size:
        return f"has {info.file_size} bytes, the manifest says {size} (changed)"
    digest, read = hashlib.sha256(), 0
    try:
        with archive.open(info) as entry:
            # Never more than the manifest's size, whatever the entry's header claims.
            while chunk := entry.read(min(_CHUNK, size + 1 - read)):
                read += len(chunk)
                digest.update(chunk)
                if read > size:
                    return f"holds more than the {size} bytes the manifest says (changed)"
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        return f"cannot be read: damaged or changed ({exc})"
    if read != size:
        return f"has {read} bytes, the manifest says {size} (changed)"
    if digest.hexdigest() != sha256:
        return "differs from the manifest's SHA-256 (changed)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m registry.packs",
        description="Verify an offline pre-plan pack: its signature, and every file's hash.",
    )
    parser.add_argument("pack", type=Path, help="the pack (.zip) as downloaded")
    parser.add_argument(
        "--public-key",
        type=Path,
        required=True,
        help="the registry's public key (PEM), as served at /api/v1/packs/public-key",
    )
    args = parser.parse_args(argv)
    try:
        public_key = load_public_key(args.public_key.read_bytes())
    except (OSError, BadKey) as exc:
        print(f"REFUSED: cannot use the public key {args.public_key}: {exc}", file=sys.stderr)
        return 2
    return report(args.pack, public_key)


def report(pack: Path, public_key: Ed25519PublicKey) -> int:
    """Verify and say so: exit status 0 (verified) or 1 (refused), the reasons on stderr."""
    try:
        verified = verify_pack(pack, public_key)
    except PackRefused as refusal:
        print(f"REFUSED: {pack} failed verification; do not rely on it:", file=sys.stderr)
        for problem in refusal.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(verified.summary())
    for warning in verified.warnings:
        print(f"  note: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
