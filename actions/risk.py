"""Risk scoring: a deterministic rule, no model."""

from typing import Iterable

from actions.catalog import RISK_LEVELS


def score_risk(base_risk: str, message: str, high_risk_signals: Iterable[str]) -> str:
    """The scam type's own risk, raised to high when the message shows a red-flag signal.

    A signal is a word such as 安全账户 or 验证码: the scam has reached the point of asking
    for money, a code or control of a device.
    """
    if base_risk not in RISK_LEVELS:
        raise ValueError(f"unknown risk level {base_risk!r}")
    text = (message or "").lower()
    if any(signal.lower() in text for signal in high_risk_signals):
        return "high"
    return base_risk
