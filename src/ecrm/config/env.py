"""Typed settings read once from the environment.

Every knob eCRM reads from the environment is declared here with its type and
default; a bad value stops start-up with a message naming the variable instead of
surfacing later as a strange error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ecrm.core.currency import NOT_A_CURRENCY, iso_code


class SettingsError(ValueError):
    """An environment variable holds a value eCRM cannot use."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from exc
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    return value


@dataclass(frozen=True)
class Env:
    debug: bool
    secret_key: str
    database_url: str
    redis_url: str
    data_dir: Path
    allowed_hosts: tuple[str, ...]
    default_region: str
    currency: str
    time_zone: str
    max_event_payload: int
    queue_immediate: bool
    group_commit: bool
    import_batch_lines: int

    @classmethod
    def load(cls) -> Env:
        data_dir = Path(os.environ.get("ECRM_DATA_DIR") or Path.cwd() / "var").resolve()
        debug = _bool("ECRM_DEBUG", False)
        secret = os.environ.get("ECRM_SECRET_KEY", "")
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'ecrm.sqlite3'}"
        if not database_url.startswith(("sqlite:", "postgres:", "postgresql:")):
            raise SettingsError(
                f"DATABASE_URL={database_url!r}: eCRM supports sqlite:///PATH and postgresql://..."
            )
        production = database_url.startswith("postgres") and not debug
        if not secret:
            if production and _bool("ECRM_REQUIRE_SECRET", False):
                raise SettingsError("ECRM_SECRET_KEY must be set in production")
            secret = _local_secret(data_dir)
        hosts = tuple(
            h.strip()
            for h in os.environ.get(
                "ECRM_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver"
            ).split(",")
            if h.strip()
        )
        region = os.environ.get("ECRM_DEFAULT_REGION", "CN").upper()
        if len(region) != 2 or not region.isalpha():
            raise SettingsError(
                f"ECRM_DEFAULT_REGION={region!r}: expected a two-letter country code"
            )
        raw_currency = os.environ.get("ECRM_CURRENCY", "CNY")
        currency = iso_code(raw_currency)
        if currency is None:
            raise SettingsError(f"ECRM_CURRENCY: {NOT_A_CURRENCY % {'value': repr(raw_currency)}}")
        return cls(
            debug=debug,
            secret_key=secret,
            database_url=database_url,
            redis_url=os.environ.get("REDIS_URL", ""),
            data_dir=data_dir,
            allowed_hosts=hosts,
            default_region=region,
            currency=currency,
            time_zone=os.environ.get("ECRM_TIME_ZONE", "Asia/Shanghai"),
            max_event_payload=_int("ECRM_MAX_EVENT_PAYLOAD", 500 * 1024, minimum=1024),
            queue_immediate=_bool("ECRM_QUEUE_IMMEDIATE", False),
            group_commit=_bool("ECRM_GROUP_COMMIT", True),
            import_batch_lines=_int("ECRM_IMPORT_BATCH_LINES", 1_000_000, minimum=100),
        )


def _local_secret(data_dir: Path) -> str:
    """A per-installation secret kept beside the SQLite database."""
    import secrets

    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
        return value
