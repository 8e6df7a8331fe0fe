"""Deployment configuration read from the environment (one place, with defaults)."""

import os
import re
from dataclasses import dataclass

DEFAULT_BANK_NAME = "工商银行"
DEFAULT_BANK_HOTLINE = "95588"


@dataclass(frozen=True)
class Bank:
    name: str
    hotline: str


def bank_from_env() -> Bank:
    """The bank that runs this assistant: BANK_NAME and BANK_HOTLINE, default ICBC.

    Both or neither: another bank's name with ICBC's hotline would send customers wrong.
    """
    name = os.environ.get("BANK_NAME", "").strip()
    hotline = os.environ.get("BANK_HOTLINE", "").strip()
    if bool(name) != bool(hotline):
        raise ValueError("BANK_NAME and BANK_HOTLINE must be set together (or neither)")
    if hotline and not re.fullmatch(r"[0-9]{3,12}", hotline):
        raise ValueError(f"BANK_HOTLINE must be 3-12 ASCII digits, got {hotline!r}")
    return Bank(name=name or DEFAULT_BANK_NAME, hotline=hotline or DEFAULT_BANK_HOTLINE)


DEFAULT_BANK_DOMAIN = "icbc.com.cn"
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}")


def bank_domain_from_env() -> str:
    """The bank's own web domain (its subdomains count too): BANK_DOMAIN, lower-cased.

    Default icbc.com.cn while the bank is ICBC. Another bank without BANK_DOMAIN gets "",
    no bank site vouched for: ICBC's domain under another bank's name would be wrong.
    BANK_DOMAIN without BANK_NAME is refused for the same reason.
    """
    domain = os.environ.get("BANK_DOMAIN", "").strip().lower()
    if domain and not os.environ.get("BANK_NAME", "").strip():
        raise ValueError("BANK_DOMAIN needs BANK_NAME and BANK_HOTLINE set with it")
    if domain and not _DOMAIN.fullmatch(domain):
        raise ValueError(f"BANK_DOMAIN must be a bare domain such as icbc.com.cn, got {domain!r}")
    if domain:
        return domain
    return DEFAULT_BANK_DOMAIN if bank_from_env().name == DEFAULT_BANK_NAME else ""


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
        raise ValueError(f"{name} 必须是 {low} 到 {high} 之间的整数 / must be a whole number"
                         f" from {low} to {high}, got {raw!r}")
    return value


def _staff_flag(env, name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name} 只能是 on 或 off / must be on or off, got {raw!r}")


def staff_settings_from_env(env=None) -> StaffSettings:
    """StaffSettings from the environment (or `env`); ValueError naming the bad variable."""
    env = os.environ if env is None else env
    timezone_name = env.get("STAFF_TIMEZONE", "").strip() or DEFAULT_STAFF_TIMEZONE
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone_name)
    except (ValueError, KeyError, OSError):
        raise ValueError(f"STAFF_TIMEZONE 不是有效的时区名 / not a time zone name: {timezone_name!r}"
                         "（例如 / e.g. Asia/Shanghai）") from None
    host = env.get("STAFF_HOST", "").strip() or DEFAULT_STAFF_HOST
    if any(ch.isspace() for ch in host) or "/" in host:
        raise ValueError(f"STAFF_HOST 应是地址，例如 127.0.0.1 / must be an address: {host!r}")
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
