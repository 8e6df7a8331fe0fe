"""What the assistant concludes on a hold-out of pasted messages: the verdict it gives.

    .venv/bin/python bench/verdicts.py [--holdout tests/pasted_holdout.yml] [--show 10]

Each message is masked as the channels mask it (core/masking.py), classified by the
trained model (models/assistant.tar.gz), read (core/reader.py) and judged
(core/verdict.py), exactly as the assessment action does. Prints, against the targets
of docs/nlu.md: the scam type named, detection (any medium or high verdict), detection
of long messages (300 characters and more), genuine notices judged high, and number
questions answered with a number check. `--show N` lists up to N misses of each kind.
"""

import argparse
import asyncio
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

from core.directory import official_directory  # noqa: E402
from core.masking import mask  # noqa: E402
from core.reader import read_message  # noqa: E402
from core.settings import settings  # noqa: E402
from core.verdict import Verdict, judge  # noqa: E402

HOLDOUT = REPO / "tests" / "pasted_holdout.yml"
MODEL = REPO / "models" / "assistant.tar.gz"
LONG = 300
TARGETS = {"type": 0.90, "detected": 0.97, "long_detected": 0.95, "genuine_high": 0.02}


@dataclass
class Judged:
    label: str
    text: str
    intent: str
    verdict: Verdict


def examples(path: Path) -> List[Tuple[str, str]]:
    pairs = []
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        for line in block["examples"].splitlines():
            if line.strip():
                pairs.append((block["intent"], line.strip()[2:]))
    return pairs


async def judge_all(pairs: List[Tuple[str, str]], model: Path) -> List[Judged]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    agent = Agent.load(str(model))
    config = settings()
    keep = frozenset(official_directory(config.bank))
    judged = []
    for label, text in pairs:
        masked = mask(text, keep).text
        parsed = await agent.parse_message(masked)
        ranking = parsed.get("intent_ranking") or [parsed.get("intent") or {}]
        verdict = judge(read_message(masked, config.bank, config.bank_domain), ranking)
        judged.append(Judged(label, text, (parsed.get("intent") or {}).get("name", ""), verdict))
    return judged


def figures(judged: List[Judged]) -> Dict[str, Tuple[float, int]]:
    """Each figure as (share, count it is a share of)."""
    scams = [j for j in judged if j.label.startswith("scam_")]
    long = [j for j in scams if len(j.text) >= LONG]
    genuine = [j for j in judged if j.label == "genuine_notice"]
    numbers = [j for j in judged if j.label == "verify_number"]

    def share(items: List[Judged], hit) -> Tuple[float, int]:
        return (sum(1 for j in items if hit(j)) / len(items) if items else 0.0, len(items))

    detected = lambda j: j.verdict.level in ("high", "medium")  # noqa: E731
    return {
        "type": share(scams, lambda j: detected(j) and f"scam_{j.verdict.scam_type}" == j.label),
        "detected": share(scams, detected),
        "long_detected": share(long, detected),
        "genuine_high": share(genuine, lambda j: j.verdict.level == "high"),
        "genuine_low": share(genuine, lambda j: j.verdict.level == "low"),
        "number_checked": share(numbers, lambda j: j.verdict.number_question is not None
                                or j.intent == "verify_number"),
    }


def misses(judged: List[Judged]) -> Dict[str, List[Judged]]:
    scams = [j for j in judged if j.label.startswith("scam_")]
    return {
        "not detected": [j for j in scams if j.verdict.level not in ("high", "medium")],
        "wrong type": [j for j in scams if j.verdict.level in ("high", "medium")
                       and f"scam_{j.verdict.scam_type}" != j.label],
        "genuine judged high": [j for j in judged
                                if j.label == "genuine_notice" and j.verdict.level == "high"],
    }


def report(judged: List[Judged], show: int = 0) -> Dict[str, float]:
    results = figures(judged)
    print(f"\n{'pasted hold-out figure':<44} {'measured':>9} {'of':>5}  target")
    names = {"type": "scam type named (medium/high with the right type)",
             "detected": "scams detected (medium or high)",
             "long_detected": f"long scams detected ({LONG}+ characters)",
             "genuine_high": "genuine notices judged high",
             "genuine_low": "genuine notices judged low (looks genuine)",
             "number_checked": "number questions given a number check"}
    for key, (value, count) in results.items():
        target = TARGETS.get(key)
        bound = "" if target is None else (f"<= {target}" if key == "genuine_high" else f">= {target}")
        print(f"{names[key]:<44} {value:>9.3f} {count:>5}  {bound}")
    wrong = Counter((j.label, f"scam_{j.verdict.scam_type}") for j in misses(judged)["wrong type"])
    if wrong:
        print("most confused (true -> named):",
              ", ".join(f"{a}->{b} {n}" for (a, b), n in wrong.most_common(6)))
    for kind, items in misses(judged).items():
        for j in items[:show]:
            print(f"  [{kind}] {j.label} -> {j.verdict.level}/{j.verdict.scam_type} "
                  f"(intent {j.intent}, rule {j.verdict.rule}): {j.text[:90]}")
    return {key: value for key, (value, _) in results.items()}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holdout", type=Path, default=HOLDOUT)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--show", type=int, default=0)
    args = parser.parse_args(argv)
    judged = asyncio.run(judge_all(examples(args.holdout), args.model))
    report(judged, args.show)


if __name__ == "__main__":
    main()
