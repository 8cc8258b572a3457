"""Configuration read from the environment.

| variable | meaning | default |
| --- | --- | --- |
| `REGISTRY_DATABASE_URL` | SQLAlchemy URL of the database | SQLite file `instance/registry.db` |
| `REGISTRY_JWT_SECRET` | HMAC key for tokens, >= 32 bytes | development: generated into `instance/`; production: required |
| `REGISTRY_SECRET_KEY` | Flask's own secret (separate from the JWT key) | as above |
| `REGISTRY_ENV` | `production` or `development` | `development` |
| `REGISTRY_ACCESS_TOKEN_MINUTES` | lifetime of access tokens | 15 |
| `REGISTRY_REFRESH_TOKEN_HOURS` | lifetime of refresh tokens | 12 |
| `REGISTRY_BREAK_GLASS_HOURS` | longest break-glass access an incident gives | 12 |
| `REGISTRY_MAX_BODY_BYTES` | largest accepted request body | 1 MiB |
| `REGISTRY_MAX_UPLOAD_BYTES` | largest file upload request (floor plans, MOU documents) | 25 MiB |
| `REGISTRY_IMPORT_MAX_BYTES` | largest bulk facility file upload request (CSV or XLSX; registry/imports) | 20 MiB |
| `REGISTRY_IMPORT_MAX_ROWS` | data rows one bulk file may hold (more: 413, the rest unread) | 50,000 |
| `REGISTRY_IMPORT_MAX_UNCOMPRESSED_BYTES` | what an XLSX file may unpack to, all its parts together | 200 MiB |
| `REGISTRY_IMPORT_MAX_RATIO` | how much one part of an XLSX file may expand (uncompressed / compressed) | 100 |
| `REGISTRY_MAX_IMAGE_PIXELS` | largest image accepted, in pixels (at most Pillow's bomb limit) | 50,000,000 |
| `REGISTRY_UPLOAD_CHECK_SECONDS` | CPU and wall-clock seconds the process checking one upload may take | 10 |
| `REGISTRY_UPLOAD_CHECK_MEMORY_BYTES` | address space of that process | 1 GiB |
| `REGISTRY_UPLOAD_DECODED_BYTES` | bytes a PDF's check may decode: its first page's images, its object streams | 512 MiB |
| `REGISTRY_UPLOAD_MAX_PDF_IMAGES` | images a PDF's first page may draw | 1,000 |
| `REGISTRY_UPLOAD_CHECKS_AT_ONCE` | uploads checked at the same time by all workers on one host (more: 503) | 1 |
| `REGISTRY_STORAGE` | where files are kept: `local` or `s3` | `local` |
| `REGISTRY_STORAGE_DIR` | the local file store | `instance/files` |
| `REGISTRY_S3_BUCKET` | the bucket (required with `s3`) | |
| `REGISTRY_S3_PREFIX` | key prefix inside the bucket | none |
| `REGISTRY_S3_ENDPOINT_URL` | an S3-compatible endpoint (MinIO, Ceph …) | AWS |
| `REGISTRY_S3_REGION` | the bucket's region | boto3's default |
| `REGISTRY_S3_ACCESS_KEY_ID` / `REGISTRY_S3_SECRET_ACCESS_KEY` | keys | boto3's default chain |
| `REGISTRY_FRESH_LOGIN_MINUTES` | how long a password login counts as fresh (admin changes, share grants) | 10 |
| `REGISTRY_LOCKOUT_ATTEMPTS` | failed logins in a row that lock a user account | 5 |
| `REGISTRY_LOCKOUT_MINUTES` | how long the lock lasts | 15 |
| `REGISTRY_RATE_LIMIT` | requests per client (token subject, else address) to /api | `1200/minute` |
| `REGISTRY_CAD_RATE_LIMIT` | requests per CAD client to /api (a whole dispatch centre) | `12000/minute` |
| `REGISTRY_TRUSTED_PROXIES` | load balancers / reverse proxies in front that set X-Forwarded-For; the client address (rate limits, audit) is read from it | 0 |
| `REGISTRY_LOGIN_RATE_LIMIT` | refused login and client-token attempts per address (successes are not counted: many people sign in from behind one address), and login attempts per username | `10/minute` |
| `REGISTRY_LOGIN_ADDRESS_RATE_LIMIT` | every login and client-token attempt per address, refused or not (bounds the password hashing, ~50 ms of CPU each, one address can ask for) | `120/minute` |
| `REGISTRY_PDF_RATE_LIMIT` | printed pre-plans as PDF per client (each costs ~0.1 s of CPU) | `60/minute` |
| `REGISTRY_PACK_RATE_LIMIT` | offline packs per client (each reads every pre-plan the agency sees and their floor plans) | `6/hour` |
| `REGISTRY_PACK_SIGNING_KEY` | Ed25519 private key that signs offline packs: PEM (PKCS#8) or the 32-byte seed in base64 | development: generated into `instance/`; production: required |
| `REGISTRY_RATELIMIT_STORAGE_URI` | where the counters live; `redis://host:6379/0` to share them between workers | `memory://` |
| `REGISTRY_RATELIMIT_KEY_PREFIX` | prefix of the counters' keys (several deployments on one Redis) | `registry` |
| `REGISTRY_CORS_ORIGINS` | comma-separated browser origins allowed to call the API | none |
| `REGISTRY_FIELD_KEYS` | keys that encrypt access-point secrets: `id:base64url-32-byte-key`, comma-separated; keep old keys listed until `secrets rotate` has run | development: `dev1`, generated into `instance/`; production: required |
| `REGISTRY_AUDIT_SEAL_INTERVAL` | seconds between the audit sealer's rounds in each server process (0: no sealer in this process) | 0.25 |
| `REGISTRY_AUDIT_SEAL_WINDOW_SECONDS` | how long an audit event may wait unsealed before `audit verify` and /readyz fail | 60 |
| `REGISTRY_FIELD_KEY_ID` | the key new secrets are sealed with | the first key listed |
| `REGISTRY_STALE_DAYS_CONTACTS` | days a facility's contact stays fresh after it was last confirmed (confirmation.py) | 180 |
| `REGISTRY_STALE_DAYS_FACILITIES` | the same for the facility record itself | 365 |
| `REGISTRY_STALE_DAYS_ACCESS_POINTS` / `REGISTRY_STALE_DAYS_TACTICAL_POINTS` / `REGISTRY_STALE_DAYS_FLOOR_PLANS` | the same for access points, tactical points and floor plans | 365 |
| `REGISTRY_WEBHOOK_ALLOW_PRIVATE` | `1`: webhooks may go to hosts on private, loopback or link-local addresses (and to plain http on loopback) | development: `1`; production: `0` |
| `REGISTRY_DELIVERY_MAX_ATTEMPTS` | attempts at one delivery before it is dead (an administrator may replay it) | 10 |
| `REGISTRY_DELIVERY_BACKOFF_SECONDS` / `REGISTRY_DELIVERY_BACKOFF_CAP_SECONDS` | back-off after the first failed attempt, doubled after each, capped; the wait is drawn at random below it (full jitter) | 30 / 3600 |
| `REGISTRY_DELIVERY_TIMEOUT_SECONDS` | how long one webhook or SMTP exchange may take | 10 |
| `REGISTRY_DELIVERY_LEASE_SECONDS` | how long a worker's claim on a delivery lasts (a killed worker's claims come back after it) | 60 |
| `REGISTRY_SMTP_HOST` | SMTP server for email subscriptions (none: email deliveries wait) | none |
| `REGISTRY_SMTP_PORT` / `REGISTRY_SMTP_STARTTLS` | its port, and whether to STARTTLS | 587 / `1` |
| `REGISTRY_SMTP_USERNAME` / `REGISTRY_SMTP_PASSWORD` | login, when the server wants one | none |
| `REGISTRY_SMTP_FROM` | the sender address | `registry@localhost` |
| `REGISTRY_PUBLIC_URL` | the registry's address as partners reach it, for links in emails | none (paths only) |
| `REGISTRY_CONSOLE_IDLE_MINUTES` | a web console session ends after this long without a request | 30 |
| `REGISTRY_CONSOLE_SESSION_HOURS` | and after this long in any case | 12 |
| `REGISTRY_MAP_TILE_URL` | map tiles for the console's maps, e.g. `https://tile.example.org/{z}/{x}/{y}.png`; the maps work without (points on a blank grid) | none |
| `REGISTRY_MAP_TILE_ATTRIBUTION` | the credit the tile source asks for | none |
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from .encryption import Keyring, KeyringError, new_key_spec
from .packs.keys import BadKey, load_signing_key, new_signing_key_pem

INSTANCE_DIR = Path(os.environ.get("REGISTRY_INSTANCE_DIR", Path.cwd() / "instance"))

MIN_KEY_BYTES = 32
# Pillow's own decompression-bomb threshold (Image.MAX_IMAGE_PIXELS): above it Pillow warns or
# refuses before our check runs, so the configured cap may not exceed it.
PILLOW_BOMB_PIXELS = 89_478_485
MIN_CHECK_MEMORY_BYTES = 128 * 1024 * 1024


class ConfigError(RuntimeError):
    """The environment does not describe a service that can safely start."""


def _development_secret(name: str, make=lambda: secrets.token_urlsafe(48)) -> str:
    """Return a per-checkout random secret kept under instance/, never committed."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / f"{name}.key"
    if not path.exists():
        # Write aside, then link into place: when several workers start at once, exactly one
        # key wins and nobody reads a half-written file.
        draft = path.with_suffix(f".{os.getpid()}.tmp")
        draft.write_text(make())
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _secret(env_name: str, dev_name: str, production: bool) -> str:
    value = os.environ.get(env_name)
    if value is None:
        if production:
            raise ConfigError(f"{env_name} must be set in production")
        value = _development_secret(dev_name)
    if len(value.encode()) < MIN_KEY_BYTES:
        raise ConfigError(f"{env_name} must be at least {MIN_KEY_BYTES} bytes")
    return value


