"""NLU benchmark: cross-validation, hold-out accuracy, training time, server memory.

    make bench-nlu          (or: .venv/bin/python bench/nlu.py [--folds 5])

Prints one table of figures measured in this run; writes the raw reports to bench/out/.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import verdicts  # noqa: E402
from tests.e2e.servers import MODEL, RASA, running_assistant  # noqa: E402

OUT = REPO / "bench" / "out"
FOLLOW_UPS = REPO / "data" / "nlu" / "followups.yml"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}


def rasa(*args: str) -> float:
    """Runs a rasa command from the repo root; returns its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run([RASA, *args], cwd=REPO, env=ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def intent_report(directory: Path) -> dict:
    return json.loads((directory / "intent_report.json").read_text())


def training_seconds(scratch: Path) -> float:
    """A full `rasa train` (NLU and dialogue) with Rasa's cache out of the way."""
    return rasa("train", "--force", "--out", str(scratch / "model"), "--fixed-model-name", "bench")


def cross_validation(folds: int) -> dict:
    out = OUT / "cross_validation"
    rasa("test", "nlu", "--nlu", "data/nlu", "--cross-validation", "--folds", str(folds),
         "--out", str(out))
    return intent_report(out)


def hold_out() -> dict:
    out = OUT / "hold_out"
    rasa("test", "nlu", "--model", str(MODEL), "--nlu", "tests/nlu_holdout.yml", "--out", str(out))
    return intent_report(out)


def server_memory_mb(scratch: Path) -> dict:
    """RSS of the Rasa server just after load, and after a burst of real turns."""
    with running_assistant(scratch / "servers") as assistant:
        rasa_rss = psutil.Process(assistant.rasa.pid).memory_info().rss
        for i in range(50):
            assistant.say(f"bench-{i % 5}", "公安说我涉嫌洗钱要转到安全账户")
        after = psutil.Process(assistant.rasa.pid).memory_info().rss
        actions = psutil.Process(assistant.actions.pid).memory_info().rss
    return {"rasa_after_load": rasa_rss / 2**20, "rasa_after_50_turns": after / 2**20,
            "action_server": actions / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        train = training_seconds(scratch)
        held = hold_out()
        pasted = verdicts.report(asyncio.run(verdicts.judge_all(
            verdicts.examples(verdicts.HOLDOUT), MODEL)))
        memory = server_memory_mb(scratch)
    cv = cross_validation(args.folds)

    intent_f1 = {name: r["f1-score"] for name, r in cv.items()
                 if isinstance(r, dict) and name not in ("macro avg", "weighted avg", "micro avg")}
    scam_f1 = [f1 for name, f1 in intent_f1.items() if name.startswith("scam_")]
    figures = {
        f"{args.folds}-fold cross-validation macro-F1, the {len(scam_f1)} scam types":
            (sum(scam_f1) / len(scam_f1), ">= 0.95"),
        f"{args.folds}-fold cross-validation intent macro-F1, all intents": (cv["macro avg"]["f1-score"], ""),
        f"{args.folds}-fold cross-validation intent accuracy": (cv["accuracy"], ""),
        "hold-out accuracy (tests/nlu_holdout.yml)": (held["accuracy"], ">= 0.93"),
        "hold-out intent macro-F1": (held["macro avg"]["f1-score"], ""),
        "pasted hold-out: scam type named": (pasted["type"], ">= 0.90"),
        "pasted hold-out: scams detected (medium/high)": (pasted["detected"], ">= 0.97"),
        "pasted hold-out: long scams detected": (pasted["long_detected"], ">= 0.95"),
        "pasted hold-out: genuine notices judged high": (pasted["genuine_high"], "<= 0.02"),
        "training time, full rasa train (s)": (train, "<= 180"),
        "Rasa server RSS after load (MB)": (memory["rasa_after_load"], "<= 1126"),
        "Rasa server RSS after 50 turns (MB)": (memory["rasa_after_50_turns"], "<= 1126"),
        "action server RSS (MB)": (memory["action_server"], ""),
    }
    width = max(len(name) for name in figures)
    print(f"\n{'figure':<{width}}  {'measured':>9}  target")
    for name, (value, target) in figures.items():
        print(f"{name:<{width}}  {value:>9.3f}  {target}")
    follow_ups = {block["intent"] for block in yaml.safe_load(FOLLOW_UPS.read_text(encoding="utf-8"))["nlu"]}
    core_f1 = [f1 for name, f1 in intent_f1.items() if name not in follow_ups]
    print(f"cross-validation macro-F1 over the {len(core_f1)} intents other than the follow-ups "
          f"of data/nlu/followups.yml: {sum(core_f1) / len(core_f1):.3f}")
    weakest = sorted(intent_f1.items(), key=lambda item: item[1])[:5]
    print("weakest intents in cross-validation (F1):", ", ".join(f"{n} {f:.3f}" for n, f in weakest))
    (OUT / "nlu_figures.json").write_text(json.dumps({k: v[0] for k, v in figures.items()}, indent=2))


if __name__ == "__main__":
    main()
