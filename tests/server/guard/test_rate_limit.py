"""Rate limits per sender and per client address (server/guard/rate_limit.py)."""

import pytest

from core.settings import Rate, load, parse_rate
from server.guard.rate_limit import RequestLimits, TokenBuckets, too_fast_message

PER_SENDER_ENV = "RATE_LIMIT_PER_SENDER"
PER_IP_ENV = "RATE_LIMIT_PER_IP"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "raw, rate",
    [("20/60", Rate(20, 60.0)), (" 5 / 1.5 ", Rate(5, 1.5)), ("off", None), ("OFF", None),
     ("0", None)],
)
def test_rate_is_count_per_seconds_or_off(raw, rate):
    assert parse_rate(raw, PER_SENDER_ENV) == rate


@pytest.mark.parametrize("raw", ["20", "20/0", "0/60", "-1/60", "twenty/60", "20/60/1", ""])
def test_malformed_rate_is_refused_naming_the_variable(raw):
    with pytest.raises(ValueError, match=PER_SENDER_ENV):
        parse_rate(raw, PER_SENDER_ENV)


def test_bucket_allows_a_burst_then_refills_at_its_rate():
    clock = Clock()
    buckets = TokenBuckets(Rate(3, 60), clock)
    for _ in range(3):
        assert buckets.wait("a") == 0
        buckets.take("a")
    assert buckets.wait("a") == pytest.approx(20)  # one token per 20 s
    assert buckets.wait("b") == 0  # other keys have their own bucket
    clock.now += 19.9
    assert buckets.wait("a") == pytest.approx(0.1)
    clock.now += 0.1
    assert buckets.wait("a") == 0
    buckets.take("a")
    assert buckets.wait("a") == pytest.approx(20)
    clock.now += 600  # a long pause refills up to the burst, never beyond
    for _ in range(3):
        buckets.take("a")
    assert buckets.wait("a") > 0


def test_idle_buckets_are_forgotten_and_memory_is_bounded():
    clock = Clock()
    buckets = TokenBuckets(Rate(5, 60), clock, max_keys=100)
    for key in range(50):
        buckets.take(f"idle-{key}")
    clock.now += 60  # full again: nothing lost by forgetting them
    buckets.take("new")
    assert len(buckets) == 1
    for key in range(1000):
        buckets.take(f"flood-{key}")
    assert len(buckets) == 100


def test_limit_is_hit_per_sender_and_per_address_then_released():
    clock = Clock()
    limits = RequestLimits(TokenBuckets(Rate(2, 60), clock), TokenBuckets(Rate(3, 60), clock))
    assert [limits.admit("a", "10.0.0.1") for _ in range(3)] == [0, 0, pytest.approx(30)]
    # The refused request took nothing from the address: b still gets the third slot.
    assert limits.admit("b", "10.0.0.1") == 0
    assert limits.admit("c", "10.0.0.1") == pytest.approx(20)  # the address's rate
    assert limits.admit("c", "10.0.0.2") == 0
    clock.now += 30
    assert limits.admit("a", "10.0.0.3") == 0


def test_limits_come_from_the_environment_with_defaults_and_off():
    clock = Clock()
    defaults = RequestLimits.from_settings(load({}), clock)
    assert (defaults.per_sender.rate, defaults.per_ip.rate) == (Rate(20, 60), Rate(120, 60))
    configured = RequestLimits.from_settings(load({PER_SENDER_ENV: "2/10", PER_IP_ENV: "off"}), clock)
    assert configured.per_sender.rate == Rate(2, 10) and configured.per_ip is None
    assert [configured.admit("a", "x") for _ in range(3)][-1] == pytest.approx(5)
    with pytest.raises(ValueError, match=PER_IP_ENV):
        RequestLimits.from_settings(load({PER_IP_ENV: "lots"}))


def test_too_fast_message_says_how_long_to_wait_in_whole_seconds():
    assert "3秒后再发" in too_fast_message(2.1)
    assert "挂断" in too_fast_message(1)