def default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'registry.db'}"


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config from the environment, then apply `overrides` (tests use them)."""
    overrides = overrides or {}
    production = (
        overrides.get("REGISTRY_ENV", os.environ.get("REGISTRY_ENV", "development")) == "production"
    )
    config = {
        "REGISTRY_ENV": "production" if production else "development",
        "REGISTRY_DATABASE_URL": os.environ.get("REGISTRY_DATABASE_URL", default_database_url()),
        "MAX_CONTENT_LENGTH": int(os.environ.get("REGISTRY_MAX_BODY_BYTES", 1024 * 1024)),
        # JWT: HS256 only, so a token signed with "none" or another algorithm is refused.
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(
            minutes=int(os.environ.get("REGISTRY_ACCESS_TOKEN_MINUTES", 15))
        ),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(
            hours=int(os.environ.get("REGISTRY_REFRESH_TOKEN_HOURS", 12))
        ),
        # The longest an incident's break-glass access lasts (closing the incident ends it).
        "REGISTRY_BREAK_GLASS_HOURS": float(os.environ.get("REGISTRY_BREAK_GLASS_HOURS", 12)),
        # Audit sealing (audit/trail.py): how often each server process seals, and how late an
        # unsealed event may be before the trail counts as broken (no sealer is running).
        "REGISTRY_AUDIT_SEAL_INTERVAL": float(os.environ.get("REGISTRY_AUDIT_SEAL_INTERVAL", 0.25)),
        "REGISTRY_AUDIT_SEAL_WINDOW": timedelta(
            seconds=float(os.environ.get("REGISTRY_AUDIT_SEAL_WINDOW_SECONDS", 60))
        ),
        # restx: keep errors ours (see errors.py), emit every model, no 404 "did you mean".
        "ERROR_INCLUDE_MESSAGE": False,
        "RESTX_INCLUDE_ALL_MODELS": True,
        "RESTX_ERROR_404_HELP": False,
        "RESTX_MASK_SWAGGER": False,
        "PROPAGATE_EXCEPTIONS": False,
        "JSON_SORT_KEYS": False,
    }
    config.update(_storage_config())
    config.update(_hardening_config())
    config.update(_freshness_config())
    config.update(_notifications_config(production))
    config.update(_import_config())
    config.update(_console_config())
    config.update(overrides)
    _check_storage_config(config)
    _check_stale_days(config)
    if "JWT_SECRET_KEY" not in config:
        config["JWT_SECRET_KEY"] = _secret("REGISTRY_JWT_SECRET", "jwt", production)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret("REGISTRY_SECRET_KEY", "flask", production)
    for name in ("JWT_SECRET_KEY", "SECRET_KEY"):
        # Overrides bypass _secret's check; a short key is as unsafe from there.
        if len(str(config[name]).encode()) < MIN_KEY_BYTES:
            raise ConfigError(f"{name} must be at least {MIN_KEY_BYTES} bytes")
    if config["JWT_SECRET_KEY"] == config["SECRET_KEY"]:
        raise ConfigError("the JWT key must differ from SECRET_KEY")
    config.update(_encryption_config(config, production))
    config.update(_pack_config(config, production))
    return config


def _pack_config(config: dict, production: bool) -> dict:
    """The key that signs offline packs (packs/keys.py), read before anything starts."""
    key = config.get("REGISTRY_PACK_SIGNING_KEY") or os.environ.get("REGISTRY_PACK_SIGNING_KEY")
    if not key:
        if production:
            raise ConfigError("REGISTRY_PACK_SIGNING_KEY must be set in production")
        key = _development_secret("pack-signing", new_signing_key_pem)
    try:
        load_signing_key(key)
    except BadKey as exc:
        raise ConfigError(f"REGISTRY_PACK_SIGNING_KEY is not an Ed25519 key: {exc}") from None
    return {"REGISTRY_PACK_SIGNING_KEY": key}


def _encryption_config(config: dict, production: bool) -> dict:
    """The keyring for access-point secrets (see encryption.py), checked before anything starts:
    a service that could not read or write codes must not come up."""
    keys = config.get("REGISTRY_FIELD_KEYS") or os.environ.get("REGISTRY_FIELD_KEYS")
    if not keys:
        if production:
            raise ConfigError("REGISTRY_FIELD_KEYS must be set in production")
        keys = _development_secret("field-keys", lambda: new_key_spec("dev1"))
    active = config.get("REGISTRY_FIELD_KEY_ID") or os.environ.get("REGISTRY_FIELD_KEY_ID")
    try:
        Keyring.parse(keys, active)
    except KeyringError as exc:
        raise ConfigError(str(exc)) from None
    return {"REGISTRY_FIELD_KEYS": keys, "REGISTRY_FIELD_KEY_ID": active}


def _storage_config() -> dict:
    """Uploaded files: size caps and the store (a local directory, or an S3-compatible bucket)."""
    env = os.environ.get
    backend = env("REGISTRY_STORAGE", "local")
    return {
        "REGISTRY_MAX_UPLOAD_BYTES": int(env("REGISTRY_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)),
        "REGISTRY_MAX_IMAGE_PIXELS": int(env("REGISTRY_MAX_IMAGE_PIXELS", 50_000_000)),
        # The checking process's budget (floorplans/checker.py): a 50-megapixel RGBA PNG needs
        # about 630 MB; the seconds stay well under gunicorn's 30 s worker timeout.
        "REGISTRY_UPLOAD_CHECK_SECONDS": float(env("REGISTRY_UPLOAD_CHECK_SECONDS", 10)),
        "REGISTRY_UPLOAD_CHECK_MEMORY_BYTES": int(
            env("REGISTRY_UPLOAD_CHECK_MEMORY_BYTES", 1024 * 1024 * 1024)
        ),
        "REGISTRY_UPLOAD_DECODED_BYTES": int(
            env("REGISTRY_UPLOAD_DECODED_BYTES", 512 * 1024 * 1024)
        ),
        "REGISTRY_UPLOAD_MAX_PDF_IMAGES": int(env("REGISTRY_UPLOAD_MAX_PDF_IMAGES", 1000)),
        "REGISTRY_UPLOAD_CHECKS_AT_ONCE": int(env("REGISTRY_UPLOAD_CHECKS_AT_ONCE", 1)),
        "REGISTRY_STORAGE": backend,
        # Set only for a local store: backups copy this directory (an S3 store has its own).
        "REGISTRY_STORAGE_DIR": (
            env("REGISTRY_STORAGE_DIR", str(INSTANCE_DIR / "files")) if backend == "local" else None
        ),
        "REGISTRY_S3_BUCKET": env("REGISTRY_S3_BUCKET"),
        "REGISTRY_S3_PREFIX": env("REGISTRY_S3_PREFIX", ""),
        "REGISTRY_S3_ENDPOINT_URL": env("REGISTRY_S3_ENDPOINT_URL"),
        "REGISTRY_S3_REGION": env("REGISTRY_S3_REGION"),
        "REGISTRY_S3_ACCESS_KEY_ID": env("REGISTRY_S3_ACCESS_KEY_ID"),
        "REGISTRY_S3_SECRET_ACCESS_KEY": env("REGISTRY_S3_SECRET_ACCESS_KEY"),
    }


def _import_config() -> dict:
    """Bulk facility files (registry/imports): what one upload may be and unpack to."""
    env = os.environ.get
    return {
        "REGISTRY_IMPORT_MAX_BYTES": int(env("REGISTRY_IMPORT_MAX_BYTES", 20 * 1024 * 1024)),
        "REGISTRY_IMPORT_MAX_ROWS": int(env("REGISTRY_IMPORT_MAX_ROWS", 50_000)),
        "REGISTRY_IMPORT_MAX_UNCOMPRESSED_BYTES": int(
            env("REGISTRY_IMPORT_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024)
        ),
        "REGISTRY_IMPORT_MAX_RATIO": int(env("REGISTRY_IMPORT_MAX_RATIO", 100)),
    }


def _hardening_config() -> dict:
    """Login lockout, fresh logins, rate limits and CORS (see registry/ratelimit.py, http.py)."""
    env = os.environ.get
    return {
        "REGISTRY_FRESH_LOGIN_MINUTES": int(env("REGISTRY_FRESH_LOGIN_MINUTES", 10)),
        "REGISTRY_LOCKOUT_ATTEMPTS": int(env("REGISTRY_LOCKOUT_ATTEMPTS", 5)),
        "REGISTRY_LOCKOUT_MINUTES": int(env("REGISTRY_LOCKOUT_MINUTES", 15)),
        "REGISTRY_RATE_LIMIT": env("REGISTRY_RATE_LIMIT", "1200/minute"),
        "REGISTRY_CAD_RATE_LIMIT": env("REGISTRY_CAD_RATE_LIMIT", "12000/minute"),
        # Reverse proxies in front of the service that append X-Forwarded-For (0: none).
        "REGISTRY_TRUSTED_PROXIES": int(env("REGISTRY_TRUSTED_PROXIES", 0)),
        "REGISTRY_LOGIN_RATE_LIMIT": env("REGISTRY_LOGIN_RATE_LIMIT", "10/minute"),
        "REGISTRY_LOGIN_ADDRESS_RATE_LIMIT": env("REGISTRY_LOGIN_ADDRESS_RATE_LIMIT", "120/minute"),
        "REGISTRY_PDF_RATE_LIMIT": env("REGISTRY_PDF_RATE_LIMIT", "60/minute"),
        "REGISTRY_PACK_RATE_LIMIT": env("REGISTRY_PACK_RATE_LIMIT", "6/hour"),
        "REGISTRY_RATELIMIT_STORAGE_URI": env("REGISTRY_RATELIMIT_STORAGE_URI", "memory://"),
        "REGISTRY_RATELIMIT_KEY_PREFIX": env("REGISTRY_RATELIMIT_KEY_PREFIX", "registry"),
        "REGISTRY_CORS_ORIGINS": [
            origin.strip()
            for origin in env("REGISTRY_CORS_ORIGINS", "").split(",")
            if origin.strip()
        ],
    }


def _console_config() -> dict:
    """The web console's sessions and maps (registry/console)."""
    env = os.environ.get
    return {
        "REGISTRY_CONSOLE_IDLE_MINUTES": int(env("REGISTRY_CONSOLE_IDLE_MINUTES", 30)),
        "REGISTRY_CONSOLE_SESSION_HOURS": int(env("REGISTRY_CONSOLE_SESSION_HOURS", 12)),
        "REGISTRY_MAP_TILE_URL": env("REGISTRY_MAP_TILE_URL") or None,
        "REGISTRY_MAP_TILE_ATTRIBUTION": env("REGISTRY_MAP_TILE_ATTRIBUTION") or None,
    }


