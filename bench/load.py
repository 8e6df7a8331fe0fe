"""A bounded asyncio load generator for the REST channel (used by bench/perf.py).

Each virtual customer holds one conversation at a time: a first message (a customer's
story), then the follow-ups customers send, then a new conversation under a new sender
id. A turn is one POST and its complete answer.
"""

import asyncio
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import aiohttp
import yaml

REPO = Path(__file__).resolve().parents[1]
# Each conversation opens with a customer's first message: one of the 350 hold-out
# examples, written apart from the training data. A run goes round them several times;
# the stories among them are longer than what server/runtime/nlu_cache.py keeps, and the short
# ones (greetings, questions) repeat in real traffic too. Then one to three of the
# follow-ups customers send most (the form's answers among them when the story was vague).
FOLLOW_UPS: Sequence[Sequence[str]] = (
    ("为什么说是诈骗",),
    ("我已经转账了", "怎么办"),
    ("我怎么核实", "谢谢"),
    ("不知道", "还没有", "转人工"),
    ("有没有真实案例", "帮我写段话发给家里人提个醒"),
    ("公检法", "转账汇款", "还没有"),
    ("核实一个电话号码 02112345678",),
    ("那我现在该怎么办", "谢谢"),
)


def first_messages() -> List[str]:
    """The hold-out examples, in a fixed shuffled order."""
    data = yaml.safe_load((REPO / "tests" / "nlu_holdout.yml").read_text(encoding="utf-8"))
    texts = [line[2:].strip() for block in data["nlu"]
             for line in block["examples"].splitlines() if line.startswith("- ")]
    random.Random(2026).shuffle(texts)
    return texts


def conversation_script(number: int, stories: Sequence[str]) -> List[str]:
    """Conversation `number` of a run: a story, then its follow-ups."""
    return [stories[number % len(stories)], *FOLLOW_UPS[number % len(FOLLOW_UPS)]]


# The long conversation repeats these ten turns: any ten consecutive turns hold the
# same messages, so their median latency compares across the conversation.
LONG_CONVERSATION_CYCLE: Sequence[str] = (
    "税务局打电话说我有购房退税",
    "为什么说是诈骗",
    "我怎么核实",
    "核实一个电话号码 02112345678",
    "公安说我涉嫌洗钱，要把钱转到安全账户",
    "有没有真实案例",
    "那我现在该怎么办",
    "谢谢",
    "链接 http://tb-refund.example.cn 能点吗",
    "你好",
)


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0
    error_samples: List[str] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)

    def as_dict(self) -> Dict:
        return {
            "concurrency": self.concurrency,
            "turns": self.turns,
            "seconds": round(self.seconds, 2),
            "turns_per_second": round(self.turns_per_second, 2),
            "p50_ms": round(self.percentile(0.50), 1),
            "p95_ms": round(self.percentile(0.95), 1),
            "p99_ms": round(self.percentile(0.99), 1),
            "errors": self.errors,
        }


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def post_turn(
    session: aiohttp.ClientSession, url: str, sender: str, message: str
) -> Optional[str]:
    """One turn; None when it was answered, else what went wrong."""
    body = json.dumps({"sender": sender, "message": message}, ensure_ascii=False)
    async with session.post(
        url, data=body.encode("utf-8"), headers={"Content-Type": "application/json"}
    ) as reply:
        raw = await reply.read()
    if reply.status != 200:
        return f"HTTP {reply.status}: {raw[:200]!r}"
    messages = json.loads(raw)
    if not messages:
        return "empty answer"
    return None


async def run_load(
    webhook: str, concurrency: int, seconds: float, warmup_seconds: float = 2.0,
    run_id: str = "load",
) -> LoadResult:
    """`concurrency` customers talking for warm-up plus `seconds`; only turns that start
    after the warm-up count."""
    result = LoadResult(concurrency=concurrency, seconds=seconds)
    conversation_ids = itertools.count()
    stories = first_messages()
    started = time.perf_counter()
    measure_from = started + warmup_seconds
    stop_at = measure_from + seconds
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def customer(number: int) -> None:
        while time.perf_counter() < stop_at:
            conversation_number = next(conversation_ids)
            script = conversation_script(conversation_number, stories)
            sender = f"{run_id}-{number}-{conversation_number}"
            for message in script:
                turn_started = time.perf_counter()
                if turn_started >= stop_at:
                    return
                try:
                    problem = await post_turn(session, webhook, sender, message)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                    problem = f"{type(error).__name__}: {error}"
                if turn_started < measure_from:
                    continue
                if problem:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(problem)
                else:
                    result.latencies_ms.append((time.perf_counter() - turn_started) * 1000)

    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await asyncio.gather(*(customer(n) for n in range(concurrency)))
    # Turns still running at stop_at finish late; the window is what was asked for.
    result.seconds = max(seconds, time.perf_counter() - measure_from) if result.turns else seconds
    return result


async def long_conversation(webhook: str, turns: int, sender: str) -> List[float]:
    """Latency (ms) of each turn of one conversation `turns` long, in order.

    One cycle is sent first in another conversation, so that a server which remembers
    texts it has seen (server/runtime/nlu_cache.py) does so from turn 1: the figures then
    compare the history's length alone."""
    script = LONG_CONVERSATION_CYCLE
    latencies = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for message in script:
            await post_turn(session, webhook, f"{sender}-warm-up", message)
        for number in range(turns):
            started = time.perf_counter()
            problem = await post_turn(session, webhook, sender, script[number % len(script)])
            if problem:
                raise RuntimeError(f"turn {number + 1} of the long conversation: {problem}")
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies
