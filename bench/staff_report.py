"""Staff console benchmark: the trend report over a large store, and console pages while
the assistant is under load.

    make bench-staff      (or: nice .venv/bin/python bench/staff_report.py [--events 1000000]
                           [--handoffs 20000] [--load-seconds 30] [--skip-postgres] [--skip-load])

1. Generates --events events (default 1,000,000: conversations over 90 days, as the
   assistant stores them) with their assessment records and --handoffs handoff records
   (20,000) in SQLite, and copies the same rows (COPY) into a private schema of the
   scale-out profile's PostgreSQL (deploy/check_services.py settings; dropped afterwards).
2. Times the 30-day report (staff/report_queries.py, every query of the page and the CSV):
   the first run and the median of five, with the console's events index and, for
   comparison, without it. On PostgreSQL both right after the bulk load (ANALYZE only)
   and after VACUUM ANALYZE, the state autovacuum keeps a live table in: the index
   answers without reading the table only for pages VACUUM has marked all-visible.
3. Times the daily chart drawn as SVG (staff/charts.py) against the same chart with
   matplotlib, PNG.
4. Starts the assistant (tests/e2e/servers.py) on the SQLite store and the console beside
   it; measures the assistant at concurrency 8 (bench/load.py) alone, then again while a
   staff user clicks through console pages (queue, a record, the 30-day report) one after
   the other, and last the console pages alone. The 1-minute load average is recorded:
   the machine may be shared.

Prints a table; writes bench/out/staff_report.json.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import warnings
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Dict, Iterator, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from bench import load  # noqa: E402
from core.settings import staff_settings_from_env  # noqa: E402
from staff import charts  # noqa: E402
from staff.database import EVENTS_INDEX, Databases, open_databases, prepare  # noqa: E402
from staff.date_range import parse_range  # noqa: E402
from staff.names import scam_name  # noqa: E402
from staff.report_queries import build_report  # noqa: E402
from staff.tables import HOTLINE, RISK  # noqa: E402
from tests.e2e.servers import MODEL, running_assistant  # noqa: E402
from tests.staff.generated_data import generate  # noqa: E402
from tests.staff.staff_server import running_staff  # noqa: E402

OUT = REPO / "bench" / "out"
REPORT_DAYS = 30
STORE_DAYS = 90
RUNS = 5
TARGET_SECONDS = 2.0
# As scripts/run.sh starts the console (STAFF_NICE): customers' turns before staff pages.
STAFF_NICE = 10


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def report_times(databases: Databases, span) -> Dict[str, float]:
    first = timed(lambda: build_report(databases, span))
    runs = [timed(lambda: build_report(databases, span)) for _ in range(RUNS)]
    return {"first_s": round(first, 3), "median_s": round(statistics.median(runs), 3), "max_s": round(max(runs), 3)}


def without_events_index(databases: Databases, span) -> float:
    """One report with the events index dropped (then rebuilt): what the index buys."""
    with databases.events.begin() as connection:
        connection.execute(sa.text(f"DROP INDEX {EVENTS_INDEX}"))
    seconds = timed(lambda: build_report(databases, span))
    prepare(databases)
    return round(seconds, 3)


def generate_sqlite(url: str, args) -> Dict:
    print(f"\n== generating {args.events:,} events and {args.handoffs:,} handoff records", flush=True)
    engine = sa.create_engine(url, future=True)
    started = time.perf_counter()
    truth = generate(engine, engine, target_events=args.events, handoffs=args.handoffs, end=time.time(),
                     days=STORE_DAYS, seed=16, batch=50_000)
    engine.dispose()
    return {"events": truth.events, "assessment_records": len(truth.summaries), "handoffs": len(truth.handoffs),
            "conversations": len(truth.user_times), "generated_s": round(time.perf_counter() - started, 1)}


COPIED_TABLES = {
    "events": "id,sender_id,type_name,timestamp,intent_name,action_name,data",
    "assessment_records": "id,conversation_id,assessed_at,kind,scam_type,risk,channel,atm_id,branch",
    "assessment_flags": "assessment_id,assessed_at,flag",
    "handoff_requests": "id,reference,conversation_id,scam_type,risk,atm_id,requested_at,channel,money_gone,"
                        "status,status_changed_at,status_changed_by,status_note",
}


def copy_to_postgres(sqlite_file: Path, pg_url: str) -> float:
    """The generated rows, as they are, into PostgreSQL with COPY; then ANALYZE."""
    import csv
    import io
    import sqlite3

    from core import assessment_records, handoff_records
    from tests.staff.generated_data import EVENTS_METADATA

    started = time.perf_counter()
    engine = sa.create_engine(pg_url, future=True)
    EVENTS_METADATA.create_all(engine)
    handoff_records.create_tables(engine)
    assessment_records.create_tables(engine)
    source = sqlite3.connect(sqlite_file)
    connection = engine.raw_connection()
    try:
        for table, columns in COPIED_TABLES.items():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in source.execute(f"SELECT {columns} FROM {table}"):
                writer.writerow(["\\N" if value is None else value for value in row])
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
                if table != "assessment_flags":  # keep the serial columns ahead of the copied ids
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))")
            connection.commit()
    finally:
        connection.close()
        source.close()
    _maintain(engine, "ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


def _maintain(engine: sa.engine.Engine, command: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in COPIED_TABLES:
            connection.execute(sa.text(f"{command} {table}"))


def measure_store(name: str, url: str, span) -> Dict:
    print(f"\n== {name}: the {REPORT_DAYS}-day report", flush=True)
    databases = open_databases(url, url)
    try:
        result = {"events_index_build_s": round(timed(lambda: prepare(databases)), 2),
                  "report_30_days": report_times(databases, span)}
        if databases.records.dialect.name == "postgresql":
            _maintain(databases.records, "VACUUM ANALYZE")
            result["report_30_days_after_vacuum"] = report_times(databases, span)
        result["report_30_days_without_events_index_s"] = without_events_index(databases, span)
    finally:
        databases.dispose()
    print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return result


@contextmanager
def postgres_schema() -> Iterator[str]:
    from deploy.check_services import connect_postgres, settings

    s = settings()
    schema = f"staff_bench_{uuid.uuid4().hex[:8]}"
    admin = connect_postgres()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    try:
        base = f"postgresql://{s['DB_USER']}:{s['DB_PASSWORD']}@{s['DB_HOST']}:{s['DB_PORT']}/{s['DB_DATABASE']}"
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


def chart_times(records_url: str, span) -> Dict[str, float]:
    """The daily chart by scam type: our SVG against matplotlib's PNG, same data."""
    databases = open_databases(records_url, records_url)
    try:
        report = build_report(databases, span)
    finally:
        databases.dispose()
    per_day = report.per_day("type")
    keys = {key for counts in per_day.values() for key in counts}
    series = {scam_name(k): [per_day.get(day, {}).get(k, 0) for day in span.days] for k in keys}
    svg_s = statistics.median(timed(lambda: charts.stacked_bars("每日评估", span.days, series)) for _ in range(20))
    started = time.perf_counter()
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    import_s = time.perf_counter() - started
    # A CJK font where one is installed (else every Chinese label is a box): the same
    # text as the SVG, a fair comparison.
    pyplot.rcParams["font.sans-serif"] = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "DejaVu Sans"]
    warnings.filterwarnings("ignore", message="Glyph .* missing")

    def matplotlib_png() -> None:
        import io

        figure, axes = pyplot.subplots(figsize=(7.6, 3.2), dpi=100)
        bottom = [0] * len(span.days)
        for name, values in charts.limit_series(series).items():
            axes.bar([d.strftime("%m-%d") for d in span.days], values, bottom=bottom, label=name)
            bottom = [b + v for b, v in zip(bottom, values)]
        axes.legend(fontsize=6, ncol=3)
        figure.savefig(io.BytesIO(), format="png")
        pyplot.close(figure)

    png_s = statistics.median(timed(matplotlib_png) for _ in range(5))
    return {"svg_ms": round(svg_s * 1000, 2), "matplotlib_png_ms": round(png_s * 1000, 1),
            "matplotlib_import_s": round(import_s, 2)}


