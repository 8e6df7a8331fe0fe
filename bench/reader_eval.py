"""How the reader and the verdict do on labelled NLU data (a development set).

    .venv/bin/python bench/reader_eval.py data/nlu/*.yml /work/staging/data/*.yml [--show 5]

For every example the verdict is simulated twice: with its true intent at confidence 1.0
(what a perfect classifier would give) and with no intent at all (nlu_fallback: the flags
alone). Printed per group:
  scam_*          share with a strong red flag; detected (medium or high) with the true
                  intent and flags-only; flags-only high; flags-only type right; long
                  (300+ characters) detected flags-only
  genuine_notice  share judged high / medium / low, with the true intent, flags-only, and
                  with a wrong scam intent at 0.9 (the classifier fooled)
  verify_number   share where a number question is found
and the reader's time per message. Never run it on the hold-outs (tests/nlu_holdout.yml,
the pasted hold-out): they measure the finished assistant, not the rules being tuned.
"""

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.reader import read_message  # noqa: E402
from core.settings import Bank  # noqa: E402
from core.verdict import HIGH, LOW, MEDIUM, judge  # noqa: E402

BANK = Bank("工商银行", "95588")
LONG = 300
PASTED = 100  # shorter ones are mostly a customer's one-line story: the classifier's job
REFUSED = ("holdout",)


def examples(path):
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for block in doc.get("nlu") or []:
        if "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield block["intent"], line[2:]


