"""`python -m staff`: the staff console on STAFF_HOST:STAFF_PORT (127.0.0.1:5080).

Exits with a one-line Chinese and English message (code 2) when the configuration is
wrong, and 1 when the database cannot be reached; never with a traceback.
"""

import logging
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from core.settings import staff_settings_from_env
from staff.accounts import AccountError, read_accounts_file, sync_configured_accounts
from staff.app import create_app
from staff.database import open_databases, prepare, urls_from_env

EXIT_DB_PROBLEM = 1
EXIT_BAD_CONFIGURATION = 2


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = staff_settings_from_env()
        records_url, events_url = urls_from_env()
        accounts = read_accounts_file(Path(settings.accounts_file)) if settings.accounts_file else None
    except (ValueError, OSError) as error:  # AccountError is a ValueError
        print(f"员工控制台配置有误 / staff console configuration: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    databases = open_databases(records_url, events_url)
    try:
        prepare(databases)
        if accounts is not None:
            sync_configured_accounts(databases.records, accounts, time.time())
    except sa.exc.SQLAlchemyError as error:
        print(f"无法使用数据库 / database problem: {str(error).splitlines()[0]}", file=sys.stderr)
        return EXIT_DB_PROBLEM
    except AccountError as error:
        print(f"员工控制台配置有误 / staff console configuration: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    app = create_app(databases, settings)
    print(f"员工控制台 / staff console: http://{settings.host}:{settings.port}/staff", flush=True)
    app.run(host=settings.host, port=settings.port, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
