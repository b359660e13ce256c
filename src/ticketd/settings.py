"""One settings object, read from `TICKETD_*` environment variables and handed to the app factory."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_path() -> Path:
    return Path.cwd() / "var" / "ticketd.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETD_", extra="ignore")

    # An SQLAlchemy URL. Empty means the embedded default: one SQLite file at `database_path`.
    database_url: str = ""
    database_path: Path = Field(default_factory=default_database_path)

    # How long to wait for PostgreSQL to accept a connection before the request fails.
    database_connect_timeout_seconds: int = 10

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    access_log: bool = False
    # The public base URL printed by `ticketd demo` and used in absolute links.
    base_url: str = ""

    # Signing secret for JWTs. Empty means: use the one generated into the store on first start,
    # so that every process and host sharing the store agrees on it.
    secret_key: str = ""
    access_token_ttl_seconds: int = 3600

    # SQLite page cache of the status lookup's connection, in MB (see store/fast_reads.py).
    hot_cache_mb: int = 48

    # Which API faces to serve, comma-separated; any of them can be switched off.
    faces: str = "native,wallet,onecloud,prioticket,huawei"
    # OneCloud: how long its tokens live (the vendor's are 15 minutes), and the time zone of its dates.
    onecloud_token_ttl_seconds: int = 900
    onecloud_time_zone: str = "Asia/Jakarta"

    max_body_bytes: int = 1_048_576
    # Imports: the largest upload taken; larger ones are refused before anything is stored.
    max_upload_bytes: int = 512 * 1_048_576
    # Run operations in the server process (the embedded default); off when `ticketd worker`s do it.
    embedded_worker: bool = True
    worker_lease_seconds: int = 30
    # Finished operations are kept this long, then purged with their files.
    operations_retention_days: float = 7
    idempotency_ttl_seconds: int = 86_400

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.database_path}"

    @property
    def enabled_faces(self) -> set[str]:
        return {name.strip() for name in self.faces.split(",") if name.strip()}

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_base_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"
