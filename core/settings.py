"""Every environment variable the assistant reads, parsed and validated in one place.

Each process reads them once at start-up: the Rasa server's entry point (server/__main__.py),
the action server's package (actions/__init__.py) and each tool's main. A bad value stops
the process there with a Chinese and English message naming the variable, never a
customer's turn. Everything else asks `settings()` for the parsed values; tests build a
Settings from a plain dict with `load(env)`.

The variables, their defaults and what they do: docs/configuration.md.
"""

import dataclasses
import os
import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, FrozenSet, Iterable, List, Mapping, Optional, TypeVar

DEFAULT_BANK_NAME = "工商银行"
DEFAULT_BANK_NAME_EN = "ICBC"
DEFAULT_BANK_HOTLINE = "95588"
DEFAULT_BANK_DOMAIN = "icbc.com.cn"
DEFAULT_BRANCH_HOURS = "网点一般工作日营业，具体时间以当地网点公告为准"
DEFAULT_BRANCH_HOURS_EN = "branches usually open on working days; the local branch posts its hours"
DEFAULT_PER_SENDER = "20/60"  # a customer types far slower; a script does not
DEFAULT_PER_IP = "120/60"  # several customers behind one office or carrier NAT
DEFAULT_REPLY_TIMEOUT_SECONDS = 10.0
DEFAULT_TURNS_AT_ONCE = 3
DEFAULT_ENDPOINTS = "endpoints.yml"
DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 36_500
DEFAULT_PUBLIC_BASE_URL = "http://localhost:5005"
# Long enough that guessing is hopeless; `secrets.token_urlsafe(32)` gives 43 characters.
MIN_ACTION_SECRET_LENGTH = 32
DISABLED = ("off", "0", "none")
SHARED_STATE_KINDS = ("memory", "redis")
DEFAULT_SHARED_STATE_KEY_PREFIX = "fanzha"
DEFAULT_OCR_THREADS = 1
DEFAULT_OCR_NICE = 0

_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}")
_RATE = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*")
# scheme://host[:port], nothing after: a trailing slash or path would never match.
_ORIGIN = re.compile(r"(?:https?://[^/\s]+|null)")

T = TypeVar("T")


class SettingsError(ValueError):
    """A variable has a value the assistant cannot run with; the message names it."""


@dataclass(frozen=True)
class Bank:
    name: str
    hotline: str
    # The name English replies use (BANK_NAME_EN); "" = the Chinese name.
    name_en: str = ""

    def name_in(self, language: str) -> str:
        """The name to say in `language` ("en" or Chinese)."""
        return (self.name_en or self.name) if language == "en" else self.name


@dataclass(frozen=True)
class Rate:
    """`count` requests per `seconds`, with bursts of up to `count`."""

    count: int
    seconds: float


@dataclass(frozen=True)
class Settings:
    bank: Bank
    # The bank's own web domain (its subdomains count too); "" vouches for no site.
    bank_domain: str
    branch_hours: str
    # Token-bucket rates per sender and per client address; None is no limit.
    rate_per_sender: Optional[Rate]
    rate_per_ip: Optional[Rate]
    reply_timeout: float
    turns_at_once: int
    chat_allowed_origins: FrozenSet[str]
    # The endpoints file whose tracker store holds conversations and handoff records.
    endpoints_file: Path
    # Where handoff records go when not beside the tracker store's events ("" = there).
    handoff_db_url: str
    retention_days: int
    public_base_url: str
    # What the action server expects in Authorization (only the action server needs it).
    action_server_secret: str
    # Rasa's own: the PostgreSQL schema of its `events` table (the retention tool follows it).
    postgresql_schema: str
    # The WECHAT_* variables as given: credentials.yml may override each, so the WeChat
    # channel checks the combination (server/channels/wechat/settings.py).
    wechat_env: Mapping[str, str]
    # The CSV of the bank's ATMs (atm_id, location, branch; core/atms.py); "" = none.
    atm_list: str = ""
    # Where the state that replicas must share lives: rate-limit buckets, WeChat nonces,
    # MsgIds and buttons. "" = this process's memory (the embedded profile: no server);
    # a redis:// URL in the scale-out profile (SHARED_STATE=redis).
    shared_state_redis_url: str = ""
    # Every shared-state key starts with this and ":" (one Redis, several deployments).
    shared_state_key_prefix: str = DEFAULT_SHARED_STATE_KEY_PREFIX
    # SERVER_WAIT_FOR_PORT: the Rasa server loads its model, then waits until its port is
    # free before binding it (a spare copy; server/standby.py, deploy/supervise.py).
    wait_for_port: bool = False
    # The OCR worker (server/ocr/): its ONNX Runtime threads, and how much lower its CPU
    # priority is than the Rasa server's (docs/ocr.md measures both).
    ocr_threads: int = DEFAULT_OCR_THREADS
    ocr_nice: int = DEFAULT_OCR_NICE
    # The branch hours English replies say (BANK_BRANCH_HOURS_EN).
    branch_hours_en: str = DEFAULT_BRANCH_HOURS_EN

    def branch_hours_in(self, language: str) -> str:
        return self.branch_hours_en if language == "en" else self.branch_hours


