"""Settings read from the environment (PADDOCK_*), validated once at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-in-production"


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'var' / 'paddock.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PADDOCK_", extra="ignore")

    environment: str = Field(default="development", pattern="^(development|test|production)$")
    database_url: str = Field(default_factory=default_database_url)
    secret_key: str = DEFAULT_SECRET
    hold_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # How long a writer waits for a lock before answering "busy, retry".
    lock_timeout_ms: int = Field(default=5000, ge=10, le=120_000)
    pool_size: int = Field(default=10, ge=1, le=200)
    # Booking statements in flight per server process on PostgreSQL (the endpoint's own
    # connections): requests beyond wait in the process, which costs less than more writers
    # contending inside PostgreSQL for the same index pages (bench/README.md).
    booking_connections: int = Field(default=4, ge=1, le=200)
    demo_seed: int = 2015
    # Files made once and shared by the server's processes (compressed static assets).
    cache_dir: Path = Field(default_factory=lambda: Path.cwd() / "var" / "cache")
    # A prospect who drove and bought within this many days counts as converted (crm).
    conversion_window_days: int = Field(default=90, ge=1, le=730)
    # Request bodies: at most this many bytes, refused (413) as they stream in; the file
    # uploads (CSV imports) may send up to max_upload_bytes (edge.py).
    max_body_bytes: int = Field(default=2**20, ge=1024, le=2**30)
    max_upload_bytes: int = Field(default=5 * 2**20, ge=1024, le=2**30)
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: IPs or CIDRs,
    # comma-separated. None by default: the client is the peer of the connection (clients.py).
    trusted_proxies: str = ""
    # Bookings one client address may make per minute on the public booking routes, across
    # every worker (throttle.LocalTally: counted in process, merged once a second); 0: no limit.
    bookings_per_address_per_minute: int = Field(default=60, ge=0, le=1_000_000)
    # Webhooks to private, loopback and link-local addresses: a local receiver in development
    # and tests only (webhooks/outbound.py); never in production.
    webhook_allow_private: bool = False
    # The longest a motorsport set decision (CP-SAT) may run in a server request, in seconds;
    # a longer limit asked for in a request is cut to this.
    solver_seconds: float = Field(default=10.0, gt=0, le=120)
    # Where the site is reached from outside: the links in e-mails start with it.
    public_url: str = "http://127.0.0.1:8000"
    # E-mail (paddock/mail): the background sender runs in the server when mail_enabled;
    # `paddock mail send` sends either way. The SMTP server: host, port, security ("starttls",
    # "tls" for implicit TLS, "none" for a local server), user and password (from the
    # environment: PADDOCK_SMTP_PASSWORD), the sender's address. Private, loopback and
    # link-local SMTP servers are refused unless smtp_allow_private (the local demo server).
    mail_enabled: bool = False
    mail_from: str = "Paddock <bookings@paddock.example>"
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: str = Field(default="starttls", pattern="^(starttls|tls|none)$")
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout: float = Field(default=10.0, gt=0, le=300)
    smtp_allow_private: bool = False
    mail_max_attempts: int = Field(default=10, ge=1, le=100)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would pick psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not (value.startswith("sqlite") or value.startswith("postgresql+psycopg")):
            raise ValueError("PADDOCK_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        from paddock.clients import parse_networks

        parse_networks(value)  # raises ValueError naming the entry that is not one
        return value

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError("PADDOCK_SECRET_KEY must be set in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
