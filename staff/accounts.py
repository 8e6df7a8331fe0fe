"""Staff accounts: Argon2id password hashes, two roles, and the lockout after repeated
wrong passwords.

Accounts come from `make staff-user` (tools/staff_user.py, source "command") or from the
YAML file STAFF_ACCOUNTS_FILE (source "config"), which the console syncs into
staff_accounts at start-up so that both kinds log in the same way:

    accounts:
      - username: zhangsan
        role: hotline            # or risk
        password_hash: "$argon2id$v=19$m=65536,t=3,p=4$..."   # make staff-user PRINT=1

A config account that leaves the file is disabled, not deleted: its audit entries keep
their meaning.
"""

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import sqlalchemy as sa
import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.settings import StaffSettings
from staff.tables import ACCOUNTS, HOTLINE, LOGIN_FAILURES, RISK

ROLES = (HOTLINE, RISK)
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{1,31}")
USERNAME_RULE = "用户名只能用小写英文字母、数字、“_”“.”“-”，2-32 个字符，以字母或数字开头"
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 256
COMMAND, CONFIG = "command", "config"

# argon2-cffi's defaults are RFC 9106's low-memory profile: Argon2id, 64 MiB, 3 passes.
_hasher = PasswordHasher()
_dummy_hash: Optional[str] = None


class AccountError(ValueError):
    """A bad account definition; the message is Chinese and says what to fix."""


def validate_username(raw: str) -> str:
    username = raw.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(f"用户名 {raw!r} 不合规：{USERNAME_RULE}")
    return username


def validate_role(raw: str) -> str:
    role = raw.strip().lower()
    if role not in ROLES:
        raise AccountError(f"角色 {raw!r} 不存在：只能是 hotline（热线）或 risk（风控）")
    return role


def validate_password(password: str) -> str:
    if len(password) < PASSWORD_MIN_CHARS:
        raise AccountError(f"密码太短：至少 {PASSWORD_MIN_CHARS} 个字符")
    if len(password) > PASSWORD_MAX_CHARS:
        raise AccountError(f"密码太长：最多 {PASSWORD_MAX_CHARS} 个字符")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(validate_password(password))


def _upsert(connection: sa.engine.Connection, username: str, role: str, password_hash: str,
            source: str, now: float) -> None:
    values = dict(role=role, password_hash=password_hash, source=source, disabled=False, updated_at=now)
    updated = connection.execute(
        ACCOUNTS.update().where(ACCOUNTS.c.username == username).values(**values)
    ).rowcount
    if not updated:
        connection.execute(ACCOUNTS.insert().values(username=username, **values))


def set_account(engine: sa.engine.Engine, username: str, role: str, password: str, now: float) -> None:
    """Creates the account or gives it a new role and password (make staff-user)."""
    username, role = validate_username(username), validate_role(role)
    password_hash = hash_password(password)
    with engine.begin() as connection:
        _upsert(connection, username, role, password_hash, COMMAND, now)
        # A new password ends a lockout: the administrator has just spoken to the person.
        connection.execute(LOGIN_FAILURES.delete().where(LOGIN_FAILURES.c.username == username))


def disable_account(engine: sa.engine.Engine, username: str, now: float) -> bool:
    with engine.begin() as connection:
        return bool(connection.execute(
            ACCOUNTS.update().where(ACCOUNTS.c.username == validate_username(username))
            .values(disabled=True, updated_at=now)
        ).rowcount)


@dataclass(frozen=True)
class ConfiguredAccount:
    username: str
    role: str
    password_hash: str