def parse_bank(env: Mapping[str, str]) -> Bank:
    """BANK_NAME and BANK_HOTLINE, default ICBC. Both or neither: another bank's name with
    ICBC's hotline would send customers wrong."""
    name = env.get("BANK_NAME", "").strip()
    hotline = env.get("BANK_HOTLINE", "").strip()
    if bool(name) != bool(hotline):
        raise SettingsError("BANK_NAME and BANK_HOTLINE must be set together (or neither)")
    if hotline and not re.fullmatch(r"[0-9]{3,12}", hotline):
        raise SettingsError(f"BANK_HOTLINE must be 3-12 ASCII digits, got {hotline!r}")
    name_en = env.get("BANK_NAME_EN", "").strip()
    if not name:
        return Bank(DEFAULT_BANK_NAME, DEFAULT_BANK_HOTLINE, name_en or DEFAULT_BANK_NAME_EN)
    return Bank(name=name, hotline=hotline, name_en=name_en)


def parse_bank_domain(env: Mapping[str, str], bank: Bank) -> str:
    """BANK_DOMAIN, lower-cased. Default icbc.com.cn while the bank is ICBC; another bank
    without BANK_DOMAIN gets "": ICBC's domain under another bank's name would be wrong.
    BANK_DOMAIN without BANK_NAME is refused for the same reason."""
    domain = env.get("BANK_DOMAIN", "").strip().lower()
    if domain and not env.get("BANK_NAME", "").strip():
        raise SettingsError("BANK_DOMAIN needs BANK_NAME and BANK_HOTLINE set with it")
    if domain and not _DOMAIN.fullmatch(domain):
        raise SettingsError(f"BANK_DOMAIN must be a bare domain such as icbc.com.cn, got {domain!r}")
    if domain:
        return domain
    return DEFAULT_BANK_DOMAIN if bank.name == DEFAULT_BANK_NAME else ""


def parse_rate(raw: str, variable: str) -> Optional[Rate]:
    """"20/60" -> Rate(20, 60.0); "off" (or "0") -> None, no limit."""
    if raw.strip().lower() in DISABLED:
        return None
    match = _RATE.fullmatch(raw)
    if not match or int(match[1]) < 1 or float(match[2]) <= 0:
        raise SettingsError(
            f"{variable} 的格式是 次数/秒数，例如 20/60，或 off 表示不限 /"
            f" {variable} must look like 20/60 (requests/seconds) or off, got {raw!r}"
        )
    return Rate(int(match[1]), float(match[2]))


def parse_reply_timeout(env: Mapping[str, str]) -> float:
    raw = (env.get("ASSISTANT_REPLY_TIMEOUT") or "").strip()
    seconds = _number(raw, float, DEFAULT_REPLY_TIMEOUT_SECONDS)
    if not 0 < seconds <= 3600:
        raise SettingsError(
            "ASSISTANT_REPLY_TIMEOUT 必须是0到3600之间的秒数 / must be seconds in (0, 3600],"
            f" got {raw!r}"
        )
    return seconds


def parse_turns_at_once(env: Mapping[str, str]) -> int:
    raw = (env.get("MAX_TURNS_AT_ONCE") or "").strip()
    turns = _number(raw, int, DEFAULT_TURNS_AT_ONCE)
    if not 1 <= turns <= 1000:
        raise SettingsError(
            "MAX_TURNS_AT_ONCE 必须是1到1000之间的整数 / must be a whole number in"
            f" [1, 1000], got {raw!r}"
        )
    return turns