def _notifications_config(production: bool) -> dict:
    """Webhook and email delivery (registry/notifications/worker.py)."""
    env = os.environ.get
    flag = lambda value: value.strip().lower() in ("1", "true", "yes")  # noqa: E731
    return {
        "REGISTRY_WEBHOOK_ALLOW_PRIVATE": flag(
            env("REGISTRY_WEBHOOK_ALLOW_PRIVATE", "0" if production else "1")
        ),
        "REGISTRY_DELIVERY_MAX_ATTEMPTS": int(env("REGISTRY_DELIVERY_MAX_ATTEMPTS", 10)),
        "REGISTRY_DELIVERY_BACKOFF_SECONDS": float(env("REGISTRY_DELIVERY_BACKOFF_SECONDS", 30)),
        "REGISTRY_DELIVERY_BACKOFF_CAP_SECONDS": float(
            env("REGISTRY_DELIVERY_BACKOFF_CAP_SECONDS", 3600)
        ),
        "REGISTRY_DELIVERY_TIMEOUT_SECONDS": float(env("REGISTRY_DELIVERY_TIMEOUT_SECONDS", 10)),
        "REGISTRY_DELIVERY_LEASE_SECONDS": float(env("REGISTRY_DELIVERY_LEASE_SECONDS", 60)),
        "REGISTRY_SMTP_HOST": env("REGISTRY_SMTP_HOST") or None,
        "REGISTRY_SMTP_PORT": int(env("REGISTRY_SMTP_PORT", 587)),
        "REGISTRY_SMTP_STARTTLS": flag(env("REGISTRY_SMTP_STARTTLS", "1")),
        "REGISTRY_SMTP_USERNAME": env("REGISTRY_SMTP_USERNAME") or None,
        "REGISTRY_SMTP_PASSWORD": env("REGISTRY_SMTP_PASSWORD") or None,
        "REGISTRY_SMTP_FROM": env("REGISTRY_SMTP_FROM", "registry@localhost"),
        "REGISTRY_PUBLIC_URL": (env("REGISTRY_PUBLIC_URL") or "").rstrip("/") or None,
    }


