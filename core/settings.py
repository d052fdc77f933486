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
    retention_sweep_minutes: float = Field(
        default=24 * 60,
        gt=0,
        description=(
            "how often the retention schedule looks for closed cases whose policy "
            "`retention` ended, and erases them (DESIGN §9)"
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
    token_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description=(
            "how long a new or rotated API token lasts, in days (`principals create "
            "--expires-in-days` sets another); an expired token is refused everywhere"
        ),
    )
    codec_session_hours: float = Field(
        default=1.0,
        gt=0,
        le=24,
        description="how long a codec sign-in (/codec/login, for the Temporal UI) lasts",
    )
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    # Mutual TLS to the Temporal frontend (deploy/ACCESS.md, "Certificates"):
    # PEM files, in production mounted from a Kubernetes Secret. All three or none.
    temporal_tls_ca: Path | None = Field(
        default=None,
        description=(
            "PEM file of the CA the Temporal frontend's certificate must chain to; with "
            "temporal_tls_cert and temporal_tls_key the clients speak mutual TLS (unset: "
            "plain gRPC, as the dev server does)"
        ),
    )
    temporal_tls_cert: Path | None = Field(
        default=None, description="PEM file of this process's client certificate for Temporal"
    )
    temporal_tls_key: Path | None = Field(
        default=None, description="PEM file of the client certificate's private key"
    )
    temporal_tls_server_name: str | None = Field(
        default=None,
        description=(
            "the name the frontend's certificate is verified against (and sent as SNI); "
            "default: the host of temporal_address"
        ),
    )

    @model_validator(mode="after")
    def _temporal_tls_all_or_none(self) -> Settings:
        """A process given only some of the TLS files would fall back to plain gRPC (and a
        frontend that requires client certificates refuses it): refuse to start instead."""
        files = {
            "MEDIATION_TEMPORAL_TLS_CA": self.temporal_tls_ca,
            "MEDIATION_TEMPORAL_TLS_CERT": self.temporal_tls_cert,
            "MEDIATION_TEMPORAL_TLS_KEY": self.temporal_tls_key,
        }
        missing = [name for name, path in files.items() if path is None]
        if missing and len(missing) < len(files):
            raise ValueError(
                "mutual TLS to Temporal needs MEDIATION_TEMPORAL_TLS_CA, _CERT and _KEY "
                f"together; missing: {', '.join(missing)}"
            )
        if missing and self.temporal_tls_server_name:
            raise ValueError(
                "MEDIATION_TEMPORAL_TLS_SERVER_NAME is set but the TLS files are not "
                "(MEDIATION_TEMPORAL_TLS_CA, _CERT and _KEY)"
            )
        return self

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
