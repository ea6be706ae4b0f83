"""One typed settings object for every process (functions, scheduler, worker).

Every variable is documented in `.env.example`. `get_config()` is cached per process; tests call
`get_config.cache_clear()` after changing the environment.

Read from the environment by a few lines here rather than pydantic-settings: that import alone was ~15 ms of
every cold start (docs/architecture/foundation.md). Names are case-insensitive, unknown variables are ignored,
and each value is parsed by its field's annotation (str, int, float, bool as pydantic reads it, Literal); a
value that does not parse is a `ConfigError` naming the variable.
"""

import base64
import os
from functools import lru_cache
from typing import Any, Literal, get_args, get_origin

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


class ConfigError(RuntimeError):
    """Raised at start-up when the environment cannot run the requested mode."""


def _int(text: str) -> int:
    """An integer as pydantic reads one from the environment: "5" and "5.0" are 5; "5.5" and "1e3" are refused."""
    whole, dot, fraction = text.partition(".")
    if dot and fraction.strip("0") == "":
        text = whole
    return int(text)


def _parse(name: str, kind: Any, raw: Any) -> Any:
    """One environment value (or keyword override) as its field's type."""
    if not isinstance(raw, str):
        return raw  # a keyword override already typed by its caller
    try:
        if kind is str:
            return raw
        if kind is bool:
            low = raw.lower()
            if low in _TRUE or low in _FALSE:
                return low in _TRUE
            raise ValueError("not a boolean")
        if kind is int:
            return _int(raw.strip())
        if kind is float:
            return float(raw.strip())
        if get_origin(kind) is Literal:
            if raw in get_args(kind):
                return raw
            raise ValueError(f"must be one of {', '.join(map(str, get_args(kind)))}")
    except ValueError as exc:
        raise ConfigError(f"{name.upper()}={raw!r} is invalid: {exc}") from None
    raise TypeError(f"Config field {name} has an unsupported type {kind!r}")  # a programming error


