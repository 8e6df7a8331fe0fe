"""Builds every reply the actions send: plain functions from catalog entries to messages.

A message is a dict of `dispatcher.utter_message` keyword arguments: `text`, and where
useful `buttons` and `json_message` (the custom payload the widget and WeChat read).
"""

from typing import Dict, Sequence

from actions.catalog import Guidance, OfficialNumber, ScamType, resolve_hotlines
from actions.numbers import NumberCheck
from actions.settings import Bank

Message = Dict[str, object]

NEXT_STEP_BUTTONS = (
    {"title": "我已经转账了", "payload": "/money_lost"},
    {"title": "核实一个电话号码", "payload": "/verify_number"},
    {"title": "转人工", "payload": "/human_handoff"},
)

# Buttons keep a reply in one message: the REST channel splits button-less text at "\n\n".
AFTER_LOSS_BUTTONS = (
    {"title": "转人工", "payload": "/human_handoff"},
    {"title": "核实一个电话号码", "payload": "/verify_number"},
)

_VERDICT_BY_RISK = {
    "high": "⚠️ 这是诈骗！",
    "medium": "⚠️ 这很可能是诈骗！",
    "low": "这有诈骗的可能，请提高警惕。",
}


def _numbered(steps: Sequence[str]) -> str:
    return "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1))


def _dial_yourself(numbers: Sequence[str], directory: Dict[str, OfficialNumber]) -> str:
    lines = [f"📞 {number} {directory[number].owner}" for number in numbers]
    return "请您自己拨打这些官方电话：\n" + "\n".join(lines)


def assessment(
    scam: ScamType, risk: str, bank: Bank, directory: Dict[str, OfficialNumber]
) -> Message:
    """Verdict first, then the steps, then the numbers to dial; payload for the UI."""
    hotlines = resolve_hotlines(scam.hotlines, bank)
    text = "\n\n".join(
        [
            f"{_VERDICT_BY_RISK[risk]}（{scam.name}）\n{scam.verdict}",
            "现在请这样做：\n" + _numbered(scam.steps),
            _dial_yourself(hotlines, directory),
        ]
    )
    payload = {
        "type": "scam_assessment",
        "scam_type": scam.id,
        "risk": risk,
        "hotlines": hotlines,
        "scam_name": scam.name,
        "steps": list(scam.steps),
    }
    return {"text": text, "buttons": list(NEXT_STEP_BUTTONS), "json_message": payload}


def money_lost(
    guidance: Guidance, bank: Bank, directory: Dict[str, OfficialNumber]
) -> Message:
    """What to do in the next minutes once money or a code has gone."""
    hotlines = resolve_hotlines(guidance.hotlines, bank)
    text = "\n\n".join(
        [guidance.verdict, _numbered(guidance.steps), _dial_yourself(hotlines, directory)]
    )
    payload = {"type": "emergency", "hotlines": hotlines, "steps": list(guidance.steps)}
    return {"text": text, "buttons": list(AFTER_LOSS_BUTTONS), "json_message": payload}


def number_check(check: NumberCheck, bank: Bank) -> Message:
    """Whose number it is, or that it is not official, without repeating an unknown number."""
    if check.official:
        text = (
            f"{check.official_number} 是{check.owner}的官方号码。\n"
            "但来电显示可以伪造，官方电话也从不让您转账、说验证码。"
            f"请挂断来电，自己拨打 {check.official_number} 核实。"
        )
    else:
        text = (
            "您发来的号码不在官方号码名单里，不要回拨，也不要按对方说的做。\n"
            f"需要核实就自己拨打官方电话：银行的事打{bank.name}客服热线 {bank.hotline}，"
            "拿不准就打 96110 问反诈中心。"
        )
    payload = {
        "type": "number_check",
        "number": check.number,
        "official": check.official,
        "owner": check.owner,
    }
    return {"text": text, "json_message": payload}


def ask_for_number() -> Message:
    return {"text": "请把对方的电话号码直接发给我（只发数字就行），我帮您查是不是官方号码。"}