def parse_origins(raw: Any) -> FrozenSet[str]:
    """Allowed origins from a list or a comma-separated string; refuses malformed ones."""
    items: Iterable[Any] = raw.split(",") if isinstance(raw, str) else (raw or ())
    origins = frozenset(str(item).strip() for item in items if str(item).strip())
    malformed = sorted(o for o in origins if not _ORIGIN.fullmatch(o))
    if malformed:
        raise SettingsError(
            f"allowed origins must look like https://host[:port] (no path): {malformed}"
        )
    return origins


def parse_retention_days(raw: str) -> int:
    days = _number(raw.strip(), int, DEFAULT_RETENTION_DAYS)
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise SettingsError(
            f"RETENTION_DAYS 必须是 1 到 {MAX_RETENTION_DAYS} 之间的整数天数 /"
            f" must be whole days in [1, {MAX_RETENTION_DAYS}], got {raw!r}"
        )
    return days


def parse_action_server_secret(env: Mapping[str, str]) -> str:
    """ACTION_SERVER_SECRET as given; check_action_server_secret says whether it will do."""
    return env.get("ACTION_SERVER_SECRET", "")


def action_server_secret_problem(secret: str) -> Optional[str]:
    if not secret:
        return "ACTION_SERVER_SECRET is not set"
    if len(secret) < MIN_ACTION_SECRET_LENGTH:
        return f"ACTION_SERVER_SECRET is shorter than {MIN_ACTION_SECRET_LENGTH} characters"
    return None


def parse_shared_state_redis_url(env: Mapping[str, str]) -> str:
    """SHARED_STATE: memory (default, each process on its own) or redis. With redis the
    server is SHARED_STATE_REDIS_URL, else the one the scale-out profile's lock store
    names (REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_PASSWORD)."""
    kind = (env.get("SHARED_STATE") or "memory").strip().lower()
    if kind not in SHARED_STATE_KINDS:
        raise SettingsError(
            f"SHARED_STATE 只能是 memory 或 redis / SHARED_STATE must be memory or redis,"
            f" got {kind!r}"
        )
    if kind == "memory":
        return ""
    url = (env.get("SHARED_STATE_REDIS_URL") or "").strip()
    if url:
        if urllib.parse.urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise SettingsError(
                "SHARED_STATE_REDIS_URL 必须以 redis://、rediss:// 或 unix:// 开头 /"
                " SHARED_STATE_REDIS_URL must be a redis://, rediss:// or unix:// URL"
            )
        return url
    host = (env.get("REDIS_HOST") or "127.0.0.1").strip()
    port = _number((env.get("REDIS_PORT") or "").strip(), int, 6379)
    db = _number((env.get("REDIS_DB") or "").strip(), int, 0)
    if not 0 < port < 65536 or db < 0 or not re.fullmatch(r"[A-Za-z0-9.:_-]+", host):
        raise SettingsError(
            "SHARED_STATE=redis 需要有效的 REDIS_HOST、REDIS_PORT、REDIS_DB /"
            " SHARED_STATE=redis needs a valid REDIS_HOST, REDIS_PORT and REDIS_DB,"
            f" got {host!r}, {env.get('REDIS_PORT')!r}, {env.get('REDIS_DB')!r}"
        )
    password = env.get("REDIS_PASSWORD") or ""
    auth = f":{urllib.parse.quote(password, safe='')}@" if password else ""
    host = f"[{host}]" if ":" in host else host
    return f"redis://{auth}{host}:{port}/{db}"


def parse_shared_state_key_prefix(env: Mapping[str, str]) -> str:
    """SHARED_STATE_KEY_PREFIX, else REDIS_KEY_PREFIX (the lock store's), else fanzha."""
    prefix = (env.get("SHARED_STATE_KEY_PREFIX") or env.get("REDIS_KEY_PREFIX") or "").strip()
    prefix = prefix or DEFAULT_SHARED_STATE_KEY_PREFIX
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", prefix):
        raise SettingsError(
            "SHARED_STATE_KEY_PREFIX 只能包含字母、数字和 _.-（最多64个）/ may hold letters,"
            f" digits and _.- (up to 64), got {prefix!r}"
        )
    return prefix


