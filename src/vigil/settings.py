"""Every setting of Vigil, read from `VIGIL_*` environment variables in one place and validated at start.

`Settings()` reads the environment (and a `.env` file in the working directory, if any); the CLI
overrides fields from its options with `settings.model_copy(update=...)`. A process builds one
`Settings` and passes it down: `vigil serve` hands it to its worker processes as an argument, never
through the environment. The README's table of variables is checked against `Settings.model_fields`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MAX_MEDIA_BYTES = 50 * 1024 * 1024
DEFAULT_RATE_LIMIT = "2000/s"
"""Per key and worker. A platform integration checks every upload: a mid-size platform peaks at a few
hundred uploads a second, and batches of 1,000 items cost 1,000 tokens. 2,000/s with a bucket of one
second's worth admits a full batch at once on an idle key and stays far above normal traffic, while a
leaked key still cannot take a worker for itself (see bench/service_load.py for what one worker serves)."""


@dataclass(frozen=True)
class RateLimit:
    """`capacity` requests per `period` seconds per key, refilled continuously (a token bucket)."""

    capacity: float
    period: float

    @property
    def per_second(self) -> float:
        return self.capacity / self.period

    @classmethod
    def parse(cls, text: str | None) -> RateLimit | None:
        """'100/s', '6000/min', '100' (per second); 'off' or '0' disables limiting."""
        if text is None:
            return None
        text = text.strip().lower()
        if text in ("", "off", "none", "0"):
            return None
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?", text)
        if not m or float(m.group(1)) <= 0:
            raise ValueError(f"rate limit {text!r} is not like '100/s', '6000/min' or 'off'")
        unit = (m.group(2) or "s")[0]
        return cls(capacity=float(m.group(1)), period={"s": 1.0, "m": 60.0, "h": 3600.0}[unit])


class Settings(BaseSettings):
    """Vigil's settings. Each field is read from VIGIL_<NAME> (for example VIGIL_DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=".env", extra="ignore", frozen=True)

    database_url: str | None = Field(None, description="Database URL (sqlite:///path.db or postgresql://user@host/db). "
                                     "Default: a SQLite file vigil.db in the home folder.")
    home: Path = Field(Path("var"), description="Folder for local state: signing keys, the webhook secret, index "
                       "snapshots, the SQLite database by default. Created readable by its owner only.")
    max_media_bytes: int = Field(DEFAULT_MAX_MEDIA_BYTES, ge=1, description="Largest media file accepted by "
                                 "/v1/check, in bytes.")
    rate_limit: str = Field(DEFAULT_RATE_LIMIT, description="Requests per API key and worker: '2000/s', "
                            "'6000/min' or 'off'.")
    text_embeddings: bool = Field(True, description="Let text detection use sentence embeddings where the "
                                  "lexicon leaves doubt (off: lexicon and context only).")
    media_workers: int = Field(2, ge=1, le=64, description="Media files hashed at once per worker process.")
    video_max_frames: int = Field(200_000, ge=1, description="Most video frames decoded for one video before it "
                                  "is refused.")
    video_max_seconds: float = Field(120.0, gt=0, description="Most wall-clock seconds spent decoding one video "
                                     "before it is refused.")
    webhook_url: str = Field("", description="Where webhooks (actions, notifications) are posted; empty: they "
                             "wait in the outbox.")
    webhook_secret: SecretStr | None = Field(None, description="HMAC secret for webhook signatures. Default: a "
                                             "random secret created in the home folder at start.")
    outbox_worker: bool = Field(True, description="Deliver webhooks from the service (off: `vigil outbox "
                                "deliver` does).")
    retention_sweep: bool = Field(True, description="Purge content past retention from the service, hourly "
                                  "(off: `vigil retention purge` does).")
    tdb_url: str | None = Field(None, description="The EU Transparency Database's base URL; with tdb_token, "
                                "the service submits statements of reasons.")
    tdb_token: SecretStr | None = Field(None, description="Bearer token for the Transparency Database.")
    case_policy: Path | None = Field(None, description="JSON file of notice-and-action settings (queues, "
                                     "service levels, retention, automatic action); see vigil.policy.cases.")
    ledger_origin: str = Field("vigil.local/ledger", description="The origin line and key name of signed "
                               "ledger checkpoints.")
    checkpoint_interval: float | None = Field(60.0, description="Seconds between the service's signed "
                                              "checkpoints; 'off' or 0 disables them.")
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text for people, or JSON "
                                                "lines for a log pipeline.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Least severe level "
                                                                     "logged.")
    metrics_address: str | None = Field(None, description="host:port where `vigil serve` exposes Prometheus "
                                        "metrics without a key (for a private scrape network). Without it, "
                                        "/metrics needs an auditor or admin key.")

    @field_validator("checkpoint_interval", mode="before")
    @classmethod
    def _interval(cls, value):
        if isinstance(value, str) and value.strip().lower() in ("off", "", "0", "no", "false"):
            return None
        return value

    @field_validator("checkpoint_interval")
    @classmethod
    def _positive(cls, value):
        return value if value is None or value > 0 else None

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        RateLimit.parse(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value):
        return value.upper() if isinstance(value, str) else value

    @property
    def database(self) -> str:
        """The database URL to use: the setting, or the SQLite file in the home folder."""
        return self.database_url or f"sqlite:///{self.home / 'vigil.db'}"

    @property
    def limit(self) -> RateLimit | None:
        return RateLimit.parse(self.rate_limit)

    @property
    def statements_configured(self) -> bool:
        return bool(self.tdb_url and self.tdb_token)
