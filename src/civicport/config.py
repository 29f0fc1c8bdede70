"""Settings: declared once here, read from CIVICPORT_* environment variables and civicport.toml.

Each setting has a type, a default and a description; docs/configuration.md lists them all and a
test checks that it does.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path

from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    """Everything the portal can be told. Frozen: build a new one to change a value."""

    model_config = ConfigDict(frozen=True)

    home: Path = Field(
        default=Path("civicport-data"),
        description="Folder for the SQLite database, uploaded files and exports.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata and data store; "
        "defaults to SQLite at $CIVICPORT_HOME/civicport.db. "
        "Use postgresql+psycopg://user@host/db for PostgreSQL.",
    )
    site_name: str = Field(default="civicport", description="The portal's name, shown in pages.")
    site_url: str | None = Field(
        default=None,
        description="Public base URL of the portal (https://data.example.gov), used in "
        "canonical links, the sitemap and sharing tags; defaults to the URL a request came in on.",
    )
    site_about: str = Field(
        default="",
        description="A short Markdown text about the portal, shown on the home page.",
    )
    site_logo_url: str | None = Field(
        default=None,
        description="Address of the logo shown beside the site name (a path under /static or "
        "a full URL).",
    )
    site_color: str = Field(
        default="#1d4f91",
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="The portal's main colour as #rrggbb; text on it is black or white, "
        "whichever contrasts more.",
    )
    map_tile_url: str | None = Field(
        default=None,
        description="Base-map tile URL template ({z}/{x}/{y}) for dataset maps. Unset, maps "
        "draw the points on a plain background and the portal calls no other host.",
    )
    map_tile_attribution: str = Field(
        default="",
        description="Attribution shown on maps for the base-map tiles (HTML allowed).",
    )
    max_query_length: int = Field(
        default=60_000,
        description="Longest query string (characters) a request may carry; "
        "the HTTP server refuses URLs over 64 KiB before this check.",
    )
    query_summaries: bool = Field(
        default=True,
        description="Answer grouped queries over a dataset's category-like columns from its "
        "summary table, which holds exactly the same information pre-counted; turn off to "
        "measure or debug queries against the rows themselves.",
    )
    max_upload_bytes: int = Field(
        default=2_000_000_000,
        description="Largest file an import (command line or browser upload) accepts, in bytes; "
        "also the most an archive (a zipped shapefile or geodatabase) may unpack to.",
    )
    rate_limit_anonymous: str = Field(
        default="1000/hour",
        description="How many reads (API and pages) one client IP address may make without an "
        "app token, e.g. '1000/hour' or '100/minute;1000/hour'; empty: no limit.",
    )
    rate_limit_app_token: str = Field(
        default="10000/hour",
        description="How many reads one app token (X-App-Token) may make; empty: no limit.",
    )
    rate_limit_token_registrations: str = Field(
        default="10/hour",
        description="How many app tokens one client IP address may register at /developers.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Key that signs session cookies, password-reset links and form tokens. "
        "Unset, one is made at $CIVICPORT_HOME/secret_key on first start (every process "
        "sharing that folder shares it); set it when app processes do not share a folder. "
        "Changing it signs everyone out.",
    )
    session_hours: int = Field(default=12, ge=1, description="How long a sign-in lasts, in hours.")
    secure_cookies: bool | None = Field(
        default=None,
        description="Send cookies only over HTTPS. Unset: on when site_url starts with https.",
    )
    rate_limit_sign_in: str = Field(
        default="10/15minutes",
        description="How many failed sign-ins one client address, and one account, may make "
        "before further attempts are refused for a while.",
    )
    approval_departments: str = Field(
        default="*",
        description="Departments whose publishers need an approver before a dataset becomes "
        "public or a public dataset changes: '*' for all, a comma-separated list of "
        "department names, or empty for none. Admins never need approval.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="Mail server that sends password-reset links; unset, no mail is sent and "
        "an admin resets passwords with `civicport users password EMAIL`.",
    )
    smtp_port: int = Field(default=587, description="The mail server's port.")
    smtp_username: str | None = Field(default=None, description="User name on the mail server.")
    smtp_password: str | None = Field(default=None, description="Password on the mail server.")
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the mail connection with STARTTLS before sending."
    )
    mail_from: str = Field(
        default="civicport@localhost", description="The From address of mail the portal sends."
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/0) where rate-limit counters and the job "
        "queue are kept, so every app process and worker shares them; unset: counters in each "
        "process's memory and the queue in $CIVICPORT_HOME/jobs.db.",
    )
    time_zone: str = Field(
        default="UTC",
        description="The city's time zone (an IANA name like America/New_York): cron schedules "
        "of dataset syncs run at its clock times.",
    )
    keep_versions: int = Field(
        default=20,
        ge=1,
        description="How many versions of each dataset's rows are kept for rollback and "
        "download; the worker prunes older ones.",
    )
    retry_delay_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Wait before retrying a failed sync; each further retry waits five times "
        "longer (1, 5, 25 minutes by default).",
    )
    source_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a sync waits on a source (a URL, a database) before giving up.",
    )
    embedded_worker: bool = Field(
        default=True,
        description="Let `civicport serve` and `civicport demo` run background jobs (syncs, "
        "queued uploads) themselves; turn off when a separate `civicport worker` runs them.",
    )
    source_dirs: list[Path] = Field(
        default_factory=list,
        description="Folders that file sources and SQLite database sources may read from "
        "(a mounted share, say), separated by ':' in the environment variable. Empty: such "
        "sources are refused, so a source can never publish the portal's own database or "
        "other files of the server.",
    )
    source_private_networks: bool = Field(
        default=False,
        description="Let URL, SODA, CKAN and ArcGIS sources fetch from addresses inside the "
        "server's own networks (loopback, private ranges, link-local). Off, such addresses are "
        "refused, so a source cannot read what only the server can reach (a cloud metadata "
        "service, an internal admin page); turn on for a department server on the city's LAN.",
    )
    city_boundary: Path | None = Field(
        default=None,
        description="A GeoJSON file of the city's boundary (a polygon in longitude and "
        "latitude). Loads whose points fall outside it warn or are refused, as each dataset's "
        "load rules say; unset, points are not checked.",
    )

    @field_validator("source_dirs", mode="before")
    @classmethod
    def _folder_list(cls, value: object) -> object:
        """CIVICPORT_SOURCE_DIRS is a list of folders separated by the path separator (:)."""
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    @field_validator(
        "rate_limit_anonymous",
        "rate_limit_app_token",
        "rate_limit_token_registrations",
        "rate_limit_sign_in",
    )
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(f"not a rate limit like '1000/hour': {value!r}") from exc
        return value.strip()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'civicport.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.home / "files"

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return (self.site_url or "").startswith("https://")

    def needs_approval(self, department: str | None) -> bool:
        """Whether a publisher of `department` needs an approver to make data public."""
        listed = self.approval_departments.strip()
        if listed == "*":
            return True
        names = {name.strip().casefold() for name in listed.split(",") if name.strip()}
        return (department or "").casefold() in names


def signing_key(settings: Settings) -> str:
    """The key that signs cookies and links: the setting, else the one kept in the home folder
    (made on first use, readable by the owner only)."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"secret_key.{os.getpid()}")
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(48), encoding="ascii")
        # A hard link appears whole or not at all: when two processes start at once, one
        # key wins and both read it.
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()


ENV_PREFIX = "CIVICPORT_"


def load_settings(
    environ: Mapping[str, str] | None = None, toml_path: Path | None = None, **overrides: object
) -> Settings:
    """Settings from civicport.toml (if present), then CIVICPORT_* variables, then overrides.

    >>> load_settings({"CIVICPORT_HOME": "/tmp/x"}).home
    PosixPath('/tmp/x')
    """
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    toml_path = toml_path or Path(environ.get(f"{ENV_PREFIX}CONFIG", "civicport.toml"))
    if toml_path.is_file():
        values.update(tomllib.loads(toml_path.read_text(encoding="utf-8")))
    for name in Settings.model_fields:
        env_value = environ.get(ENV_PREFIX + name.upper())
        if env_value is not None:
            values[name] = env_value
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
