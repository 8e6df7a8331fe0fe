"""Creates or updates a staff console account: `make staff-user NAME=zhangsan ROLE=hotline`.

    python -m tools.staff_user zhangsan --role hotline           # asks for the password twice
    python -m tools.staff_user zhangsan --role risk --print      # a YAML entry for STAFF_ACCOUNTS_FILE
    python -m tools.staff_user zhangsan --disable

The password is read from the terminal (or one line of standard input when it is not a
terminal, for scripts), never from the command line, where `ps` and shell history would
show it. It is stored only as an Argon2id hash, in staff_accounts of the records database
(HANDOFF_DB_URL, else the tracker store of ENDPOINTS). Setting a password also lifts a
lockout. Exit codes: 0 done, 1 database problem, 2 bad input.
"""

import argparse
import getpass
import sys
import time
from typing import Optional, Sequence

import sqlalchemy as sa
import yaml

from tools.cli import EXIT_INVALID_INPUT, ChineseArgumentParser, ChineseHelpFormatter
from staff.accounts import (
    PASSWORD_MIN_CHARS,
    ROLES,
    AccountError,
    disable_account,
    hash_password,
    set_account,
    validate_role,
    validate_username,
)
from staff.database import open_databases, prepare, urls_from_env

EXIT_DB_PROBLEM = 1


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(
        prog="python -m tools.staff_user",
        description="新建或修改员工控制台账户（角色 hotline 热线 / risk 风控），密码只保存 Argon2id 哈希。",
        epilog="示例：\n"
        "  make staff-user NAME=zhangsan ROLE=hotline\n"
        "  python -m tools.staff_user lisi --role risk --print   # 输出配置文件条目，不写数据库\n"
        "  python -m tools.staff_user zhangsan --disable\n\n"
        f"密码至少 {PASSWORD_MIN_CHARS} 个字符，从终端输入（不回显）。退出码：0 完成，1 数据库问题，2 输入错误。",
        formatter_class=ChineseHelpFormatter,
        add_help=False,
    )
    options = parser.add_argument_group("参数")
    options.add_argument("username", help="用户名（小写字母、数字、_.-，2-32 个字符）")
    options.add_argument("--role", choices=ROLES, help="角色：hotline（热线，处理转人工）或 risk（风控，看趋势报告）")
    options.add_argument("--print", action="store_true", dest="print_only",
                         help="只输出 STAFF_ACCOUNTS_FILE 的 YAML 条目，不写数据库")
    options.add_argument("--disable", action="store_true", help="停用此账户")
    options.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    return parser


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码：")
    if getpass.getpass("再输入一次：") != first:
        raise AccountError("两次输入的密码不一致")
    return first


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        username = validate_username(args.username)
        if args.disable:
            databases = open_databases(*urls_from_env())
            prepare(databases)
            if not disable_account(databases.records, username, time.time()):
                raise AccountError(f"账户 {username} 不存在")
            print(f"已停用账户 {username}。")
            return 0
        if not args.role:
            raise AccountError("请用 --role 指定角色：hotline 或 risk")
        role = validate_role(args.role)
        password = read_password()
        if args.print_only:
            entry = {"username": username, "role": role, "password_hash": hash_password(password)}
            print(yaml.safe_dump({"accounts": [entry]}, allow_unicode=True, sort_keys=False), end="")
            return 0
        databases = open_databases(*urls_from_env())
        prepare(databases)
        set_account(databases.records, username, role, password, time.time())
    except AccountError as error:
        print(f"错误：{error}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except (ValueError, OSError) as error:
        print(f"错误：无法确定数据库（ENDPOINTS / HANDOFF_DB_URL）：{error}", file=sys.stderr)
        return EXIT_DB_PROBLEM
    except sa.exc.SQLAlchemyError as error:
        print(f"数据库错误：{str(error).splitlines()[0]}", file=sys.stderr)
        return EXIT_DB_PROBLEM
    print(f"已保存账户 {username}（{role}）。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
