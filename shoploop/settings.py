"""Shoploop settings: read from environment variables only (12-factor).

Nothing is required for the embedded default: SQLite in WAL mode with IMMEDIATE transactions,
jobs and timers in-process, the in-memory channel layer, and the console SMS provider.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("SHOPLOOP_DEBUG", False)
# A staging deployment runs with DEBUG off but may use the sandbox cashier and the console SMS
# provider; production (neither DEBUG nor STAGING) refuses to start with them (core/checks.py).
STAGING = env_bool("SHOPLOOP_STAGING", False)
# A key is only generated for local development; production must set one.
SECRET_KEY = os.environ.get("SHOPLOOP_SECRET_KEY") or (
    "insecure-dev-key-only-for-debug" if DEBUG else ""
)
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SHOPLOOP_SECRET_KEY (or SHOPLOOP_DEBUG=1 for development).")

ALLOWED_HOSTS = env_list("SHOPLOOP_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("SHOPLOOP_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "channels",
    "shoploop.core",
    "shoploop.accounts",
    "shoploop.communities",
    "shoploop.catalog",
    "shoploop.ledger",
    "shoploop.coupons",
    "shoploop.referrals",
    "shoploop.orders",
    "shoploop.deals",
    "shoploop.deals.groups",
    "shoploop.deals.bargains",
    "shoploop.deals.crowdfunding",
    "shoploop.deals.flash",
    "shoploop.notifications",
    "shoploop.chat",
    "shoploop.content",
    "shoploop.feed",
    "shoploop.ideas",
    "shoploop.crowdtasks",
    "shoploop.insights",
    "shoploop.web",
    "shoploop.simulation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "shoploop.core.middleware.RejectNulCharactersMiddleware",
    "shoploop.core.middleware.ApiMethodNotAllowedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shoploop.core.middleware.MoneyPagesRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "shoploop.notifications.middleware.ActivityMiddleware",
    "shoploop.web.middleware.DomainErrorPagesMiddleware",
]

ROOT_URLCONF = "shoploop.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "shoploop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shoploop.web.context_processors.shell",
                "shoploop.notifications.context_processors.unread",
            ],
        },
    },
]

# Database: one URL switches between the embedded SQLite file and PostgreSQL.
DATABASE_URL = os.environ.get("SHOPLOOP_DATABASE_URL", "").strip()
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Under ASGI every request runs in its own thread, so persistent per-thread connections
        # pile up until PostgreSQL refuses clients in a rush. A bounded pool per process makes a
        # burst wait briefly for a connection instead of failing.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("SHOPLOOP_DB_POOL_SIZE", "20")),
            "timeout": float(os.environ.get("SHOPLOOP_DB_POOL_TIMEOUT", "30")),
        }
else:
    SQLITE_PATH = os.environ.get("SHOPLOOP_SQLITE_PATH", str(BASE_DIR / "var" / "shoploop.sqlite3"))
    # The embedded default must work on a fresh clone, so its folder is made here.
    Path(SQLITE_PATH).parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, which is what keeps SQLite correct
                # under concurrent writers (DESIGN.md, concurrency recipes).
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                ),
            },
            "TEST": {"NAME": os.environ.get("SHOPLOOP_SQLITE_TEST_PATH") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "web:home"

# Redis: unset means everything runs in this process.
REDIS_URL = os.environ.get("SHOPLOOP_REDIS_URL", "").strip()
EMBEDDED = not REDIS_URL

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    # Chat fans a message out through the channel layer. The pub/sub layer publishes it once per
    # conversation group and each web process that has subscribers hears it once, so a message
    # costs one publish per process, not one Redis write per connected client (bench/chat.py).
    # Delivery is at most once; clients catch up from the database by message number, so a
    # lost push costs a moment, never a message. SHOPLOOP_CHANNEL_LAYER=core selects the list-
    # based layer (one queue entry per connection) instead.
    CHANNEL_LAYER_KIND = os.environ.get("SHOPLOOP_CHANNEL_LAYER", "pubsub").strip() or "pubsub"
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": (
                "channels_redis.core.RedisChannelLayer"
                if CHANNEL_LAYER_KIND == "core"
                else "channels_redis.pubsub.RedisPubSubChannelLayer"
            ),
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Celery: with Redis, workers and beat run the jobs; embedded, tasks run eagerly in-process.
# Embedded: the in-memory transport. Even eager tasks open a (memory) connection for their
# serializer, and kombu warns about a URL without a host ("memory://"), so it names one.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
SETTLE_INTERVAL_SECONDS = int(os.environ.get("SHOPLOOP_SETTLE_INTERVAL", "15"))
# The event outbox (docs/events.md): the worker runs every OUTBOX_INTERVAL_SECONDS (Celery beat,
# or the embedded scheduler) and delivers what the on-commit fast path did not.
OUTBOX_INTERVAL_SECONDS = float(os.environ.get("SHOPLOOP_OUTBOX_INTERVAL", "2"))
OUTBOX_GRACE_SECONDS = float(os.environ.get("SHOPLOOP_OUTBOX_GRACE", "5"))  # fast path's head start
OUTBOX_BATCH_SIZE = int(os.environ.get("SHOPLOOP_OUTBOX_BATCH", "300"))
# Events delivered per worker transaction (a savepoint each): fewer commits, short lock holds.
OUTBOX_CHUNK_SIZE = int(os.environ.get("SHOPLOOP_OUTBOX_CHUNK", "50"))
OUTBOX_LEASE_SECONDS = float(os.environ.get("SHOPLOOP_OUTBOX_LEASE", "60"))
OUTBOX_RETRY_BASE_SECONDS = float(os.environ.get("SHOPLOOP_OUTBOX_RETRY_BASE", "5"))
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("SHOPLOOP_OUTBOX_MAX_ATTEMPTS", "8"))
CELERY_BEAT_SCHEDULE = {
    "settle-due": {
        "task": "shoploop.core.tasks.settle_due_task",
        "schedule": float(SETTLE_INTERVAL_SECONDS),
    },
    "deliver-outbox": {
        "task": "shoploop.core.tasks.deliver_outbox_task",
        "schedule": OUTBOX_INTERVAL_SECONDS,
    },
}
# Insights (docs/insights.md): the rollup reads outbox events after its cursor every
# INSIGHTS_ROLLUP_INTERVAL seconds, INSIGHTS_BATCH_SIZE at a time, once they are
# INSIGHTS_SETTLE_SECONDS old; person facts are kept INSIGHTS_PERSON_WEEKS weeks; no figure about
# fewer than INSIGHTS_MIN_PEOPLE people is shown; page views are counted per process and
# published every INSIGHTS_VIEWS_FLUSH_SECONDS (or INSIGHTS_VIEWS_FLUSH_AT pages).
INSIGHTS_ROLLUP_INTERVAL_SECONDS = float(os.environ.get("SHOPLOOP_INSIGHTS_INTERVAL", "60"))
# On SQLite a batch holds the one write lock: smaller batches keep buyers' writes waiting less.
INSIGHTS_BATCH_SIZE = int(
    os.environ.get("SHOPLOOP_INSIGHTS_BATCH", "2000" if DATABASE_URL else "200")
)
INSIGHTS_SETTLE_SECONDS = float(os.environ.get("SHOPLOOP_INSIGHTS_SETTLE", "30"))
INSIGHTS_PERSON_WEEKS = int(os.environ.get("SHOPLOOP_INSIGHTS_PERSON_WEEKS", "26"))
INSIGHTS_LINK_PURCHASE_HOURS = float(os.environ.get("SHOPLOOP_INSIGHTS_LINK_HOURS", "24"))
INSIGHTS_MIN_PEOPLE = int(os.environ.get("SHOPLOOP_INSIGHTS_MIN_PEOPLE", "5"))
INSIGHTS_COUNT_VIEWS = env_bool("SHOPLOOP_INSIGHTS_COUNT_VIEWS", True)
INSIGHTS_VIEWS_FLUSH_SECONDS = float(os.environ.get("SHOPLOOP_INSIGHTS_VIEWS_FLUSH", "60"))
INSIGHTS_VIEWS_FLUSH_AT = int(os.environ.get("SHOPLOOP_INSIGHTS_VIEWS_FLUSH_AT", "500"))
CELERY_BEAT_SCHEDULE["insights-rollup"] = {
    "task": "shoploop.insights.tasks.roll_up_task",
    "schedule": INSIGHTS_ROLLUP_INTERVAL_SECONDS,
}

# i18n: zh-Hans is the default for our users; English ships too.
LANGUAGE_CODE = "zh-hans"
# Each language is named in itself, so a person can always find their own in the switch.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "shoploop" / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("SHOPLOOP_TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("SHOPLOOP_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Embedded mode (and any deployment without a separate media server) serves uploads itself.
SERVE_MEDIA = env_bool("SHOPLOOP_SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "shoploop.core.storage.StaticStorage",
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Security: safe by default when DEBUG is off (`manage.py check --deploy` is clean).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "shoploop.web.views.csrf_failure"
# Proxies whose X-Forwarded-For is believed (IPs or CIDRs); anyone else's header is ignored, so a
# client cannot pick its own address to dodge a per-IP limit.
TRUSTED_PROXIES = env_list("SHOPLOOP_TRUSTED_PROXIES")
# Content-Security-Policy (django-csp) on every response: scripts, styles and everything else from
# this origin only, no inline script, style or event handler (templates keep them in static files).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SHOPLOOP_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SHOPLOOP_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# SMS: the console provider logs codes; a real provider is a dotted path to a class.
SMS_PROVIDER = os.environ.get("SHOPLOOP_SMS_PROVIDER", "shoploop.accounts.sms.ConsoleSMSProvider")
OTP_SENDS_PER_PHONE_PER_HOUR = int(os.environ.get("SHOPLOOP_OTP_PHONE_HOURLY", "5"))
OTP_SENDS_PER_IP_PER_HOUR = int(os.environ.get("SHOPLOOP_OTP_IP_HOURLY", "20"))
# API tokens stop working this many days after they were issued (rotate to get a fresh one).
API_TOKEN_TTL_DAYS = int(os.environ.get("SHOPLOOP_API_TOKEN_TTL_DAYS", "30"))
# Money endpoints (quotes, checkouts, cashier, withdrawals, deal buys/joins/pledges): at most this
# many calls per user per minute; more answer 429 rate_limited.
MONEY_RATE_PER_MINUTE = int(os.environ.get("SHOPLOOP_MONEY_RATE_PER_MINUTE", "30"))
# Chat: messages one person may send a minute, and fewer while their account is new.
CHAT_MESSAGES_PER_MINUTE = int(os.environ.get("SHOPLOOP_CHAT_MESSAGES_PER_MINUTE", "30"))
CHAT_NEW_ACCOUNT_MESSAGES_PER_MINUTE = int(
    os.environ.get("SHOPLOOP_CHAT_NEW_ACCOUNT_MESSAGES_PER_MINUTE", "5")
)
CHAT_NEW_ACCOUNT_HOURS = int(os.environ.get("SHOPLOOP_CHAT_NEW_ACCOUNT_HOURS", "24"))
# WebSocket permessage-deflate. Off: chat and notification frames are a few hundred bytes, so
# compressing each one for each connection costs CPU on every delivery of a room's fan-out and a
# zlib context per connection, and saves almost nothing (docs/chat.md, bench/chat.py).
WS_PER_MESSAGE_DEFLATE = env_bool("SHOPLOOP_WS_PER_MESSAGE_DEFLATE", False)

# Feed (docs/feed.md): how many entries a reader's stored timeline keeps, the audience above
# which a community, shop or person is merged on read instead of fanned out, and the ranking's
# half-life.
FEED_TIMELINE_SIZE = int(os.environ.get("SHOPLOOP_FEED_TIMELINE_SIZE", "500"))
FEED_BIG_SOURCE_THRESHOLD = int(os.environ.get("SHOPLOOP_FEED_BIG_SOURCE_THRESHOLD", "2000"))
FEED_HALF_LIFE_HOURS = float(os.environ.get("SHOPLOOP_FEED_HALF_LIFE_HOURS", "12"))

# Orders: how long stock is held for an unpaid checkout, when receipt is assumed, and how long
# after receipt a buyer may ask for an after-sale refund.
ORDER_RESERVATION_MINUTES = int(os.environ.get("SHOPLOOP_RESERVATION_MINUTES", "15"))
ORDER_AUTO_RECEIVE_DAYS = int(os.environ.get("SHOPLOOP_AUTO_RECEIVE_DAYS", "7"))
ORDER_AFTER_SALE_DAYS = int(os.environ.get("SHOPLOOP_AFTER_SALE_DAYS", "7"))


def env_minutes(name: str, default: int) -> int:
    """A duration in whole minutes, at least 1."""
    value = os.environ.get(name, str(default))
    try:
        minutes = int(value)
    except ValueError:
        minutes = 0
    if minutes < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of minutes, at least 1.")
    return minutes


# Deals: how long a reserved deal unit waits for its payment before it goes back.
DEALS_FLASH_PAYMENT_MINUTES = env_minutes("SHOPLOOP_FLASH_PAYMENT_MINUTES", 5)
DEALS_GROUP_SEAT_HOLD_MINUTES = env_minutes("SHOPLOOP_GROUP_SEAT_HOLD_MINUTES", 5)
DEALS_BARGAIN_PAYMENT_MINUTES = env_minutes("SHOPLOOP_BARGAIN_PAYMENT_MINUTES", 15)
DEALS_CROWDFUNDING_PAYMENT_MINUTES = env_minutes(
    "SHOPLOOP_CROWDFUNDING_PAYMENT_MINUTES", ORDER_RESERVATION_MINUTES
)

# Payments: the sandbox cashier is the embedded default; Alipay when configured (README).
PAYMENT_PROVIDER = os.environ.get("SHOPLOOP_PAYMENT_PROVIDER", "sandbox")
SANDBOX_PAY_SECRET = os.environ.get("SHOPLOOP_SANDBOX_PAY_SECRET", "")  # empty: from SECRET_KEY
ALIPAY_APP_ID = os.environ.get("SHOPLOOP_ALIPAY_APP_ID", "")
ALIPAY_PRIVATE_KEY_PATH = os.environ.get("SHOPLOOP_ALIPAY_PRIVATE_KEY_PATH", "")
ALIPAY_PUBLIC_KEY_PATH = os.environ.get("SHOPLOOP_ALIPAY_PUBLIC_KEY_PATH", "")
ALIPAY_SANDBOX = env_bool("SHOPLOOP_ALIPAY_SANDBOX", False)
ALIPAY_NOTIFY_URL = os.environ.get("SHOPLOOP_ALIPAY_NOTIFY_URL", "")
ALIPAY_RETURN_URL = os.environ.get("SHOPLOOP_ALIPAY_RETURN_URL", "")
ALIPAY_WAP = env_bool("SHOPLOOP_ALIPAY_WAP", False)
# WeChat Pay v3, the Tencent Cloud SMS adapter and the lost-notification query (docs/providers.md).
WECHAT_MCHID = os.environ.get("SHOPLOOP_WECHAT_MCHID", "")
WECHAT_APPID = os.environ.get("SHOPLOOP_WECHAT_APPID", "")
WECHAT_APP_SECRET = os.environ.get("SHOPLOOP_WECHAT_APP_SECRET", "")
WECHAT_PRIVATE_KEY_PATH = os.environ.get("SHOPLOOP_WECHAT_PRIVATE_KEY_PATH", "")
WECHAT_CERT_SERIAL_NO = os.environ.get("SHOPLOOP_WECHAT_CERT_SERIAL_NO", "")
WECHAT_APIV3_KEY = os.environ.get("SHOPLOOP_WECHAT_APIV3_KEY", "")
WECHAT_PLATFORM_CERT_DIR = os.environ.get("SHOPLOOP_WECHAT_PLATFORM_CERT_DIR", "")
WECHAT_PUBLIC_KEY_PATH = os.environ.get("SHOPLOOP_WECHAT_PUBLIC_KEY_PATH", "")
WECHAT_PUBLIC_KEY_ID = os.environ.get("SHOPLOOP_WECHAT_PUBLIC_KEY_ID", "")
WECHAT_NOTIFY_URL = os.environ.get("SHOPLOOP_WECHAT_NOTIFY_URL", "")
PAYMENT_QUERY_AFTER_MINUTES = int(os.environ.get("SHOPLOOP_PAYMENT_QUERY_AFTER_MINUTES", "5"))
TENCENT_SMS_SECRET_ID = os.environ.get("SHOPLOOP_TENCENT_SMS_SECRET_ID", "")
TENCENT_SMS_SECRET_KEY = os.environ.get("SHOPLOOP_TENCENT_SMS_SECRET_KEY", "")
TENCENT_SMS_REGION = os.environ.get("SHOPLOOP_TENCENT_SMS_REGION", "ap-guangzhou")
TENCENT_SMS_SDK_APP_ID = os.environ.get("SHOPLOOP_TENCENT_SMS_SDK_APP_ID", "")
TENCENT_SMS_SIGN_NAME = os.environ.get("SHOPLOOP_TENCENT_SMS_SIGN_NAME", "")
# One approved template per message kind; notification kinds are added here as they come.
SMS_TEMPLATES = {
    "sign_in_code": os.environ.get("SHOPLOOP_SMS_TEMPLATE_SIGN_IN_CODE", ""),
    # Notifications by SMS (docs/notifications.md): one template per important kind.
    "notify_group_failed": os.environ.get("SHOPLOOP_SMS_TEMPLATE_NOTIFY_GROUP_FAILED", ""),
    "notify_order_shipped": os.environ.get("SHOPLOOP_SMS_TEMPLATE_NOTIFY_ORDER_SHIPPED", ""),
    "notify_order_refunded": os.environ.get("SHOPLOOP_SMS_TEMPLATE_NOTIFY_ORDER_REFUNDED", ""),
}

# Notifications: a person is "away" after this long without a page, API call or live connection;
# important notifications reach an away person by SMS, at most this many a day.
NOTIFY_AWAY_MINUTES = env_minutes("SHOPLOOP_NOTIFY_AWAY_MINUTES", 15)
NOTIFY_SMS_PER_DAY = int(os.environ.get("SHOPLOOP_NOTIFY_SMS_PER_DAY", "3"))

# After-sale deadlines: a request the shop leaves unanswered this long is decided (refund only
# before shipping: refunded; otherwise: escalated to the operators); an accepted return must be
# shipped back within RETURN_SHIP_DAYS; a shipped return is refunded after AUTO_REFUND_DAYS unless
# the shop confirmed receipt or disputed it first.
AFTER_SALE_ANSWER_HOURS = int(os.environ.get("SHOPLOOP_AFTER_SALE_ANSWER_HOURS", "48"))

# Sharing and referral commissions (docs/sharing.md).
REFERRALS_ATTRIBUTION_DAYS = int(os.environ.get("SHOPLOOP_REFERRALS_ATTRIBUTION_DAYS", "7"))
REFERRALS_BINDING_DAYS = int(os.environ.get("SHOPLOOP_REFERRALS_BINDING_DAYS", "0")) or None
REFERRALS_MAX_COMMISSION_BPS = int(os.environ.get("SHOPLOOP_REFERRALS_MAX_COMMISSION_BPS", "3000"))
REFERRALS_DAILY_CAP_FEN = int(os.environ.get("SHOPLOOP_REFERRALS_DAILY_CAP_FEN", "50000"))
REFERRALS_IP_HASH_HOURS = int(os.environ.get("SHOPLOOP_REFERRALS_IP_HASH_HOURS", "72"))
REFERRALS_POSTER_FONT = os.environ.get("SHOPLOOP_REFERRALS_POSTER_FONT", "")
AFTER_SALE_RETURN_SHIP_DAYS = int(os.environ.get("SHOPLOOP_RETURN_SHIP_DAYS", "7"))
AFTER_SALE_RETURN_AUTO_REFUND_DAYS = int(os.environ.get("SHOPLOOP_RETURN_AUTO_REFUND_DAYS", "7"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SHOPLOOP_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
