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
