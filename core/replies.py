"""Builds every reply: plain functions from catalog entries and knowledge/replies.yml to
messages. The actions send them; the channels use the safe reply and their own few.

A message is a dict of `dispatcher.utter_message` keyword arguments: `text`, and where
useful `buttons` and `json_message` (the custom payload the widget and WeChat read).
"""

from typing import Dict, List, Optional, Sequence

from core.catalog import MoneyLostGuidance, ScamType, load_catalog
from core.directory import OfficialNumber, official_directory, resolve_hotlines
from core.links import LinkVerdict
from core.numbers import NumberVerdict
from core.settings import Bank
from core.verdict import Reason, Verdict
from core.wording import button, say, say_each

Message = Dict[str, object]
Directory = Dict[str, OfficialNumber]
Buttons = List[Dict[str, str]]

# 110 and 96110 report and advise; the other numbers of a type are the agency it claims.
REPORTING_LINES = ("110", "96110")


# Buttons keep a reply in one message: the REST channel splits button-less text at "\n\n".
# Their titles are read when a reply is built, as every other sentence.
def next_step_buttons() -> Buttons:
    return [button("money_lost"), button("verify_number"), button("human_handoff")]


def after_loss_buttons() -> Buttons:
    return [button("human_handoff"), button("verify_number")]


def follow_up_buttons() -> Buttons:
    return [button("ask_why_scam"), button("ask_how_to_verify"), button("share_warning")]


def atm_buttons() -> Buttons:
    not_operating = {"title": say("buttons.atm_not_operating"), "payload": "/report_vague"}
    return [button("money_lost"), not_operating, button("human_handoff")]


def numbered(steps: Sequence[str]) -> str:
    return "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1))


def dial_yourself(numbers: Sequence[str], directory: Directory) -> str:
    lines = [say("dial_line", number=number, owner=directory[number].owner) for number in numbers]
    return say("dial_yourself") + "\n" + "\n".join(lines)


def _do_now(steps: Sequence[str]) -> str:
    return say("do_now") + "\n" + numbered(steps)


def assessment(
    scam: ScamType, risk: str, bank: Bank, directory: Directory, reasons: Sequence[str] = (),
) -> Message:
    """Verdict first, then the steps, then the numbers to dial; payload for the UI.

    `reasons` (from the clarifying answers) say why, right under the verdict.
    """
    hotlines = resolve_hotlines(scam.hotlines, bank)
    verdict = f"{say(f'verdict_by_risk.{risk}')}（{scam.name}）\n{scam.verdict}"
    if reasons:
        verdict += "\n" + "\n".join(f"• {reason}" for reason in reasons)
    text = "\n\n".join([verdict, _do_now(scam.steps), dial_yourself(hotlines, directory)])
    payload = {
        "type": "scam_assessment",
        "scam_type": scam.id,
        "risk": risk,
        "hotlines": hotlines,
        "scam_name": scam.name,
        "steps": list(scam.steps),
    }
    return {"text": text, "buttons": next_step_buttons(), "json_message": payload}


def code_was_given(guidance: MoneyLostGuidance, text: str) -> bool:
    """Whether the customer's words say a code or password went too."""
    lowered = text.lower()
    return any(word.lower() in lowered for word in guidance.code_given_words)


def money_lost(
    guidance: MoneyLostGuidance, bank: Bank, directory: Directory, code_given: bool = False,
) -> Message:
    """What to do in the next minutes once money or a code has gone."""
    hotlines = resolve_hotlines(guidance.hotlines, bank)
    steps = (guidance.code_given_steps if code_given else ()) + guidance.steps
    text = "\n\n".join([guidance.verdict, numbered(steps), dial_yourself(hotlines, directory)])
    payload = {"type": "emergency", "hotlines": hotlines, "steps": list(steps)}
    return {"text": text, "buttons": after_loss_buttons(), "json_message": payload}


def number_check(verdict: NumberVerdict, bank: Bank) -> Message:
    """Whose number it is, or that it is not official and why, without repeating an
    unknown number."""
    if verdict.official:
        text = say("number.official", number=verdict.official_number, owner=verdict.owner)
    else:
        reasons = "".join(f"\n• {reason}" for reason in verdict.reasons)
        text = say("number.unofficial") + reasons + "\n" + say("number.unofficial_next", bank)
    payload = {
        "type": "number_check",
        "number": verdict.number,
        "official": verdict.official,
        "owner": verdict.owner,
        "patterns": list(verdict.patterns),
    }
    return {"text": text, "json_message": payload}


