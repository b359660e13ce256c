"""One settings object, read from `TICKETD_*` environment variables and handed to the app factory."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    # Proxies trusted to report the client's address (X-Forwarded-For), which limits per IP count.
    forwarded_allow_ips: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    access_log: bool = False
    # The public base URL printed by `ticketd demo` and used in absolute links.
    base_url: str = ""
    # Logs: one JSON object a line, or "console" for people at a terminal (`make run`).
    log_format: Literal["json", "console"] = "json"
    # Who may read /metrics: set, any client presenting `Authorization: Bearer <token>`; empty, only
    # clients on this host's loopback.
    metrics_token: str = ""

    # The server's key: signs every face's tokens and seals access keys (core/server_key.py). Kept
    # outside the store: this (at least 32 bytes), or a file; empty on the embedded store means
    # `ticketd.key` beside the SQLite file, created on first start.
    secret_key: str = ""
    secret_key_file: Path | None = None
    access_token_ttl_seconds: int = 3600

    # SQLite page cache of the status lookup's connection, in MB (see store/fast_reads.py).
    hot_cache_mb: int = 16
    # SQLite: the most memory the in-process copy of the tickets' status fields may take, in MB
    # (24 bytes a ticket id; see store/status_mirror.py). 0 turns it off; a larger store reads SQL.
    status_mirror_mb: int = 64

    # Which API faces to serve, comma-separated (native,wallet,onecloud,prioticket,huawei); empty
    # serves every face ticketd has (assembly/registry.py).
    faces: str = ""
    # OneCloud: how long its tokens live (the vendor's are 15 minutes), and the time zone of its dates.
    onecloud_token_ttl_seconds: int = 900
    onecloud_time_zone: str = "Asia/Jakarta"

    max_body_bytes: int = 1_048_576
    # Imports: the largest upload taken; larger ones are refused before anything is stored.
    max_upload_bytes: int = 512 * 1_048_576
    # Attachments: the largest file taken (refused before anything is stored), how many one ticket
    # may have, and each tenant's storage for their bytes unless `ticketd tenant limits` sets its own.
    max_attachment_bytes: int = 25 * 1_048_576
    max_attachments_per_ticket: int = 100
    attachment_quota_bytes: int = 10 * 1024 * 1_048_576
    # Files uploaded ahead of the ticket or comment they are for (Huawei OSM's accessories) are
    # removed when nothing has claimed them after this long.
    unclaimed_attachment_hours: float = 24
    # A time-limited download link (Huawei OSM's access URLs) works without a token this long.
    attachment_url_ttl_seconds: int = 300
    # Mail in: the largest message taken (larger ones are recorded as refused, nothing stored), and
    # how many new tickets one sender may open an hour by mail (past it their mail is ignored).
    max_mail_bytes: int = 35 * 1_048_576
    mail_new_tickets_per_sender_hour: int = 20
    # Mail out: smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://...; empty, no
    # mail is sent (and none queued). A CA file to trust a server's own certificate authority.
    smtp_url: str = ""
    smtp_timeout_seconds: float = 30
    smtp_ca_file: Path | None = None
    # Channels' IMAP mailboxes: a CA file to trust a mail server's own authority (else the system's).
    imap_ca_file: Path | None = None
    # The share of a processor the embedded server's mail work (fetching, the fan-out, sending) may
    # take, so that the status lookups it also answers keep theirs; `ticketd worker`s are not held.
    embedded_mail_share: float = Field(default=0.2, gt=0, le=1)
    # Seconds from a message's queuing to each attempt; it fails after the last (or on a 5xx).
    mail_retry_schedule: str = "0,30,120,600,1800,7200,21600,43200"
    # Run operations in the server process (the embedded default); off when `ticketd worker`s do it.
    embedded_worker: bool = True
    # On SIGTERM the server stops accepting and gives the requests in flight this long to finish;
    # event streams end at once with a reconnect hint, the embedded worker at its next step.
    shutdown_grace_seconds: float = 30
    worker_lease_seconds: int = 30
    # Finished operations are kept this long, then purged with their files.
    operations_retention_days: float = 7
    idempotency_ttl_seconds: int = 86_400

    # Rate limits and quotas (ticketd.limiting). Off, nothing is counted and nothing refused.
    rate_limits: bool = True
    # Shared counters: set, every process on every host counts in this Redis; empty, each
    # process counts in its own memory (the embedded default has one process).
    redis_url: str = ""
    redis_prefix: str = "ticketd"
    # How long a Redis call may take before the process counts on its own for a while.
    redis_timeout_seconds: float = 0.25
    # Every face's defaults, per client IP and per credential, in the `limits` notation.
    limit_ip: str = "6000/minute"
    limit_credential: str = "1200/minute"
    # Per-face defaults over those, as JSON: {"native": {"credential": "600/minute", "ip": "..."}}.
    face_limits: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Tenants' own limits are read from the store again after this long.
    limits_refresh_seconds: float = 5
    # OneCloud's quota per site: the daily service hours ("18:00-06:00" wraps midnight, in
    # `onecloud_time_zone`) and requests per day; tenants may have their own (`ticketd tenant limits`).
    onecloud_service_hours: str = "00:00-24:00"
    onecloud_daily_allowance: int = 100_000

    # Webhooks (core/webhooks/). Endpoint URLs may not reach loopback, private, link-local or
    # otherwise reserved addresses unless this is on (a receiver on this machine, in tests and demos).
    webhook_allow_private: bool = False
    # Seconds from a message's first attempt to each retry; a message fails after the last.
    webhook_retry_schedule: str = "0,5,300,1800,7200,18000,36000,36000"
    webhook_timeout_seconds: float = 15
    # An endpoint that has failed every attempt for this long is disabled (5 days).
    webhook_disable_after_seconds: float = 432_000
    # After a rotation the previous secret signs too, for this long.
    webhook_secret_overlap_seconds: float = 86_400
    # Attempts in flight at once to one endpoint, per delivering process.
    webhook_concurrency: int = 8
    # A claimed attempt not recorded within this long is taken by another worker.
    webhook_lease_seconds: float = 60
    # How often the event log is looked at for new changes (webhooks and the event stream).
    events_poll_seconds: float = 0.1
    # Event stream: a comment line this often keeps proxies from closing an idle connection.
    events_heartbeat_seconds: float = 15
    # Event streams open at once per server process; more are answered 503 with Retry-After.
    events_max_streams: int = 1000
    # ...and per credential (an API key, a token's user, a console user) and per client address, so
    # that one caller never takes every slot. A person with a few tabs open uses a handful.
    events_max_streams_per_credential: int = 16
    events_max_streams_per_address: int = 64
    # A stream ends after this long and the client reconnects (EventSource does so by itself,
    # resuming with Last-Event-ID), so nothing a stream holds lives for ever.
    events_max_stream_seconds: float = 1800
    # An open stream checks its credential (or console session) again this often, and ends
    # when it has been revoked, disabled, signed out or has expired.
    events_recheck_seconds: float = 5
    # A reconnect with Last-Event-ID replays at most this many of the caller's events; a client
    # that was away longer is told, with a `stream.truncated` event, where the replay began.
    events_replay_window: int = 1000
    # The newest events each process keeps in memory for its streams, bounded by their size.
    events_buffer_bytes: int = 8 * 1024 * 1024
    # A console sign-in lasts this long at most (it ends sooner on sign-out, a disabled user or a
    # changed password).
    console_session_seconds: int = 12 * 3600

    @property
    def mail_retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.mail_retry_schedule.split(",") if part.strip())

    @property
    def webhook_retry_delays(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.webhook_retry_schedule.split(",") if part.strip())

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.database_path}"

    @property
    def face_names(self) -> set[str] | None:
        """The faces named in `faces`, or None for every face."""
        names = {name.strip() for name in self.faces.split(",") if name.strip()}
        return names or None

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file's path; None for another store or SQLite in memory."""
        if not self.is_sqlite:
            return None
        path = self.resolved_database_url.removeprefix("sqlite:///")
        return None if path in ("", ":memory:") or path.startswith("sqlite:") else path

    @property
    def resolved_base_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"
