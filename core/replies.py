"""Builds every reply the actions send: plain functions from catalog entries to messages.

A message is a dict of `dispatcher.utter_message` keyword arguments: `text`, and where
useful `buttons` and `json_message` (the custom payload the widget and WeChat read).
"""

from typing import Dict, Optional, Sequence

from core.catalog import MoneyLostGuidance, OfficialNumber, ScamType, resolve_hotlines
from core.links import LinkVerdict
from core.numbers import NumberVerdict
from core.settings import Bank

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
    scam: ScamType, risk: str, bank: Bank, directory: Dict[str, OfficialNumber],
    reasons: Sequence[str] = (),
) -> Message:
    """Verdict first, then the steps, then the numbers to dial; payload for the UI.

    `reasons` (from the clarifying answers) say why, right under the verdict.
    """
    hotlines = resolve_hotlines(scam.hotlines, bank)
    verdict = f"{_VERDICT_BY_RISK[risk]}（{scam.name}）\n{scam.verdict}"
    if reasons:
        verdict += "\n" + "\n".join(f"• {reason}" for reason in reasons)
    text = "\n\n".join(
        [
            verdict,
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


def code_was_given(guidance: MoneyLostGuidance, text: str) -> bool:
    """Whether the customer's words say a code or password went too."""
    lowered = text.lower()
    return any(word.lower() in lowered for word in guidance.code_given_words)


def money_lost(
    guidance: MoneyLostGuidance, bank: Bank, directory: Dict[str, OfficialNumber],
    code_given: bool = False,
) -> Message:
    """What to do in the next minutes once money or a code has gone."""
    hotlines = resolve_hotlines(guidance.hotlines, bank)
    steps = (guidance.code_given_steps if code_given else ()) + guidance.steps
    text = "\n\n".join(
        [guidance.verdict, _numbered(steps), _dial_yourself(hotlines, directory)]
    )
    payload = {"type": "emergency", "hotlines": hotlines, "steps": list(steps)}
    return {"text": text, "buttons": list(AFTER_LOSS_BUTTONS), "json_message": payload}


def number_check(verdict: NumberVerdict, bank: Bank) -> Message:
    """Whose number it is, or that it is not official and why, without repeating an
    unknown number."""
    if verdict.official:
        text = (
            f"{verdict.official_number} 是{verdict.owner}的官方号码。\n"
            "但来电显示可以伪造，官方电话也从不让您转账、说验证码。"
            f"请挂断来电，自己拨打 {verdict.official_number} 核实。"
        )
    else:
        reasons = "".join(f"\n• {reason}" for reason in verdict.reasons)
        text = (
            "⚠️ 您发来的号码不在官方号码名单里，不要回拨，也不要按对方说的做。" + reasons + "\n"
            f"需要核实就自己拨打官方电话：银行的事打{bank.name}客服热线 {bank.hotline}，"
            "拿不准就打 96110 问反诈中心。"
        )
    payload = {
        "type": "number_check",
        "number": verdict.number,
        "official": verdict.official,
        "owner": verdict.owner,
        "patterns": list(verdict.patterns),
    }
    return {"text": text, "json_message": payload}


_LINK_VERDICT_BY_RISK = {
    "high": "⚠️ 这个链接很危险，不要点开，更不要在里面填卡号、密码、验证码。",
    "medium": "⚠️ 这个链接很可疑，不要点开，也不要填任何信息。",
    "low": "这个链接看不出是官方网站，请不要在里面填任何个人信息。",
}


def link_check(verdict: LinkVerdict, bank: Bank) -> Message:
    """An official site by name, or why not; an unofficial link is never repeated."""
    if verdict.official:
        text = (
            f"这是{verdict.owner}的官方网站（{verdict.host}）。\n"
            "但短信、电话里发来的链接也可能是仿冒的，最稳妥的是自己在浏览器里输入官网地址，"
            "或打开官方App办理；任何网页都不会让您把验证码告诉别人。"
        )
    else:
        reasons = "\n".join(f"• {reason}" for reason in verdict.reasons)
        text = (
            _LINK_VERDICT_BY_RISK[verdict.risk] + ("\n" + reasons if reasons else "")
            + f"\n\n要办业务请自己打开官方App，或拨打{bank.name}客服热线 {bank.hotline}；"
            "已经填了信息，马上拨打96110。"
        )
    payload = {
        "type": "link_check",
        "url": verdict.url,
        "host": verdict.host,
        "official": verdict.official,
        "owner": verdict.owner,
        "risk": verdict.risk,
        "patterns": list(verdict.patterns),
    }
    return {"text": text, "json_message": payload}


def ask_for_link() -> Message:
    return {"text": "请把链接或网址原样发给我（复制粘贴就行，先别点开），我帮您看是不是官方网站。"}


def ask_for_number() -> Message:
    return {"text": "请把对方的电话号码直接发给我（只发数字就行），我帮您查是不是官方号码。"}



# Follow-ups: answers about the scam type already named (or the general advice).
FOLLOW_UP_BUTTONS = (
    {"title": "为什么说是诈骗", "payload": "/ask_why_scam"},
    {"title": "怎么核实", "payload": "/ask_how_to_verify"},
    {"title": "发给家人提个醒", "payload": "/share_warning"},
)
# 110 and 96110 report and advise; the other numbers of a type are the agency it claims.
_REPORTING_LINES = ("110", "96110")


def next_steps(scam: ScamType, bank: Bank, directory: Dict[str, OfficialNumber]) -> Message:
    hotlines = resolve_hotlines(scam.hotlines, bank)
    text = "\n\n".join(
        [f"遇到{scam.name}，现在请这样做：\n" + _numbered(scam.steps),
         _dial_yourself(hotlines, directory)]
    )
    return {"text": text, "buttons": list(FOLLOW_UP_BUTTONS)}


def how_to_verify(scam: ScamType, bank: Bank, directory: Dict[str, OfficialNumber]) -> Message:
    """Hang up, then dial the agency the caller claimed (or the bank) yourself."""
    hotlines = resolve_hotlines(scam.hotlines, bank)
    agencies = [n for n in hotlines if n not in _REPORTING_LINES] or [bank.hotline]
    dial = "、".join(f"{n}（{directory[n].owner}）" for n in agencies)
    steps = [
        "先挂断电话。不要回拨来电号码，也不要用对方给的号码、链接或二维码。",
        f"自己拨打 {dial} 问清楚有没有这回事。",
        "拿不准就拨打96110问反诈中心，或者问问家人、到银行网点问工作人员。",
    ]
    text = "核实的办法：\n" + _numbered(steps) + "\n\n来电显示可以伪造，号码看着像官方的也不能全信。"
    return {"text": text, "buttons": list(FOLLOW_UP_BUTTONS)}


def why_scam(scam: ScamType) -> Message:
    """The verdict's reasons: how it goes and the red flags in this story."""
    text = "\n\n".join(
        [f"为什么说是{scam.name}：{scam.verdict}",
         "骗子通常这样做：" + scam.how_it_goes,
         "识别要点：\n" + "\n".join(f"• {flag}" for flag in scam.red_flags)]
    )
    return {"text": text, "buttons": list(FOLLOW_UP_BUTTONS)}


def real_case(scam: ScamType, seed_types: Sequence[ScamType]) -> Message:
    """The matching branch case; other types get how it goes and the cases we have."""
    if scam.seed_case:
        text = f"真实案例（{scam.name}，本行网点）：\n{scam.seed_case}"
        return {"text": text, "buttons": list(FOLLOW_UP_BUTTONS)}
    text = (
        f"{scam.name}我们还没有整理好的网点案例。这类骗局通常是这样的：{scam.how_it_goes}\n\n"
        "下面几类有网点真实案例，可以点开看看："
    )
    buttons = [{"title": seed.name, "payload": f"/ask_real_case{{\"scam_type\": \"{seed.id}\"}}"}
               for seed in seed_types]
    return {"text": text, "buttons": buttons}


def share_warning(scam: ScamType, bank: Bank) -> Message:
    """A short warning the customer can forward to family as it is."""
    warning = (
        f"【反诈提醒】小心{scam.name}！{scam.how_it_goes}\n"
        f"记住：{scam.verdict}\n"
        "不转账、不说验证码和密码、不按陌生人的指挥操作。拿不准就挂断，自己拨打110或96110。"
        f"\n——{bank.name}反诈助手"
    )
    text = "可以把下面这段话转发给家人：\n\n" + warning
    return {"text": text, "buttons": [{"title": "转人工", "payload": "/human_handoff"}],
            "json_message": {"type": "share_text", "text": warning}}


def handoff(bank: Bank, branch_hours: str, reference: Optional[str]) -> Message:
    """The hotline and branch hours; the record's reference when it was written."""
    record = (
        f"您的记录编号是 {reference}，说出这个编号，工作人员就能看到您和我说的情况。\n"
        if reference else ""
    )
    text = (
        f"请拨打{bank.name}客服热线 {bank.hotline}，按语音提示转人工；也可以到网点找工作人员（{branch_hours}）。\n"
        + record + "如果此刻有人在电话里让您转账或操作，请先挂断他的电话。"
    )
    payload = {"type": "handoff", "reference": reference, "hotlines": [bank.hotline]}
    return {"text": text, "buttons": list(AFTER_LOSS_BUTTONS[1:]), "json_message": payload}


ATM_BUTTONS = (
    {"title": "我已经转账了", "payload": "/money_lost"},
    {"title": "我没在操作，想问问", "payload": "/report_vague"},
    {"title": "转人工", "payload": "/human_handoff"},
)


def atm_alert(bank: Bank, atm_id: str) -> Message:
    """The first message at an ATM: stop, take the card, hang up."""
    text = (
        "⚠️ 如果您正在按电话里的指示操作这台ATM：请立即停止操作，按“取消”键取回银行卡，挂断电话。\n\n"
        "税务退税、社保补贴、公安“安全账户”、解冻、验证……任何人在电话里指挥您在ATM上操作，都是诈骗。\n\n"
        f"钱已经转出去了，马上拨打110；冻结银行卡请拨打{bank.name}客服热线 {bank.hotline}，或找网点工作人员。"
    )
    payload = {"type": "atm_alert", "atm_id": atm_id or None, "hotlines": ["110", "96110", bank.hotline]}
    return {"text": text, "buttons": list(ATM_BUTTONS), "json_message": payload}