def percentile(values: List[float], fraction: float) -> float:
    return round(load.percentile(values, fraction), 1)


def page_latencies(console, sessions, pages: Dict[str, str], stop: threading.Event, rounds: int = 0) -> Dict:
    """One staff user clicking through the pages, one request at a time (closed loop)."""
    times: Dict[str, List[float]] = {name: [] for name in pages}
    done = 0
    while not stop.is_set() and (rounds == 0 or done < rounds):
        for name, path in pages.items():
            session = sessions[name]
            started = time.perf_counter()
            response = session.get(console.url + path, timeout=60)
            assert response.status_code == 200, (name, response.status_code)
            times[name].append((time.perf_counter() - started) * 1000)
        done += 1
    return {name: {"n": len(values), "p50_ms": percentile(values, 0.5), "p95_ms": percentile(values, 0.95)}
            for name, values in times.items()}


def measure_under_load(workdir: Path, records_url: str, span, seconds: float) -> Dict:
    print(f"\n== console pages and the assistant at concurrency 8 ({seconds:.0f} s each run)", flush=True)
    with running_assistant(workdir) as assistant:
        with running_staff(workdir, records_url, workdir / "endpoints.yml",
                           env={"STAFF_LOGIN_ATTEMPTS_PER_IP": "100"},
                           accounts={"bench-hotline": HOTLINE, "bench-risk": RISK},
                           niceness=STAFF_NICE) as console:
            hotline, risk = console.login("bench-hotline"), console.login("bench-risk")
            queue = hotline.get(f"{console.url}/staff/handoffs").text
            reference = queue.split('href="/staff/handoffs/', 1)[1].split('"', 1)[0]
            pages = {"queue": "/staff/handoffs", "record": f"/staff/handoffs/{reference}",
                     f"report_{REPORT_DAYS}_days": f"/staff/report?{span.query()}"}
            sessions = {"queue": hotline, "record": hotline, f"report_{REPORT_DAYS}_days": risk}
            page_latencies(console, sessions, pages, threading.Event(), rounds=3)  # warm-up
            assistant_alone = asyncio.run(load.run_load(assistant.webhook, 8, seconds, run_id="staff-bench-a"))
            load_average = {"assistant_alone": os.getloadavg()[0]}
            stop = threading.Event()
            box: Dict = {}
            clicker = threading.Thread(target=lambda: box.update(
                pages=page_latencies(console, sessions, pages, stop)))
            clicker.start()
            try:
                with_console = asyncio.run(load.run_load(assistant.webhook, 8, seconds, run_id="staff-bench-b"))
            finally:
                stop.set()
                clicker.join()
            load_average["both"] = os.getloadavg()[0]
            # Alone last: right after start-up the machine is still busy with the model.
            alone = page_latencies(console, sessions, pages, threading.Event(), rounds=30)
            load_average["console_alone"] = os.getloadavg()[0]
    result = {
        "load_average_1min": {k: round(v, 2) for k, v in load_average.items()},
        "console_alone": alone,
        "console_while_assistant_at_c8": box["pages"],
        "assistant_c8_alone": assistant_alone.as_dict(),
        "assistant_c8_with_console_in_use": with_console.as_dict(),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--handoffs", type=int, default=20_000)
    parser.add_argument("--load-seconds", type=float, default=30)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    settings = staff_settings_from_env()
    today = datetime.now(parse_range(None, None, settings.timezone).zone).date()
    span = parse_range((today - timedelta(days=REPORT_DAYS - 1)).isoformat(), today.isoformat(), settings.timezone)
    results: Dict = {"report_days": REPORT_DAYS, "target_s": TARGET_SECONDS}
    with tempfile.TemporaryDirectory(prefix="staff-bench-") as scratch:
        workdir = Path(scratch)
        sqlite_url = f"sqlite:///{workdir / 'rasa.db'}"
        results["data"] = generate_sqlite(sqlite_url, args)
        results["data"]["sqlite_file_mb"] = round((workdir / "rasa.db").stat().st_size / 1e6)
        results["sqlite"] = measure_store("SQLite", sqlite_url, span)
        results["charts"] = chart_times(sqlite_url, span)
        print(json.dumps(results["charts"], indent=2), flush=True)
        if not args.skip_postgres:
            with postgres_schema() as pg_url:
                results["data"]["postgresql_copy_s"] = round(copy_to_postgres(workdir / "rasa.db", pg_url), 1)
                results["postgresql"] = measure_store("PostgreSQL", pg_url, span)
        if not args.skip_load:
            if not MODEL.exists():
                print(f"{MODEL} is missing: skipping the load run (make train)", file=sys.stderr)
            else:
                results["under_load"] = measure_under_load(workdir, sqlite_url, span, args.load_seconds)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "staff_report.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print_table(results)
    return 0


def print_table(results: Dict) -> None:
    print(f"\n30-day report over {results['data']['events']:,} events, "
          f"{results['data']['handoffs']:,} handoff records (target ≤ {TARGET_SECONDS} s):")
    for store in ("sqlite", "postgresql"):
        if store in results:
            r = results[store]
            times = r["report_30_days"]
            line = f"  {store:<10} first {times['first_s']:.2f} s, median {times['median_s']:.2f} s"
            if "report_30_days_after_vacuum" in r:
                vacuumed = r["report_30_days_after_vacuum"]
                line += f"; after VACUUM first {vacuumed['first_s']:.2f} s, median {vacuumed['median_s']:.2f} s"
            print(line + f" (without the events index: {r['report_30_days_without_events_index_s']:.2f} s)")
    c = results["charts"]
    print(f"  chart: SVG {c['svg_ms']} ms, matplotlib PNG {c['matplotlib_png_ms']} ms"
          f" (+ {c['matplotlib_import_s']} s import)")
    if "under_load" in results:
        u = results["under_load"]
        for name, figures in u["console_while_assistant_at_c8"].items():
            alone = u["console_alone"][name]
            print(f"  {name:<16} p95 {figures['p95_ms']} ms under load (alone {alone['p95_ms']} ms)")
        print(f"  assistant c=8 p95 {u['assistant_c8_alone']['p95_ms']} ms alone, "
              f"{u['assistant_c8_with_console_in_use']['p95_ms']} ms with the console in use")


if __name__ == "__main__":
    sys.exit(main())