def parse_switch(env: Mapping[str, str], variable: str) -> bool:
    raw = (env.get(variable) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{variable} 只能是 1 或 0 / {variable} must be 1 or 0, got {raw!r}")
def parse_ocr(env: Mapping[str, str]) -> "tuple[int, int]":
    """OCR_THREADS (1-8, default 1: measured faster on a shared two-core machine) and
    OCR_NICE (0-19, default 0)."""
    raw_threads = (env.get("OCR_THREADS") or "").strip()
    raw_nice = (env.get("OCR_NICE") or "").strip()
    threads = _number(raw_threads, int, DEFAULT_OCR_THREADS)
    nice = _number(raw_nice, int, DEFAULT_OCR_NICE)
    problems = []
    if not 1 <= threads <= 8:
        problems.append(f"OCR_THREADS 必须是1到8之间的整数 / must be a whole number in [1, 8], got {raw_threads!r}")
    if not 0 <= nice <= 19:
        problems.append(f"OCR_NICE 必须是0到19之间的整数 / must be a whole number in [0, 19], got {raw_nice!r}")
    if problems:
        raise SettingsError("; ".join(problems))
    return threads, nice


def _number(raw: str, kind: Callable[[str], T], default: T) -> Any:
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        return -1


def load(env: Mapping[str, str]) -> Settings:
    """The settings in `env`; SettingsError names every bad variable at once."""
    problems: List[str] = []

    def checked(parse: Callable[[], T], fallback: T) -> T:
        try:
            return parse()
        except SettingsError as problem:
            problems.append(str(problem))
            return fallback

    bank = checked(lambda: parse_bank(env),
                   Bank(DEFAULT_BANK_NAME, DEFAULT_BANK_HOTLINE, DEFAULT_BANK_NAME_EN))
    settings = Settings(
        bank=bank,
        bank_domain=checked(lambda: parse_bank_domain(env, bank), ""),
        branch_hours=env.get("BANK_BRANCH_HOURS", "").strip() or DEFAULT_BRANCH_HOURS,
        branch_hours_en=env.get("BANK_BRANCH_HOURS_EN", "").strip() or DEFAULT_BRANCH_HOURS_EN,
        rate_per_sender=checked(lambda: parse_rate(
            env.get("RATE_LIMIT_PER_SENDER") or DEFAULT_PER_SENDER, "RATE_LIMIT_PER_SENDER"), None),
        rate_per_ip=checked(lambda: parse_rate(
            env.get("RATE_LIMIT_PER_IP") or DEFAULT_PER_IP, "RATE_LIMIT_PER_IP"), None),
        reply_timeout=checked(lambda: parse_reply_timeout(env), DEFAULT_REPLY_TIMEOUT_SECONDS),
        turns_at_once=checked(lambda: parse_turns_at_once(env), DEFAULT_TURNS_AT_ONCE),
        chat_allowed_origins=checked(
            lambda: parse_origins(env.get("CHAT_ALLOWED_ORIGINS", "")), frozenset()),
        endpoints_file=Path(env.get("ENDPOINTS", "").strip() or DEFAULT_ENDPOINTS),
        handoff_db_url=env.get("HANDOFF_DB_URL", "").strip(),
        retention_days=checked(
            lambda: parse_retention_days(env.get("RETENTION_DAYS", "")), DEFAULT_RETENTION_DAYS),
        public_base_url=env.get("PUBLIC_BASE_URL", "").strip() or DEFAULT_PUBLIC_BASE_URL,
        action_server_secret=parse_action_server_secret(env),
        postgresql_schema=env.get("POSTGRESQL_SCHEMA", "").strip(),
        wechat_env={k: v for k, v in env.items() if k.startswith("WECHAT_")},
        atm_list=env.get("ATM_LIST", "").strip(),
        shared_state_redis_url=checked(lambda: parse_shared_state_redis_url(env), ""),
        shared_state_key_prefix=checked(
            lambda: parse_shared_state_key_prefix(env), DEFAULT_SHARED_STATE_KEY_PREFIX),
        wait_for_port=checked(lambda: parse_switch(env, "SERVER_WAIT_FOR_PORT"), False),
    )
    ocr_threads, ocr_nice = checked(
        lambda: parse_ocr(env), (DEFAULT_OCR_THREADS, DEFAULT_OCR_NICE))
    settings = dataclasses.replace(settings, ocr_threads=ocr_threads, ocr_nice=ocr_nice)
    if problems:
        raise SettingsError(
            "配置有误，请修改后再启动 / bad configuration, fix it and start again:\n- "
            + "\n- ".join(problems)
        )
    return settings


@lru_cache(maxsize=1)
def settings() -> Settings:
    """This process's settings, read from its environment the first time they are asked for."""
    return load(os.environ)


def reload() -> Settings:
    """Forget the settings read so far and read the environment again (tests)."""
    settings.cache_clear()
    return settings()


# ---------------------------------------------------------------------------
# StaffSettings: the staff console (staff/, `python -m staff`). Read by that process,
# by tools/staff_user.py, tools/report.py and tools/retention.py (audit retention);
# the assistant's own processes never read them. docs/staff.md lists them.

DEFAULT_STAFF_HOST = "127.0.0.1"  # loopback: the bank puts it on its internal network itself
DEFAULT_STAFF_PORT = 5080
DEFAULT_STAFF_TIMEZONE = "Asia/Shanghai"
# 网络安全法 第二十一条: network logs kept no less than six months.
DEFAULT_AUDIT_RETENTION_DAYS = 180


@dataclass(frozen=True)
class StaffSettings:
    host: str = DEFAULT_STAFF_HOST
    port: int = DEFAULT_STAFF_PORT
    # Secure cookies: on when the console is served over TLS (also when a proxy says so).
    cookie_secure: bool = False
    timezone: str = DEFAULT_STAFF_TIMEZONE
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures: int = 5
    lockout_minutes: int = 15
    # Per client address, wrong or right: a guessing script is stopped before the lockout.
    login_attempts_per_ip: int = 20
    login_window_minutes: int = 5
    accounts_file: str = ""
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS


def _staff_int(env, name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise SettingsError(f"{name} 必须是 {low} 到 {high} 之间的整数 / must be a whole number"
                         f" from {low} to {high}, got {raw!r}")
    return value


def _staff_flag(env, name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} 只能是 on 或 off / must be on or off, got {raw!r}")


def staff_settings_from_env(env=None) -> StaffSettings:
    """StaffSettings from the environment (or `env`); SettingsError naming the bad variable."""
    env = os.environ if env is None else env
    timezone_name = env.get("STAFF_TIMEZONE", "").strip() or DEFAULT_STAFF_TIMEZONE
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone_name)
    except (ValueError, KeyError, OSError):
        raise SettingsError(f"STAFF_TIMEZONE 不是有效的时区名 / not a time zone name: {timezone_name!r}"
                         "（例如 / e.g. Asia/Shanghai）") from None
    host = env.get("STAFF_HOST", "").strip() or DEFAULT_STAFF_HOST
    if any(ch.isspace() for ch in host) or "/" in host:
        raise SettingsError(f"STAFF_HOST 应是地址，例如 127.0.0.1 / must be an address: {host!r}")
    return StaffSettings(
        host=host,
        port=_staff_int(env, "STAFF_PORT", DEFAULT_STAFF_PORT, 1, 65535),
        cookie_secure=_staff_flag(env, "STAFF_COOKIE_SECURE"),
        timezone=timezone_name,
        session_idle_minutes=_staff_int(env, "STAFF_SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
        session_max_hours=_staff_int(env, "STAFF_SESSION_MAX_HOURS", 12, 1, 7 * 24),
        login_max_failures=_staff_int(env, "STAFF_LOGIN_MAX_FAILURES", 5, 1, 100),
        lockout_minutes=_staff_int(env, "STAFF_LOCKOUT_MINUTES", 15, 1, 7 * 24 * 60),
        login_attempts_per_ip=_staff_int(env, "STAFF_LOGIN_ATTEMPTS_PER_IP", 20, 1, 10_000),
        login_window_minutes=_staff_int(env, "STAFF_LOGIN_WINDOW_MINUTES", 5, 1, 24 * 60),
        accounts_file=env.get("STAFF_ACCOUNTS_FILE", "").strip(),
        audit_retention_days=_staff_int(
            env, "AUDIT_RETENTION_DAYS", DEFAULT_AUDIT_RETENTION_DAYS, 1, 36_500),
    )
