"""Settings: one table of name, default and help, read from the environment and overridden by flags.

Both front ends build a ``Settings`` here and pass it down, so no module reads the environment on
its own.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

from verify.errors import VerifyError


def default_data_dir() -> Path:
    """A per-user data folder, following each platform's convention."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "verify"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_url: str | None = None
    max_file_bytes: int = 4 * 1024**3
    max_image_pixels: int = 150_000_000
    max_video_pixels: int = 8192 * 8192
    max_video_seconds: float = 6 * 3600
    # None: time limits sized to the work (stills, videos by length; see verify.sandbox.TimeLimits).
    # Set (VERIFY_DECODE_TIMEOUT): one fixed limit for every file, as before.
    decode_timeout_s: float | None = None
    still_timeout_s: float = 20.0
    video_timeout_min_s: float = 60.0
    video_timeout_max_s: float = 3600.0
    decode_memory_bytes: int = 4 * 1024**3
    actor: str | None = None
    exiftool_path: str | None = None
    verdict_statuses: tuple[str, ...] = ()
    map_tiles_url: str | None = None
    trusted_header: str | None = None
    tsa_url: str | None = None
    tsa_ca: Path | None = None
    tsa_timeout_s: float = 10.0
    ocr: bool = True
    ocr_langs: str = "ara+eng"
    tesseract: str | None = None
    # Links (issue 14): nothing is fetched unless an editor asks; these bound what is.
    offline: bool = False
    fetch_proxy: str | None = None
    fetch_allow_local: bool = False
    fetch_max_bytes: int = 1024**3
    fetch_page_max_bytes: int = 5 * 1024**2
    fetch_timeout_s: float = 120.0
    fetch_max_redirects: int = 5
    # Roles (issue 17): see verify.roles and docs/team.md.
    default_role: str = "viewer"
    viewer_reveal: bool = False
    oidc_role_claim: str = "groups"
    oidc_role_map: str | None = None
    trusted_proxy: str | None = None
    ui_workers: int = 1

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: ``--db``/``VERIFY_DB`` if given, else SQLite in the data dir."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{self.data_dir / 'verify.sqlite3'}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


