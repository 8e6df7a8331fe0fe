"""The trend report as one printable page for the weekly risk meeting.

    make report FROM=2026-11-30 TO=2026-12-06            # build/report/report-2026-11-30-2026-12-06.html
    python -m tools.report --from 2026-11-30 --to 2026-12-06 --pdf   # and a PDF, printed by Chromium

The same queries and charts as the console's /staff/report (staff/report_queries.py), on
the same database (HANDOFF_DB_URL, else the tracker store of ENDPOINTS), compact enough
for one A4 page. Without dates: the last seven days. The run is written to the staff
audit table like a view in the console. Exit codes: 0 done, 1 database or printing
problem, 2 bad input.
"""

import argparse
import getpass
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import sqlalchemy as sa

from tools.cli import EXIT_INVALID_INPUT, ChineseArgumentParser, ChineseHelpFormatter
from core.settings import staff_settings_from_env
from staff import audit
from staff.database import ensure_events_index, open_databases, prepare, urls_from_env
from staff.date_range import RangeError, parse_range
from staff.layout import document
from staff.report_page import report_body
from staff.report_queries import build_report

EXIT_PROBLEM = 1
DEFAULT_OUT_DIR = Path("build/report")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PRINT_SECONDS = 120


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(
        prog="python -m tools.report",
        description="把趋势报告写成一页可打印的 HTML（可选 PDF），供每周风控例会使用。",
        epilog="示例：\n"
        "  make report FROM=2026-11-30 TO=2026-12-06\n"
        "  python -m tools.report --from 2026-11-30 --to 2026-12-06 --pdf\n\n"
        "日期格式为 年-月-日，按 STAFF_TIMEZONE（默认 Asia/Shanghai）的自然日统计；不给日期时为最近 7 天。\n"
        "退出码：0 完成，1 数据库或打印出错，2 输入错误。",
        formatter_class=ChineseHelpFormatter,
        add_help=False,
    )
    options = parser.add_argument_group("选项")
    options.add_argument("--from", dest="first", metavar="日期", help="开始日期，例如 2026-11-30")
    options.add_argument("--to", dest="last", metavar="日期", help="结束日期（含），例如 2026-12-06")
    options.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_OUT_DIR,
                         help=f"输出目录（默认 {DEFAULT_OUT_DIR}）")
    options.add_argument("--pdf", action="store_true",
                         help="同时用 Chromium 打印成 PDF（需要已安装 chromium；CHROMIUM 指定路径）")
    options.add_argument("-h", "--help", action="help", help="显示本帮助并退出")
    return parser


def find_browser() -> Optional[str]:
    explicit = os.environ.get("CHROMIUM", "").strip()
    if explicit:
        return explicit
    return next((found for found in map(shutil.which, BROWSERS) if found), None)


def print_pdf(html_file: Path, pdf_file: Path) -> None:
    browser = find_browser()
    if browser is None:
        raise OSError("找不到 Chromium（安装 chromium，或用环境变量 CHROMIUM 指定路径）")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--no-pdf-header-footer", f"--print-to-pdf={pdf_file}", html_file.resolve().as_uri()],
            capture_output=True, timeout=PRINT_SECONDS,
        )
    if result.returncode != 0 or not pdf_file.is_file():
        raise OSError(f"Chromium 打印失败：{result.stderr.decode('utf-8', 'replace').strip()[-300:]}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = staff_settings_from_env()
        span = parse_range(args.first, args.last, settings.timezone)
        records_url, events_url = urls_from_env()
    except (RangeError, ValueError, OSError) as error:
        print(f"错误：{error}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    databases = open_databases(records_url, events_url)
    try:
        prepare(databases)
        ensure_events_index(databases.events)
        report = build_report(databases, span)
        audit.record(databases.records, f"cli:{getpass.getuser()}"[:64], audit.VIEW_REPORT,
                     f"make report {span.query()}", audit.ALLOWED, None)
    except sa.exc.SQLAlchemyError as error:
        print(f"数据库错误：{str(error).splitlines()[0]}", file=sys.stderr)
        return EXIT_PROBLEM
    finally:
        databases.dispose()
    name = f"report-{span.first.isoformat()}-{span.last.isoformat()}"
    html_file = args.out / f"{name}.html"
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        html_file.write_text(document(f"反诈趋势报告 {span.label()}", report_body(report, compact=True)),
                             encoding="utf-8")
        print(f"已写入 {html_file}")
        if args.pdf:
            pdf_file = args.out / f"{name}.pdf"
            print_pdf(html_file, pdf_file)
            print(f"已写入 {pdf_file}")
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"错误：{error}", file=sys.stderr)
        return EXIT_PROBLEM
    return 0


if __name__ == "__main__":
    sys.exit(main())
