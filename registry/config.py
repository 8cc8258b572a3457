"""Configuration read from the environment.

| variable | meaning | default |
| --- | --- | --- |
| `REGISTRY_DATABASE_URL` | SQLAlchemy URL of the database | SQLite file `instance/registry.db` |
| `REGISTRY_JWT_SECRET` | HMAC key for tokens, >= 32 bytes | development: generated into `instance/`; production: required |
| `REGISTRY_SECRET_KEY` | Flask's own secret (separate from the JWT key) | as above |
| `REGISTRY_ENV` | `production` or `development` | `development` |
| `REGISTRY_ACCESS_TOKEN_MINUTES` | lifetime of access tokens | 15 |
| `REGISTRY_REFRESH_TOKEN_HOURS` | lifetime of refresh tokens | 12 |
| `REGISTRY_MAX_BODY_BYTES` | largest accepted request body | 1 MiB |
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("REGISTRY_INSTANCE_DIR", Path.cwd() / "instance"))

MIN_KEY_BYTES = 32


class ConfigError(RuntimeError):
    """The environment does not describe a service that can safely start."""


def _development_secret(name: str) -> str:
    """Return a per-checkout random secret kept under instance/, never committed."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / f"{name}.key"
    if not path.exists():
        # Write aside, then link into place: when several workers start at once, exactly one
        # key wins and nobody reads a half-written file.
        draft = path.with_suffix(f".{os.getpid()}.tmp")
        draft.write_text(secrets.token_urlsafe(48))
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
        # restx: keep errors ours (see errors.py), emit every model, no 404 "did you mean".
        "ERROR_INCLUDE_MESSAGE": False,
        "RESTX_INCLUDE_ALL_MODELS": True,
        "RESTX_ERROR_404_HELP": False,
        "RESTX_MASK_SWAGGER": False,
        "PROPAGATE_EXCEPTIONS": False,
        "JSON_SORT_KEYS": False,
    }
    config.update(overrides)
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
    return config
