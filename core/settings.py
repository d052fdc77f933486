"""One settings object for every process: environment variables prefixed `MEDIATION_`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.crypto import Keyring, load_keyring


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file under the data dir"
    )
    temporal_address: str | None = Field(
        default=None, description="host:port; default: 127.0.0.1:<temporal_port>"
    )
    temporal_namespace: str = "default"
    task_queue: str = "mediation-cases"
    policy_file: Path | None = None
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    sdk_metrics_bind: str | None = Field(
        default=None,
        description=(
            "host:port where this process's Temporal SDK serves Prometheus metrics; "
            "the API relays them on /metrics (unset: the API picks a free loopback port, "
            "the worker serves none)"
        ),
    )
    keys: SecretStr | None = Field(
        default=None,
        description=(
            "keyring 'id:base64,id:base64' (the first encrypts, all decrypt); "
            "unset: <data dir>/keyring, which `mediation up` creates"
        ),
    )
    temporal_ui_origins: list[str] | None = Field(
        default=None,
        description=(
            "origins of the Temporal UI allowed to call /codec (CORS); "
            "default: http://127.0.0.1:<ui port> and http://localhost:<ui port>"
        ),
    )
    notify_adapter: Literal["log", "webhook", "off"] = Field(
        default="log",
        description="how the workers deliver the notification outbox (off: another process does)",
    )
    notify_webhook_url: str | None = Field(
        default=None,
        description=(
            "the messaging gateway the webhook adapter POSTs to: https://, or http:// to a "
            "loopback address"
        ),
    )
    notify_webhook_secret: SecretStr | None = Field(
        default=None,
        description="shared secret the webhook adapter signs each request with (HMAC-SHA256)",
    )
    command_timeout: float = Field(
        default=15.0,
        gt=0,
        description=(
            "seconds the API waits for a command's (or an intake's) workflow Update before it "
            "answers 503 with Retry-After; the Update may still finish, and a retry with the "
            "same Idempotency-Key gets its answer"
        ),
    )
    workflow_sandbox: bool = Field(
        default=False,
        description=(
            "run workflows in Temporal's sandbox: stricter at run time, a third more worker "
            "CPU per case; the test suite runs them both ways (README, Performance)"
        ),
    )
    console_session_hours: float = Field(
        default=8.0,
        gt=0,
        le=24 * 7,
        description=(
            "how long a browser console sign-in lasts (one working day by default); the "
            "session cookie expires with it and sign-out ends it at once"
        ),
    )
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{(self.data_dir / 'mediation.db').as_posix()}"
        if self.temporal_address is None:
            self.temporal_address = f"127.0.0.1:{self.temporal_port}"
        if self.temporal_ui_origins is None:
            port = self.temporal_ui_port
            self.temporal_ui_origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        return self

    @property
    def db_url(self) -> str:
        assert self.database_url is not None
        return self.database_url

    def keyring(self) -> Keyring:
        return load_keyring(self.keys.get_secret_value() if self.keys else None, self.data_dir)

    @property
    def temporal_target(self) -> str:
        assert self.temporal_address is not None
        return self.temporal_address


@lru_cache
def get_settings() -> Settings:
    return Settings()