def read_accounts_file(path: Path) -> List[ConfiguredAccount]:
    """The accounts of STAFF_ACCOUNTS_FILE, all checked; AccountError names each problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise AccountError(f"无法读取账户文件 {str(path)!r}：{error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise AccountError(f"账户文件 {str(path)!r} 不是有效的 YAML：{error}") from None
    entries = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise AccountError(f"账户文件 {str(path)!r} 需要一个 accounts: 列表")
    accounts, problems, seen = [], [], set()
    for number, entry in enumerate(entries, start=1):
        try:
            if not isinstance(entry, dict):
                raise AccountError("应是包含 username、role、password_hash 的映射")
            username = validate_username(str(entry.get("username", "")))
            role = validate_role(str(entry.get("role", "")))
            password_hash = str(entry.get("password_hash", ""))
            if not password_hash.startswith("$argon2id$"):
                raise AccountError("password_hash 必须是 Argon2id 哈希（用 make staff-user PRINT=1 生成），不能是明文密码")
            if username in seen:
                raise AccountError(f"用户名 {username} 重复")
            seen.add(username)
            accounts.append(ConfiguredAccount(username, role, password_hash))
        except AccountError as error:
            problems.append(f"第 {number} 个账户：{error}")
    if problems:
        raise AccountError(f"账户文件 {str(path)!r} 有问题：\n" + "\n".join(problems))
    return accounts


def sync_configured_accounts(engine: sa.engine.Engine, accounts: List[ConfiguredAccount], now: float) -> None:
    """Config accounts as the file says; those no longer in it disabled. An account made
    with make staff-user under the same name is taken over by the file."""
    names = [account.username for account in accounts]
    with engine.begin() as connection:
        for account in accounts:
            _upsert(connection, account.username, account.role, account.password_hash, CONFIG, now)
        connection.execute(
            ACCOUNTS.update()
            .where(ACCOUNTS.c.source == CONFIG, ACCOUNTS.c.username.not_in(names))
            .values(disabled=True, updated_at=now)
        )


class Outcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # wrong name or password: the same answer for both
    LOCKED = "locked"  # locked now or already


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    username: str
    role: Optional[str] = None
    locked_until: Optional[float] = None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _dummy() -> str:
    # Unknown names cost the same hash as known ones: timing tells nothing.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("not a password of anyone")
    return _dummy_hash


def check_login(engine: sa.engine.Engine, raw_username: str, password: str,
                settings: StaffSettings, now: float) -> LoginResult:
    """Verifies a login attempt and keeps the lockout count.

    settings.login_max_failures wrong passwords in a row lock the name for
    settings.lockout_minutes; while locked, not even the right password is checked.
    """
    username = raw_username.strip().lower()[:64]
    with engine.connect() as connection:
        failures = connection.execute(
            sa.select(LOGIN_FAILURES).where(LOGIN_FAILURES.c.username == username)
        ).first()
        account = connection.execute(
            sa.select(ACCOUNTS).where(ACCOUNTS.c.username == username, ACCOUNTS.c.disabled.is_(False))
        ).first()
    if failures is not None and failures.locked_until and failures.locked_until > now:
        return LoginResult(Outcome.LOCKED, username, locked_until=failures.locked_until)

    if account is not None and len(password) <= PASSWORD_MAX_CHARS and _verify(account.password_hash, password):
        with engine.begin() as connection:
            connection.execute(LOGIN_FAILURES.delete().where(LOGIN_FAILURES.c.username == username))
            if account.source == COMMAND and _hasher.check_needs_rehash(account.password_hash):
                connection.execute(ACCOUNTS.update().where(ACCOUNTS.c.username == username)
                                   .values(password_hash=_hasher.hash(password), updated_at=now))
        return LoginResult(Outcome.OK, username, role=account.role)
    if account is None:
        _verify(_dummy(), password[:PASSWORD_MAX_CHARS])

    # A lockout that has run out, or failures longer ago than a lockout lasts, start the
    # count again.
    window = settings.lockout_minutes * 60
    fresh = failures is None or failures.locked_until or now - failures.last_failed_at > window
    count = 1 if fresh else failures.failures + 1
    locked_until = now + settings.lockout_minutes * 60 if count >= settings.login_max_failures else None
    values = dict(failures=count, last_failed_at=now, locked_until=locked_until)
    try:
        with engine.begin() as connection:
            if failures is None:
                connection.execute(LOGIN_FAILURES.insert().values(username=username, **values))
            else:
                connection.execute(LOGIN_FAILURES.update()
                                   .where(LOGIN_FAILURES.c.username == username).values(**values))
    except sa.exc.IntegrityError:  # a parallel attempt inserted the row first: count this one too
        with engine.begin() as connection:
            connection.execute(LOGIN_FAILURES.update().where(LOGIN_FAILURES.c.username == username)
                               .values(failures=LOGIN_FAILURES.c.failures + 1, last_failed_at=now))
    if locked_until:
        return LoginResult(Outcome.LOCKED, username, locked_until=locked_until)
    return LoginResult(Outcome.WRONG, username)