def link_check(verdict: LinkVerdict, bank: Bank) -> Message:
    """An official site by name, or why not; an unofficial link is never repeated."""
    if verdict.official:
        text = say("link.official", owner=verdict.owner, host=verdict.host)
    else:
        reasons = "\n".join(f"• {reason}" for reason in verdict.reasons)
        text = (
            say(f"link.verdict_by_risk.{verdict.risk}") + ("\n" + reasons if reasons else "")
            + "\n\n" + say("link.next", bank)
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
    return {"text": say("link.ask")}


def ask_for_number() -> Message:
    return {"text": say("number.ask")}


def next_steps(scam: ScamType, bank: Bank, directory: Directory) -> Message:
    hotlines = resolve_hotlines(scam.hotlines, bank)
    text = "\n\n".join([
        say("follow_up.next_steps", scam_name=scam.name) + "\n" + numbered(scam.steps),
        dial_yourself(hotlines, directory),
    ])
    return {"text": text, "buttons": follow_up_buttons()}


def how_to_verify(scam: ScamType, bank: Bank, directory: Directory) -> Message:
    """Hang up, then dial the agency the caller claimed (or the bank) yourself."""
    hotlines = resolve_hotlines(scam.hotlines, bank)
    agencies = [n for n in hotlines if n not in REPORTING_LINES] or [bank.hotline]
    dial = "、".join(say("follow_up.verify_agency", number=n, owner=directory[n].owner)
                    for n in agencies)
    text = (
        say("follow_up.verify_heading") + "\n"
        + numbered(say_each("follow_up.verify_steps", agencies=dial))
        + "\n\n" + say("follow_up.caller_id_forged")
    )
    return {"text": text, "buttons": follow_up_buttons()}


def why_scam(scam: ScamType) -> Message:
    """The verdict's reasons: how it goes and the red flags in this story."""
    text = "\n\n".join([
        say("follow_up.why", scam_name=scam.name, verdict=scam.verdict),
        say("follow_up.how_it_goes", how_it_goes=scam.how_it_goes),
        say("follow_up.red_flags") + "\n" + "\n".join(f"• {flag}" for flag in scam.red_flags),
    ])
    return {"text": text, "buttons": follow_up_buttons()}


def real_case(scam: ScamType, seed_types: Sequence[ScamType]) -> Message:
    """The matching branch case; other types get how it goes and the cases we have."""
    if scam.seed_case:
        text = say("follow_up.real_case", scam_name=scam.name) + "\n" + scam.seed_case
        return {"text": text, "buttons": follow_up_buttons()}
    text = (
        say("follow_up.no_real_case", scam_name=scam.name, how_it_goes=scam.how_it_goes)
        + "\n\n" + say("follow_up.seed_cases")
    )
    buttons = [{"title": seed.name, "payload": f"/ask_real_case{{\"scam_type\": \"{seed.id}\"}}"}
               for seed in seed_types]
    return {"text": text, "buttons": buttons}


def share_warning(scam: ScamType, bank: Bank) -> Message:
    """A short warning the customer can forward to family as it is."""
    warning = say("share.warning", bank, scam_name=scam.name, how_it_goes=scam.how_it_goes,
                  verdict=scam.verdict)
    text = say("share.intro") + "\n\n" + warning
    return {"text": text, "buttons": [button("human_handoff")],
            "json_message": {"type": "share_text", "text": warning}}


def handoff(bank: Bank, branch_hours: str, reference: Optional[str]) -> Message:
    """The hotline and branch hours; the record's reference when it was written."""
    lines = [say("handoff.call", bank, branch_hours=branch_hours)]
    if reference:
        lines.append(say("handoff.reference", reference=reference))
    lines.append(say("handoff.hang_up"))
    payload = {"type": "handoff", "reference": reference, "hotlines": [bank.hotline]}
    return {"text": "\n".join(lines), "buttons": [button("verify_number")],
            "json_message": payload}


def atm_alert(bank: Bank, atm_id: Optional[str]) -> Message:
    """The first message at an ATM: stop, take the card, hang up."""
    text = "\n\n".join([say("atm.stop"), say("atm.always_scam"), say("money_gone_now", bank)])
    payload = {"type": "atm_alert", "atm_id": atm_id or None,
               "hotlines": ["110", "96110", bank.hotline]}
    return {"text": text, "buttons": atm_buttons(), "json_message": payload}


def plain(key: str, bank: Bank) -> Message:
    """A sentence of knowledge/replies.yml on its own (greeting, goodbye, ...)."""
    return {"text": say(key, bank)}


def not_understood(bank: Bank) -> Message:
    """Ask again in a sentence or two; and if money is already gone, what to do first."""
    return {"text": say("not_understood") + say("money_gone_now", bank)}


def clarify_question(slot: str) -> Message:
    """One of the clarifying form's questions, its options as buttons (the payload is
    the option's own words: the form reads answers by their words)."""
    options = say_each(f"clarify.{slot}.options")
    buttons = [{"title": option, "payload": option} for option in options]
    if slot == "money_gone":  # "already gone" is the emergency itself, not an answer
        buttons[1]["payload"] = "/money_lost"
    return {"text": say(f"clarify.{slot}.question"), "buttons": buttons}


def safe_reply(bank: Bank) -> str:
    """The general advice when the assistant cannot answer: hang up, no transfer, no
    codes, and only official numbers (the catalog's suspected-fraud advice)."""
    general = load_catalog().suspected_fraud
    return "\n".join([
        say("safe_reply.opening"),
        numbered(general.steps),
        say("money_gone_now", bank),
        "",
        dial_yourself(resolve_hotlines(general.hotlines, bank), official_directory(bank)),
    ])


def verdict(judged: Verdict, bank: Bank, directory: Directory) -> Message:
    """The assessment of a message the reader judged (core/verdict.py): high and medium
    name the type (or suspected fraud) and quote the message's own words as reasons;
    low says it looks like a genuine notice and still points to official channels only."""
    if judged.level == "low":
        return genuine_notice(judged, bank, directory)
    catalog = load_catalog()
    scam = catalog.scam_types.get(judged.scam_type or "", catalog.suspected_fraud)
    message = assessment(scam, judged.level, bank, directory)
    if judged.reasons:
        quoted = "\n".join("• " + say("reading.quoted", label=reason.label, quote=reason.quote)
                           for reason in judged.reasons)
        heading, rest = message["text"].split("\n\n", 1)
        extra = [say("reading.reasons") + "\n" + quoted]
        if judged.level == "medium":
            extra.append(say("reading.medium_verify"))
        message["text"] = "\n\n".join([heading, *extra, rest])
    message["json_message"]["reasons"] = _payload_reasons(judged.reasons)
    return message


def genuine_notice(judged: Verdict, bank: Bank, directory: Directory) -> Message:
    """Looks like a genuine notice, with why; never "safe": verify only through the
    official app or a number dialled oneself, never the message's own number or link."""
    signs = ["• " + (say("reading.quoted", label=sign.label, quote=sign.quote) if sign.quote
                     else sign.label) for sign in judged.genuine_signs]
    why = [say("reading.genuine_why") + "\n" + "\n".join(signs)] if signs else []
    hotlines = [bank.hotline, "96110"]
    text = "\n\n".join([say("reading.genuine"), *why, say("reading.still_verify"),
                        dial_yourself(hotlines, directory)])
    payload = {
        "type": "scam_assessment",
        "scam_type": None,
        "risk": "low",
        "hotlines": hotlines,
        "reasons": [],
        "genuine_signs": [{"sign": sign.id, "label": sign.label, "quote": sign.quote}
                          for sign in judged.genuine_signs],
    }
    return {"text": text, "buttons": next_step_buttons(), "json_message": payload}


def _payload_reasons(reasons: Sequence[Reason]) -> List[Dict[str, str]]:
    """`reasons` of the payload: each flag with the customer's own words that show it
    (and the sentence the widget shows for it)."""
    return [{"flag": reason.flag, "quote": reason.quote, "label": reason.label}
            for reason in reasons]