def share(part, whole):
    return f"{part / whole:6.1%}" if whole else "     -"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--show", type=int, default=0, help="print this many misses of each kind")
    parser.add_argument("--show-min-length", type=int, default=0, help="print only misses this long or longer")
    args = parser.parse_args(argv)

    data = []
    for path in args.files:
        if any(word in Path(path).name for word in REFUSED):
            sys.exit(f"refusing {path}: hold-outs are not a development set")
        data += [(Path(path).name, intent, text) for intent, text in examples(path)]

    read_message("预热：第一次调用读规则文件。", BANK, "icbc.com.cn")  # load the rules before timing
    times, long_times = [], []
    scam = Counter()
    genuine = Counter()
    number = Counter()
    per_type = defaultdict(Counter)
    misses = defaultdict(list)
    for name, intent, text in data:
        # CPU time of this process: other work on the shared machine does not count.
        start = time.process_time()
        reading = read_message(text, BANK, "icbc.com.cn")
        elapsed = (time.process_time() - start) * 1000
        times.append(elapsed)
        if len(text) >= 1000:
            long_times.append(elapsed)
        with_intent = judge(reading, [{"name": intent, "confidence": 1.0}])
        flags_only = judge(reading, [{"name": "nlu_fallback", "confidence": 1.0}])
        if intent.startswith("scam_"):
            scam_type = intent[len("scam_"):]
            scam["all"] += 1
            scam["number_question"] += reading.number_question is not None
            scam["strong"] += reading.strong
            scam["intent_detected"] += with_intent.level in (HIGH, MEDIUM)
            scam["intent_high"] += with_intent.level == HIGH
            detected = flags_only.level in (HIGH, MEDIUM)
            scam["flags_detected"] += detected
            scam["flags_high"] += flags_only.level == HIGH
            scam["flags_type_right"] += flags_only.scam_type == scam_type
            if len(text) >= PASTED:
                scam["pasted"] += 1
                scam["pasted_detected"] += detected
                scam["pasted_strong"] += reading.strong
            if len(text) >= LONG:
                scam["long"] += 1
                scam["long_detected"] += detected
            per_type[scam_type]["all"] += 1
            per_type[scam_type]["detected"] += detected
            per_type[scam_type]["type_right"] += flags_only.scam_type == scam_type
            if reading.number_question is not None:
                misses["scam read as a number question"].append((intent, text, reading, flags_only))
            if not detected:
                misses["scam not detected (flags only)"].append((intent, text, reading, flags_only))
            if with_intent.level not in (HIGH, MEDIUM):
                misses["scam not detected (true intent)"].append((intent, text, reading, with_intent))
        elif intent == "genuine_notice":
            genuine["all"] += 1
            genuine["number_question"] += reading.number_question is not None
            if reading.number_question is not None:
                misses["genuine read as a number question"].append((intent, text, reading, flags_only))
            genuine[f"intent_{with_intent.level}"] += 1
            genuine[f"flags_{flags_only.level}"] += 1
            # The worst case: the classifier wrongly sure it is a scam.
            fooled = judge(reading, [{"name": "scam_credential_request", "confidence": 0.9}])
            genuine[f"fooled_{fooled.level}"] += 1
            if fooled.level == HIGH:
                misses["genuine judged high (classifier wrongly sure of a scam)"].append((intent, text, reading, fooled))
            if flags_only.level in (HIGH, MEDIUM):
                misses[f"genuine judged {flags_only.level} (flags only)"].append((intent, text, reading, flags_only))
        elif intent == "verify_number":
            number["all"] += 1
            found = reading.number_question is not None
            number["found"] += found
            if not found:
                misses["number question not found"].append((intent, text, reading, flags_only))

    print(f"files: {', '.join(sorted({name for name, _, _ in data}))}  examples: {len(data)}")
    if scam["all"]:
        n = scam["all"]
        print(f"\nscam examples: {n} (long {scam['long']})")
        print(f"  with a strong red flag            {share(scam['strong'], n)}")
        print(f"  detected, true intent             {share(scam['intent_detected'], n)}")
        print(f"  high, true intent                 {share(scam['intent_high'], n)}")
        print(f"  detected, flags only              {share(scam['flags_detected'], n)}")
        print(f"  high, flags only                  {share(scam['flags_high'], n)}")
        print(f"  type right, flags only            {share(scam['flags_type_right'], n)}")
        print(f"  read as a number question         {share(scam['number_question'], n)}")
        print(f"  {PASTED}+ characters ({scam['pasted']}): strong flag {share(scam['pasted_strong'], scam['pasted'])}, detected flags only {share(scam['pasted_detected'], scam['pasted'])}")
        print(f"  {LONG}+ characters ({scam['long']}): detected flags only {share(scam['long_detected'], scam['long'])}")
        print("  per type (flags only): detected / type right")
        for scam_type, counts in sorted(per_type.items()):
            print(f"    {scam_type:28s} {counts['all']:4d}  {share(counts['detected'], counts['all'])}  {share(counts['type_right'], counts['all'])}")
    if genuine["all"]:
        n = genuine["all"]
        print(f"\ngenuine_notice examples: {n}")
        names = {"intent": "true intent", "flags": "flags only", "fooled": "scam intent"}
        for source in ("intent", "flags", "fooled"):
            levels = "  ".join(f"{level or 'none'} {share(genuine[f'{source}_{level}'], n)}" for level in (HIGH, MEDIUM, LOW, None))
            print(f"  {names[source]:11s}  {levels}")
        print(f"  read as a number question  {share(genuine['number_question'], n)}")
    if number["all"]:
        print(f"\nverify_number examples: {number['all']}  number question found {share(number['found'], number['all'])}")
    print(f"\nreader time per message: mean {statistics.mean(times):.2f} ms, max {max(times):.2f} ms", end="")
    if long_times:
        print(f"; 1000+ characters ({len(long_times)}): mean {statistics.mean(long_times):.2f} ms, max {max(long_times):.2f} ms")
    else:
        print()

    if args.show:
        for kind, items in misses.items():
            print(f"\n--- {kind}: {len(items)}")
            items = [item for item in items if len(item[1]) >= args.show_min_length]
            for intent, text, reading, verdict in items[: args.show]:
                flags = ", ".join(f"{f.id}:{f.weight}「{f.quote}」" for f in reading.flags) or "no flag"
                print(f"  [{intent}] {text[:160]}")
                print(f"      -> {verdict.level} {verdict.scam_type} ({verdict.rule}); {flags}; hints {reading.type_hints[:2]}")


if __name__ == "__main__":
    main()
