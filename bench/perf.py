"""Performance benchmark: the assistant against bare Rasa 3.6.21, in one run.

    make bench        (or: .venv/bin/python bench/perf.py [--seconds 20] [--skip-training])

On loopback, one server at a time: the assistant as `make run` starts it (custom
actions, SQLite persistence, server/runtime/) and the bare baseline (bench/bare.py: the same
NLU model, no custom actions, in-memory tracker store). For each: turns per second and
p50/p95/p99 latency at concurrency 1, 8 and 32 (bench/load.py), turn 1 against turns
100 and 200 of one long conversation, memory (RSS) after the load, cold start (command
to first answer). Also the assistant's full training time, and, where Redis answers on
localhost, the assistant with two Sanic workers (not the default profile: the lever for
a second core). Prints a table with the targets of docs/performance.md; writes bench/out/perf.json
and a plot, bench/out/perf.png.
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import load  # noqa: E402
from bench.bare import write_bare_project  # noqa: E402
from bench.nlu import training_seconds  # noqa: E402
from tests.e2e.servers import (  # noqa: E402
    RASA, TRACKER_STORE, _wait_until_up, free_port, running_assistant, say_over_rest, stop,
)

OUT = REPO / "bench" / "out"
BARE_DIR = REPO / "build" / "bench-bare"
CONCURRENCY = (1, 8, 32)
LONG_TURNS = 200
WINDOW = 10  # turns per latency figure of the long conversation
LONG_RUNS = 3
# scripts/run.sh runs TensorFlow on one thread per pool: the server's concurrency is
# its event loop's, and on two cores TF's own thread pools only contend with it.
OUR_ENV = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}


@dataclass
class Server:
    name: str
    webhook: str
    processes: List[psutil.Process]  # whose memory counts as the server's
    cold_start_seconds: float
    action_server: Optional[psutil.Process] = None

    def memory_mb(self) -> Dict[str, float]:
        """RSS of the largest process, and PSS (shared pages split between the processes
        that share them) summed over the server's processes: with several workers the
        RSS sum would count the shared libraries once per worker."""
        infos = []
        for process in self.processes:
            for member in [process, *process.children(recursive=True)]:
                try:
                    infos.append(member.memory_full_info())
                except psutil.NoSuchProcess:
                    pass
        return {"rss_mb": round(max(i.rss for i in infos) / 2**20, 1),
                "pss_total_mb": round(sum(i.pss for i in infos) / 2**20, 1),
                "processes": len(infos)}


def first_answer_seconds(started: float, rasa_url: str) -> float:
    """Seconds from `started` (the command) to the first answered customer turn."""
    say_over_rest(rasa_url, "bench-cold-start", "你好")
    return time.perf_counter() - started


# Two Sanic workers need a lock store all workers share (Rasa refuses its in-memory one)
# and a tracker store that asks the database who wrote last.
TWO_WORKER_STORES = (
    "tracker_store:\n  type: {store}\n  dialect: sqlite\n  db: {db}\n  check_database: true\n"
    "lock_store:\n  type: redis\n  url: localhost\n  port: 6379\n  db: 5\n  key_prefix: bench\n"
)


@contextmanager
def ours(scratch: Path, workers: int = 1) -> Iterator[Server]:
    env, stores = dict(OUR_ENV), None
    if workers > 1:
        env["SANIC_WORKERS"] = str(workers)
        stores = TWO_WORKER_STORES.format(store=TRACKER_STORE, db=scratch / f"workers{workers}.db")
    started = time.perf_counter()
    with running_assistant(scratch / f"ours{workers}", env, stores=stores) as assistant:
        cold = first_answer_seconds(started, assistant.rasa_url)
        name = "反诈助手" if workers == 1 else f"反诈助手 {workers} workers"
        yield Server(name, assistant.webhook, [psutil.Process(assistant.rasa.pid)], cold,
                     action_server=psutil.Process(assistant.actions.pid))


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def bare_model() -> Path:
    """Trains the bare project when its inputs changed (Rasa skips an unchanged one)."""
    write_bare_project(BARE_DIR)
    subprocess.run(
        [RASA, "train", "--fixed-model-name", "bare", "--out", "models"],
        cwd=BARE_DIR, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    return BARE_DIR / "models" / "bare.tar.gz"


@contextmanager
def bare(scratch: Path, model: Path) -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    log = scratch / "bare.log"
    started = time.perf_counter()
    process = subprocess.Popen(
        [RASA, "run", "--model", str(model), "--port", str(port)],
        cwd=BARE_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{url}/webhooks/rest/", process, log)
        cold = first_answer_seconds(started, url)
        yield Server("bare Rasa", f"{url}/webhooks/rest/webhook", [psutil.Process(process.pid)], cold)
    finally:
        stop(process)


def measure(server: Server, seconds: float) -> Dict:
    figures: Dict = {"cold_start_s": round(server.cold_start_seconds, 1), "load": []}
    for concurrency in CONCURRENCY:
        result = asyncio.run(load.run_load(
            server.webhook, concurrency, seconds, run_id=f"c{concurrency}"))
        figures["load"].append(result.as_dict())
        if result.error_samples:
            figures.setdefault("error_samples", []).extend(result.error_samples)
        print(f"  {server.name} c={concurrency}: {result.as_dict()}", flush=True)
    # Three long conversations: each figure is the median of 30 turns.
    runs = [asyncio.run(load.long_conversation(server.webhook, LONG_TURNS, f"bench-long-{n}"))
            for n in range(LONG_RUNS)]
    figures["long_conversation_ms"] = [round(statistics.median(turn), 2) for turn in zip(*runs)]
    figures["turn_ms"] = {
        str(turn): round(statistics.median(
            [ms for run in runs for ms in (run[turn - WINDOW:turn] if turn > 1 else run[:WINDOW])]
        ), 1)
        for turn in (1, 100, 200)
    }
    figures.update(server.memory_mb())
    if server.action_server is not None:
        figures["action_server_mb"] = round(server.action_server.memory_info().rss / 2**20, 1)
    return figures


def at(figures: Dict, concurrency: int) -> Dict:
    return next(row for row in figures["load"] if row["concurrency"] == concurrency)


COLUMNS = (("ours", "反诈助手"), ("bare", "bare Rasa"), ("workers", "2 workers*"))


def report(results: Dict) -> List[str]:
    columns = [(key, label) for key, label in COLUMNS if key in results]
    figures = [results[key] for key, _ in columns]
    bare_ = results["bare"]
    lines = [f"{'':34}" + "".join(f"{label:>14}" for _, label in columns) + "   target"]

    def row(name: str, values, target: str = "") -> None:
        lines.append(f"{name:34}" + "".join(f"{str(v):>14}" for v in values) + f"   {target}")

    for c in CONCURRENCY:
        rows = [at(f, c) for f in figures]
        ratio = [f"{r['turns_per_second'] / at(bare_, c)['turns_per_second']:.2f}x" for r in rows]
        row(f"c={c} turns/s", [r["turns_per_second"] for r in rows])
        row(f"c={c} turns/s against bare", ratio, ">= 1.00x" if c == 8 else "")
        row(f"c={c} p50/p95/p99 ms",
            [f"{r['p50_ms']:.0f}/{r['p95_ms']:.0f}/{r['p99_ms']:.0f}" for r in rows],
            {1: "p50 <= 40", 8: "p99 <= 200"}.get(c, ""))
        row(f"c={c} errors", [r["errors"] for r in rows], "0")
    for turn in ("1", "100", "200"):
        row(f"turn {turn} ms (median, {LONG_RUNS}x{WINDOW} turns)", [f["turn_ms"][turn] for f in figures])
    row("turn 200 / turn 1",
        [f"{f['turn_ms']['200'] / f['turn_ms']['1']:.2f}x" for f in figures], "<= 1.5x")
    row("Rasa server RSS MB (largest proc.)", [f["rss_mb"] for f in figures], "<= 1126")
    row("Rasa server PSS MB (all processes)", [f["pss_total_mb"] for f in figures])
    row("action server RSS MB", [f.get("action_server_mb", "-") for f in figures])
    row("cold start s (command to answer)", [f["cold_start_s"] for f in figures], "<= 20")
    if "training_s" in results:
        lines.append(f"training time, rasa train --force: {results['training_s']} s   target <= 180")
    if "workers" in results:
        lines.append("* not the default: SANIC_WORKERS=2, Redis lock store, check_database: true")
    return lines


def plot(results: Dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_load, by_turn) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"ours": "tab:blue", "bare": "tab:grey", "workers": "tab:green"}
    labels = {"ours": "assistant", "bare": "bare Rasa", "workers": "assistant, 2 workers"}
    for key in [key for key, _ in COLUMNS if key in results]:
        label, colour = labels[key], colours[key]
        rows = results[key]["load"]
        xs = [r["concurrency"] for r in rows]
        by_load.plot(xs, [r["p50_ms"] for r in rows], "o-", color=colour, label=f"{label} p50")
        by_load.plot(xs, [r["p99_ms"] for r in rows], "s--", color=colour, label=f"{label} p99")
        latencies = results[key]["long_conversation_ms"]
        smoothed = [statistics.median(latencies[max(0, i - WINDOW + 1):i + 1])
                    for i in range(len(latencies))]
        by_turn.plot(range(1, len(latencies) + 1), smoothed, color=colour, label=label)
    by_load.set(xscale="log", xticks=list(CONCURRENCY), xticklabels=[str(c) for c in CONCURRENCY],
                xlabel="concurrent customers", ylabel="latency (ms)",
                title="Latency against concurrency")
    by_turn.set(xlabel="turn of one conversation", ylabel=f"latency (ms, median of {WINDOW})",
                title="Latency against turn number")
    for axes in (by_load, by_turn):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="measured seconds per concurrency level (after 2 s of warm-up)")
    parser.add_argument("--skip-training", action="store_true",
                        help="leave out the full training run (about two minutes)")
    parser.add_argument("--no-workers", action="store_true",
                        help="leave out the two-worker variant (it needs Redis)")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    results: Dict = {"machine": {"cpus": os.cpu_count()}, "seconds_per_level": args.seconds}

    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        if not args.skip_training:
            print("training the assistant from scratch ...", flush=True)
            results["training_s"] = round(training_seconds(scratch), 1)
        print("training the bare baseline (skipped when unchanged) ...", flush=True)
        model = bare_model()
        print("measuring the assistant ...", flush=True)
        with ours(scratch) as server:
            results["ours"] = measure(server, args.seconds)
        print("measuring bare Rasa ...", flush=True)
        with bare(scratch, model) as server:
            results["bare"] = measure(server, args.seconds)
        if not args.no_workers:
            if redis_answers():
                print("measuring the assistant with two Sanic workers ...", flush=True)
                with ours(scratch, workers=2) as server:
                    results["workers"] = measure(server, args.seconds)
            else:
                print("no Redis on localhost:6379: the two-worker variant is left out", flush=True)

    (OUT / "perf.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    plot(results, OUT / "perf.png")
    print("\n" + "\n".join(report(results)))
    print(f"\nraw figures: {OUT / 'perf.json'}; plot: {OUT / 'perf.png'}")


if __name__ == "__main__":
    main()
