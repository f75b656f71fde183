"""Default settings; overridden by instance/config.py, then COORD_* environment variables."""

from __future__ import annotations

from datetime import timedelta

#: The placeholder secret that production refuses to start with.
DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105

#: "production" (strict: real secrets required, secure cookies), "development" or "testing".
ENV = "production"
SECRET_KEY = DEFAULT_SECRET_KEY
DATA_KEY = ""
DATABASE_URL = ""

#: The Ed25519 key that signs the audit chain's checkpoints: base64 of its raw 32 bytes (or
#: PEM), or the path of a file holding it. Required in production; generated into instance/
#: in development. Keep it out of the database (docs/audit.md).
AUDIT_SIGNING_KEY = ""
AUDIT_SIGNING_KEY_FILE = ""
#: Public keys of retired signing keys (PEM, or base64 raw comma-separated): their
#: checkpoints still verify after a key rotation.
AUDIT_PUBLIC_KEYS = ""
#: A checkpoint is due when the head moved and the last one is this old or this far behind.
AUDIT_CHECKPOINT_HOURS = 24
AUDIT_CHECKPOINT_EVENTS = 1000

SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}

PERMANENT_SESSION_LIFETIME = timedelta(days=14)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = True
WTF_CSRF_TIME_LIMIT = None

#: argon2id parameters (OWASP: m >= 19 MiB, t >= 2, p = 1).
PASSWORD_HASH = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
PASSWORD_MIN_LENGTH = 10

RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = True
RATELIMIT_LOGIN_PER_CLIENT = "20 per minute"
RATELIMIT_LOGIN_PER_ACCOUNT = "5 per minute; 30 per hour"
RATELIMIT_COMMENT_POSTS = "10 per minute"
RATELIMIT_COMMENT_REACTIONS = "60 per minute"
RATELIMIT_REPORTS = "10 per minute"
RATELIMIT_DELIBERATION_POSTS = "20 per minute"

#: Trust one reverse proxy's X-Forwarded-* headers (client address for rate limits, https).
PROXY_FIX = False

MAX_CONTENT_LENGTH = 16 * 1024 * 1024
PAGE_SIZE = 20

# -- Running on several machines (docs/configuration.md) --------------------------------------
#: Redis for background jobs (RQ); production requires it, and a Redis RATELIMIT_STORAGE_URI.
REDIS_URL = ""
#: How jobs run: "rq" (the default when REDIS_URL is set; the only mode production accepts)
#: or "inline" (at once, in the asking process: development and tests).
JOBS = ""
JOBS_QUEUE_PREFIX = "coord-"

#: SMTP; without MAIL_SERVER mails are written to the log. MAIL_SECURITY: ssl (implicit TLS,
#: port 465), starttls (587) or none (25); MAIL_PORT 0 means the security's usual port.
MAIL_SERVER = ""
MAIL_PORT = 0
MAIL_SECURITY = "starttls"
MAIL_USERNAME = ""
MAIL_PASSWORD = ""
MAIL_FROM = "coord@localhost"
MAIL_TIMEOUT = 30

#: Logs: "json" or "text" (default: json in production, text otherwise).
LOG_FORMAT = ""
LOG_LEVEL = "INFO"
#: Who may read /metrics: comma-separated addresses or CIDR networks.
METRICS_ALLOW = "127.0.0.1,::1"

#: Uploaded files (coord/storage.py): "local" — the folder UPLOAD_FOLDER (default
#: instance/uploads; a shared volume when several machines serve the app) — or "s3", a bucket
#: of an S3-compatible store such as MinIO (COORD_S3_ENDPOINT=http://minio:9000 …).
STORAGE = "local"
UPLOAD_FOLDER = ""
S3_ENDPOINT = ""
S3_BUCKET = "coord-uploads"
S3_ACCESS_KEY = ""
S3_SECRET_KEY = ""
S3_REGION = "us-east-1"