class Config:
    """Defaults below; `Config(**overrides)` wins over the environment, the environment over the defaults."""

    def __init__(self, _env_file: object = None, **overrides: Any) -> None:
        env = {k.lower(): v for k, v in os.environ.items()}
        for name, kind in self.__annotations__.items():
            if name in overrides:
                value = _parse(name, kind, overrides.pop(name))
            elif name in env:
                value = _parse(name, kind, env[name])
            else:
                continue  # the class default
            setattr(self, name, value)
        if overrides:
            raise TypeError(f"unknown Config fields: {', '.join(sorted(overrides))}")
        self.public_base_url = self.public_base_url.rstrip("/")

    @classmethod
    def field_names(cls) -> list[str]:
        return list(cls.__annotations__)

    # --- runtime mode -----------------------------------------------------------------------
    app_env: Literal["production", "development", "test"] = "development"
    public_base_url: str = "http://localhost:3000"  # what QStash calls back; signatures are bound to it
    log_level: str = "INFO"

    # --- auth -------------------------------------------------------------------------------
    app_password_hash: str = ""  # argon2 hash of the single login password
    jwt_secret: str = ""
    jwt_expiry_hours: int = 24 * 7
    api_key: str = ""  # optional static key for scripts (Authorization: Bearer <key>)
    # Who vouches for the client address (shared/auth/client_ip.py). CLIENT_IP_HEADER: a header the platform's
    # edge sets itself (default on Vercel, which sets VERCEL=1: x-vercel-forwarded-for); TRUSTED_PROXIES:
    # comma-separated addresses/CIDRs of proxies we run, the only peers whose X-Forwarded-For is read. Neither:
    # the connection's own peer address, whatever headers the client sends.
    client_ip_header: str = ""
    trusted_proxies: str = ""
    login_max_attempts: int = 5
    login_window_seconds: int = 15 * 60

    # --- encryption at rest -------------------------------------------------------------------
    # base64 of 32 random bytes; several comma-separated keys allow rotation (first encrypts, all decrypt)
    encryption_keys: str = ""

    # --- Postgres ---------------------------------------------------------------------------
    database_url: str = ""

    # --- Upstash Redis (REST) ---------------------------------------------------------------
    upstash_redis_rest_url: str = ""
    upstash_redis_rest_token: str = ""

    # --- QStash -----------------------------------------------------------------------------
    qstash_url: str = "https://qstash.upstash.io"
    qstash_token: str = ""
    qstash_current_signing_key: str = ""
    qstash_next_signing_key: str = ""

    # --- Backblaze B2 (S3 API) ----------------------------------------------------------------
    b2_endpoint_url: str = ""
    b2_region: str = "us-west-004"
    b2_key_id: str = ""
    b2_application_key: str = ""
    b2_bucket: str = ""
    b2_public_base_url: str = ""  # optional CDN / public bucket URL; presigned GETs otherwise

    # --- media pipeline (uploads, jobs, the always-on worker) ------------------------------------
    # direct TCP Redis for the worker's blocking wake-up (Upstash: rediss://default:<token>@<host>:6379);
    # the REST client cannot block, so without it the worker falls back to polling every idle_wait seconds
    media_worker_redis_url: str = ""
    media_worker_idle_wait_seconds: float = 120.0  # BLPOP timeout: 720 Redis commands/day when idle
    # idle safety poll of Postgres: only a lost wake-up token waits for it (delayed retries and expired leases
    # are timed exactly, and the dispatcher's usage housekeeping re-sends a wake-up when queued jobs wait);
    # each poll wakes a suspended Neon compute for ~5 min: every 30 min that alone was 4 h of awake time a day
    media_worker_sweep_seconds: float = 43200.0
    media_worker_temp_dir: str = ""  # local scratch for sources and renditions (default: system temp)
    media_worker_shutdown_grace_seconds: float = 20.0  # on SIGTERM, finish a job only if it ends within this
    media_job_lease_seconds: float = 30.0  # a running job whose lease is not renewed is picked up again
    media_job_heartbeat_seconds: float = 2.0  # lease renewal + progress write + cancel check while running
    media_job_max_attempts: int = 3
    media_retry_base_seconds: float = 15.0  # backoff after a transient failure: base * 4^(attempt-1), capped
    media_single_put_max_bytes: int = 64 * 1024 * 1024  # larger uploads get a multipart plan
    media_part_size_bytes: int = 16 * 1024 * 1024
    media_max_input_seconds: float = 3 * 3600.0  # untrusted input limits
    media_max_input_dimension: int = 4096
    media_ffmpeg_timeout_seconds: float = 3600.0  # wall-clock cap for one ffmpeg run
    media_x264_preset: str = "veryfast"
    # renditions of one source encoded from one decode; each encoder adds its frames to ffmpeg's memory
    media_max_outputs_per_run: int = 3

    # --- outbound fetching (feeds, images) ------------------------------------------------------
    # SSRF guard: loopback/private/link-local targets are refused unless this is set (tests, `make dev`)
    allow_private_network_fetch: bool = False

    # --- RSS and YouTube-channel automation ---------------------------------------------------------
    rss_fetch_concurrency: int = 32  # feeds fetched at once in one tick (worst-case memory 32 × 10 MB cap)
    rss_per_host_concurrency: int = 4  # politeness: at most this many fetches to one host at once (0 = no limit)
    rss_tick_budget_seconds: float = 40.0  # work one tick invocation may do before handing the rest to QStash
    rss_feed_lock_seconds: int = 120  # Redis lock per feed: overlapping ticks never fetch a feed twice
    rss_auto_pause_failures: int = 10  # consecutive failures before a feed is paused (0 = never)
    rss_fetch_timeout_seconds: float = 20.0  # total time one feed fetch may take (connect 5 s, read 10 s)
    rss_item_limit_per_fetch: int = 100  # newest entries considered per fetch (bounds a 10 MB feed's work)
    # the dispatcher's lease on the items a tick runs: it must outlast the longest invocation (Vercel stops a
    # function at 300 s); tests shorten it to prove crash recovery with real processes in seconds
    dispatch_lease_seconds: float = 360.0

    # --- third-party APIs (overridable for local fakes) ----------------------------------------------
    openai_base_url: str = "https://api.openai.com/v1"
    serper_base_url: str = "https://google.serper.dev"
    youtube_base_url: str = "https://www.youtube.com"  # channel pages and public Atom feeds

    # --- TMDb automation ------------------------------------------------------------------------------
    tmdb_api_key: str = ""  # v4 read access token or v3 key; the `tmdbKey` setting wins when set
    tmdb_api_base: str = "https://api.themoviedb.org"  # the local fake's URL under `make dev` without a key
    tmdb_image_base: str = "https://image.tmdb.org/t/p"  # image CDN: <base>/<size><file_path>
    tmdb_rate_limit: int = 40  # requests per window, shared by every process (Redis token bucket)
    tmdb_rate_window_seconds: float = 10.0
    tmdb_metadata_cache_seconds: int = 900  # Redis response cache: discover, details, lists, search
    tmdb_images_cache_seconds: int = 86400  # Redis response cache: image lists change rarely
    tmdb_concurrency: int = 6  # TMDb requests in flight at once within one refresh
    tmdb_timeout_seconds: float = 15.0

    # --- publishing -------------------------------------------------------------------------
    # dry_run records what would have been posted instead of calling the platforms
    publish_mode: Literal["live", "dry_run"] = "live"
    # platform app credentials (an unset pair makes that platform's connect flow a clear 400)
    x_client_id: str = ""
    x_client_secret: str = ""
    tiktok_client_key: str = ""
    tiktok_client_secret: str = ""
    meta_client_id: str = ""  # Facebook Pages + Instagram (and Threads unless THREADS_CLIENT_ID is set)
    meta_client_secret: str = ""
    threads_client_id: str = ""  # optional: Threads apps may have their own id
    threads_client_secret: str = ""
    youtube_client_id: str = ""
    youtube_client_secret: str = ""
    pinterest_client_id: str = ""
    pinterest_client_secret: str = ""
    # platform endpoints, overridable so tests and `make dev` can point them at local fakes
    x_api_base: str = "https://api.x.com"
    x_authorize_url: str = "https://x.com/i/oauth2/authorize"
    tiktok_api_base: str = "https://open.tiktokapis.com"
    tiktok_authorize_url: str = "https://www.tiktok.com/v2/auth/authorize/"
    # TikTok: an app that has not passed TikTok's audit may only post SELF_ONLY (private) videos
    tiktok_app_audited: bool = False
    # TikTok PULL_FROM_URL only works from a domain or URL prefix verified in the TikTok developer portal; empty:
    # every video is uploaded in chunks (FILE_UPLOAD), streamed from B2
    tiktok_verified_media_domain: str = ""
    meta_graph_base: str = "https://graph.facebook.com"  # the version is META_GRAPH_VERSION
    meta_graph_video_base: str = "https://graph-video.facebook.com"  # video publishing host (Video API guide)
    meta_authorize_url: str = ""  # empty: https://www.facebook.com/<META_GRAPH_VERSION>/dialog/oauth
    # Graph API version for Facebook and Instagram; /health warns 30 days before its end of life
    # (shared/publishing/connections/graph_version.py has Meta's table; _END_OF_LIFE overrides it, YYYY-MM-DD)
    meta_graph_version: str = "v25.0"
    meta_graph_version_end_of_life: str = ""
    threads_api_base: str = "https://graph.threads.net"
    threads_authorize_url: str = "https://threads.net/oauth/authorize"
    youtube_api_base: str = "https://www.googleapis.com"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    youtube_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    pinterest_api_base: str = "https://api.pinterest.com"
    pinterest_authorize_url: str = "https://www.pinterest.com/oauth/"
    # comma-separated origins allowed in OAuth redirectUri (empty: PUBLIC_BASE_URL's origin in production, any
    # origin elsewhere; the path must be /platforms/callback)
    oauth_redirect_origins: str = ""
    # a claim's lease: its holder's heartbeat extends it every fifth of this while it uploads or polls; only
    # once it has expired (the worker died or stalled) may the maintenance sweep take the claim over
    publish_lease_seconds: float = 900
    # when a platform is still processing a sent post: the delay before a checker looks again, and how many
    # such checks before the post counts as unconfirmed
    publish_settle_delay_seconds: float = 60.0
    publish_settle_max_checks: int = 30
    # re-checks of an unconfirmed post: this, then doubling, at most 24 times this apart (hours, not seconds)
    publish_recheck_base_seconds: float = 3600.0
    # how long platforms that pull media (Meta, Threads, TikTok) may read a presigned B2 URL
    publish_media_url_ttl_seconds: int = 7 * 24 * 3600
    # timeouts and backoff for platform calls (tests shrink them)
    publish_http_timeout_seconds: float = 60.0
    publish_retry_base_seconds: float = 1.0
    # how long one run may poll a platform's processing before handing over to a delayed settle message
    publish_poll_budget_seconds: float = 120.0
    publish_poll_interval_seconds: float = 5.0
    # pre-staged posts (shared/publishing/staging): a planned single-request post due within the horizon is
    # prepared in Redis in an awake window and sent at its time without Postgres; results are written back in
    # the next window. On by default and inert on a Redis that cannot confirm a checkpoint durable (the gate
    # below; see docs/architecture/usage.md, "Pre-staging posts").
    publish_staging: bool = True
    publish_stage_horizon_seconds: float = 6 * 3600.0
    # a stage not sent this long after its slot goes back to the database path (never sent late from Redis)
    publish_stage_grace_seconds: float = 600.0
    # the staged sender's lease (Redis): claimed -> sending only while it outlasts the HTTP timeout
    publish_stage_lease_seconds: float = 180.0
    # the account's token must outlive the slot's grace by this much, or the post is not staged
    publish_stage_token_margin_seconds: float = 900.0
    # what must confirm the `sending` checkpoint before a staged post's request goes out (staging/durability.py):
    # `waitaof:<local>:<replicas>` (default: on disk here and on one replica), `wait:<replicas>`, or `none` (only
    # for a Redis that keeps nothing on disk and has no replica, where a loss is total and the write-back's
    # look-up covers it). A stage whose checkpoint is not confirmed in time is released unsent.
    publish_stage_durability: str = "waitaof:1:1"
    publish_stage_durability_timeout_ms: int = 1000

    # --- browser access ------------------------------------------------------------------------
    # comma-separated origins allowed by CORS; production serves the SPA same-origin and needs none
    cors_origins: str = "http://localhost:5173,http://127.0.0.1:5173,http://localhost:3000,http://127.0.0.1:3000"

    # --- request limits -----------------------------------------------------------------------
    max_json_body_bytes: int = 1_000_000

    # --- local stack ------------------------------------------------------------------------
    local_data_dir: str = ".local"

    @property
    def effective_client_ip_header(self) -> str:
        # VERCEL=1 is set by the platform in every function (not one of our variables)
        on_vercel = os.environ.get("VERCEL") == "1"
        return (self.client_ip_header or ("x-vercel-forwarded-for" if on_vercel else "")).strip().lower()

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def encryption_key_list(self) -> list[bytes]:
        keys = []
        for raw in filter(None, (k.strip() for k in self.encryption_keys.split(","))):
            key = base64.b64decode(raw)
            if len(key) != 32:
                raise ConfigError("ENCRYPTION_KEYS entries must be base64 of exactly 32 bytes")
            keys.append(key)
        return keys

    def missing_for_production(self) -> list[str]:
        required = {
            "DATABASE_URL": self.database_url,
            "UPSTASH_REDIS_REST_URL": self.upstash_redis_rest_url,
            "UPSTASH_REDIS_REST_TOKEN": self.upstash_redis_rest_token,
            "QSTASH_TOKEN": self.qstash_token,
            "QSTASH_CURRENT_SIGNING_KEY": self.qstash_current_signing_key,
            "QSTASH_NEXT_SIGNING_KEY": self.qstash_next_signing_key,
            "APP_PASSWORD_HASH": self.app_password_hash,
            "JWT_SECRET": self.jwt_secret,
            "ENCRYPTION_KEYS": self.encryption_keys,
            "B2_ENDPOINT_URL": self.b2_endpoint_url,
            "B2_KEY_ID": self.b2_key_id,
            "B2_APPLICATION_KEY": self.b2_application_key,
            "B2_BUCKET": self.b2_bucket,
            "PUBLIC_BASE_URL": self.public_base_url if "localhost" not in self.public_base_url else "",
        }
        return [name for name, value in required.items() if not value]

    def validate_for_startup(self) -> "Config":
        """Fail fast with one message naming every missing variable."""
        if self.is_production:
            missing = self.missing_for_production()
            if missing:
                raise ConfigError(
                    "Missing required environment variables for APP_ENV=production: " + ", ".join(missing)
                    + " (see .env.example)"
                )
            if not self.public_base_url.startswith("https://"):
                # QStash signs the exact URL it calls, and tokens travel in headers: production is https only
                raise ConfigError("PUBLIC_BASE_URL must be an https:// URL when APP_ENV=production")
        if len(self.jwt_secret) < 32 and self.jwt_secret:
            raise ConfigError("JWT_SECRET must be at least 32 characters")
        if self.api_key and len(self.api_key) < 32:
            # bearer checks are not rate limited: a static key must be unguessable on its own
            raise ConfigError("API_KEY must be at least 32 characters (or empty to disable it)")
        self.encryption_key_list()
        if self.publish_staging:
            from shared.publishing.staging.durability import parse

            try:
                parse(self.publish_stage_durability)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
        try:
            from shared.auth.client_ip import parse_networks

            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"TRUSTED_PROXIES must be comma-separated addresses or CIDRs: {exc}") from exc
        return self


@lru_cache(maxsize=1)
def get_config() -> Config:
    return Config().validate_for_startup()