# name, environment variable, parser, help
SETTINGS_TABLE: list[tuple[str, str, type, str]] = [
    ("data_dir", "VERIFY_DATA_DIR", Path, "Folder for the SQLite file and the media folder."),
    ("db_url", "VERIFY_DB", str, "SQLAlchemy URL; overrides the SQLite file (postgresql+psycopg://...)."),
    ("max_file_bytes", "VERIFY_MAX_FILE_BYTES", int, "Largest file accepted, in bytes."),
    ("max_image_pixels", "VERIFY_MAX_IMAGE_PIXELS", int, "Largest image accepted, in pixels (decompression bombs)."),
    ("max_video_pixels", "VERIFY_MAX_VIDEO_PIXELS", int, "Largest video frame accepted, in pixels."),
    ("max_video_seconds", "VERIFY_MAX_VIDEO_SECONDS", float, "Longest video accepted, in seconds."),
    ("decode_timeout_s", "VERIFY_DECODE_TIMEOUT", float, "One fixed time limit for analysing any file, in seconds (unset: sized to the work)."),
    ("still_timeout_s", "VERIFY_STILL_TIMEOUT", float, "Time limit for analysing one still picture, in seconds."),
    ("video_timeout_min_s", "VERIFY_VIDEO_TIMEOUT_MIN", float, "Shortest time limit for a video (one second per second of footage above it), in seconds."),
    ("video_timeout_max_s", "VERIFY_VIDEO_TIMEOUT_MAX", float, "Longest time limit for a video, in seconds."),
    ("decode_memory_bytes", "VERIFY_DECODE_MEMORY", int, "Address-space ceiling for the process decoding one file, in bytes."),
    ("actor", "VERIFY_ACTOR", str, "Name recorded on events made from the command line."),
    ("exiftool_path", "VERIFY_EXIFTOOL", str, "ExifTool 13+ program (or its folder) for optional enrichment; else exiftool on the PATH."),
    ("verdict_statuses", "VERIFY_VERDICT_STATUSES", str, "Comma-separated verdict statuses (default: the built-in list)."),
    ("map_tiles_url", "VERIFY_MAP_TILES", str, "Online map tile URL template; maps are offline when unset."),
    ("trusted_header", "VERIFY_TRUSTED_HEADER", str, "Request header naming the editor, set by a trusted reverse proxy (workbench)."),
    ("tsa_url", "VERIFY_TSA_URL", str, "RFC 3161 timestamp authorities (comma-separated URLs); no timestamps when unset."),
    ("tsa_ca", "VERIFY_TSA_CA", Path, "PEM file of the root certificates trusted to sign timestamps (checked by audit)."),
    ("tsa_timeout_s", "VERIFY_TSA_TIMEOUT", float, "Seconds to wait for a timestamp authority before the stamp is left pending."),
    ("ocr", "VERIFY_OCR", str, "Read text in pictures and video frames (1 or 0; on when Tesseract is installed)."),
    ("ocr_langs", "VERIFY_OCR_LANGS", str, "Tesseract languages for text in pictures, joined by '+' (default ara+eng)."),
    ("tesseract", "VERIFY_TESSERACT", str, "Path of the tesseract program (default: found on PATH)."),
    ("offline", "VERIFY_OFFLINE", str, "1: never fetch links (fetching is refused everywhere)."),
    ("fetch_proxy", "VERIFY_FETCH_PROXY", str, "Proxy for every link fetch (http://, socks5h:// e.g. a Tor client)."),
    ("fetch_allow_local", "VERIFY_FETCH_ALLOW_LOCAL", str, "1: allow fetching loopback and private addresses (tests, intranets)."),
    ("fetch_max_bytes", "VERIFY_FETCH_MAX_BYTES", int, "Largest media file fetched from a link, in bytes (also bounded by VERIFY_MAX_FILE_BYTES)."),
    ("fetch_page_max_bytes", "VERIFY_FETCH_PAGE_MAX_BYTES", int, "Largest web page read for a link, in bytes."),
    ("fetch_timeout_s", "VERIFY_FETCH_TIMEOUT", float, "Total time limit for everything fetched for one link, in seconds."),
    ("fetch_max_redirects", "VERIFY_FETCH_MAX_REDIRECTS", int, "Most redirects followed per request."),
    ("default_role", "VERIFY_DEFAULT_ROLE", str, "Role of a person with no grant once roles are in use (default viewer)."),
    ("viewer_reveal", "VERIFY_VIEWER_REVEAL", str, "Let viewers reveal flagged media (1 or 0; default 0)."),
    ("oidc_role_claim", "VERIFY_OIDC_ROLE_CLAIM", str, "The sign-in claim that carries a person's groups (default groups)."),
    ("oidc_role_map", "VERIFY_OIDC_ROLE_MAP", str, "Groups to roles, e.g. desk-verifiers=verifier,desk-admins=admin."),
    ("trusted_proxy", "VERIFY_TRUSTED_PROXY", str, "Addresses of the reverse proxy allowed to set VERIFY_TRUSTED_HEADER (comma-separated; default 127.0.0.1,::1)."),
    ("ui_workers", "VERIFY_UI_WORKERS", int, "Background jobs the workbench server runs itself (0: only `verify worker` processes do)."),
]


def load_settings(**overrides: object) -> Settings:
    """Environment first, then explicit overrides (flags); ``None`` overrides are ignored."""
    values: dict[str, object] = {"data_dir": default_data_dir()}
    for name, env, parser, _help in SETTINGS_TABLE:
        raw = os.environ.get(env)
        if raw is None or raw == "":
            continue
        try:
            if name == "verdict_statuses":
                values[name] = tuple(s.strip() for s in raw.split(",") if s.strip())
            elif name in ("ocr", "offline", "fetch_allow_local", "viewer_reveal"):
                values[name] = _flag(env, raw)
            else:
                values[name] = parser(raw)
        except ValueError as exc:
            raise VerifyError(f"{env} is not a valid value: {raw!r}") from exc
    for key, value in overrides.items():
        if value is not None:
            values[key] = Path(value) if key == "data_dir" else value
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})


def _flag(env: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{env} must be 1 or 0")


def with_overrides(settings: Settings, **overrides: object) -> Settings:
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