# The maximum age of each kind of pre-plan part, in days (registry/confirmation.py): contacts
# change most often (issue 12).
STALE_DAYS_DEFAULTS = {
    "REGISTRY_STALE_DAYS_FACILITIES": 365,
    "REGISTRY_STALE_DAYS_CONTACTS": 180,
    "REGISTRY_STALE_DAYS_ACCESS_POINTS": 365,
    "REGISTRY_STALE_DAYS_TACTICAL_POINTS": 365,
    "REGISTRY_STALE_DAYS_FLOOR_PLANS": 365,
}
LONGEST_STALE_DAYS = 36500  # a hundred years: anything longer is a typo


def _freshness_config() -> dict:
    return {name: int(os.environ.get(name, days)) for name, days in STALE_DAYS_DEFAULTS.items()}


def _check_stale_days(config: dict) -> None:
    for name in STALE_DAYS_DEFAULTS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a whole number of days")
        if not 1 <= value <= LONGEST_STALE_DAYS:
            raise ConfigError(f"{name} must be between 1 and {LONGEST_STALE_DAYS}")


def _check_storage_config(config: dict) -> None:
    if config["REGISTRY_STORAGE"] not in ("local", "s3"):
        raise ConfigError("REGISTRY_STORAGE must be local or s3")
    if config["REGISTRY_STORAGE"] == "s3" and not config["REGISTRY_S3_BUCKET"]:
        raise ConfigError("REGISTRY_S3_BUCKET must be set when REGISTRY_STORAGE is s3")
    if config["REGISTRY_STORAGE"] == "local" and not config["REGISTRY_STORAGE_DIR"]:
        raise ConfigError("REGISTRY_STORAGE_DIR must name a directory")
    if config["REGISTRY_MAX_UPLOAD_BYTES"] < 1:
        raise ConfigError("REGISTRY_MAX_UPLOAD_BYTES must be positive")
    if not 1 <= config["REGISTRY_MAX_IMAGE_PIXELS"] <= PILLOW_BOMB_PIXELS:
        raise ConfigError(f"REGISTRY_MAX_IMAGE_PIXELS must be between 1 and {PILLOW_BOMB_PIXELS}")
    if not 0 < config["REGISTRY_UPLOAD_CHECK_SECONDS"] <= 300:
        raise ConfigError("REGISTRY_UPLOAD_CHECK_SECONDS must be above 0 and at most 300")
    if config["REGISTRY_UPLOAD_CHECK_MEMORY_BYTES"] < MIN_CHECK_MEMORY_BYTES:
        # Below this the checking process cannot even load its decoders.
        raise ConfigError(
            f"REGISTRY_UPLOAD_CHECK_MEMORY_BYTES must be at least {MIN_CHECK_MEMORY_BYTES}"
        )
    for name in (
        "REGISTRY_UPLOAD_DECODED_BYTES",
        "REGISTRY_UPLOAD_MAX_PDF_IMAGES",
        "REGISTRY_UPLOAD_CHECKS_AT_ONCE",
    ):
        if config[name] < 1:
            raise ConfigError(f"{name} must be positive")
