"""Builds every reply: plain functions from catalog entries and knowledge/replies.yml to
messages. The actions send them; the channels use the safe reply and their own few.

A message is a dict of `dispatcher.utter_message` keyword arguments: `text`, and where
useful `buttons` and `json_message` (the custom payload the widget and WeChat read).

Every builder takes the reply's `language` (core/language.py: "zh-Hans", the default,
"zh-Hant" or "en") and says everything in it, the buttons' titles and the payload's
words (steps, scam_name, labels, owners, the share text) included. It fetches the
catalog entry and the directory in that language itself, so callers pass the same
Simplified objects as before. Payload ids (scam_type, flags, numbers, button payloads)
stay language-neutral, and the customer's own words, quoted, stay as typed.
"""

import re
from typing import Dict, List, Optional, Sequence

from core import rule_wording
from core.catalog import SUSPECTED_FRAUD, MoneyLostGuidance, ScamType, load_catalog
from core.directory import OfficialNumber, official_directory, resolve_hotlines
from core.language import SIMPLIFIED, TRADITIONAL, to_traditional, to_traditional_keeping
from core.links import LinkVerdict
from core.numbers import NumberVerdict
from core.reader import LINK_PLACEHOLDER
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
def next_step_buttons(language: str = SIMPLIFIED) -> Buttons:
    return [button(intent, language) for intent in ("money_lost", "verify_number", "human_handoff")]


def after_loss_buttons(language: str = SIMPLIFIED) -> Buttons:
    return [button("human_handoff", language), button("verify_number", language)]


def follow_up_buttons(language: str = SIMPLIFIED) -> Buttons:
    return [button(intent, language) for intent in ("ask_why_scam", "ask_how_to_verify", "share_warning")]


def atm_buttons(language: str = SIMPLIFIED) -> Buttons:
    not_operating = {"title": say("buttons.atm_not_operating", language=language), "payload": "/report_vague"}
    return [button("money_lost", language), not_operating, button("human_handoff", language)]


def numbered(steps: Sequence[str]) -> str:
    return "\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1))


def dial_yourself(numbers: Sequence[str], directory: Directory, language: str = SIMPLIFIED) -> str:
    lines = [say("dial_line", number=number, owner=directory[number].owner, language=language)
             for number in numbers]
    return say("dial_yourself", language=language) + "\n" + "\n".join(lines)


def _do_now(steps: Sequence[str], language: str = SIMPLIFIED) -> str:
    return say("do_now", language=language) + "\n" + numbered(steps)


def _scam_in(scam: ScamType, language: str) -> ScamType:
    """The same catalog entry in `language` (an entry not in the catalog as it is)."""
    if language == SIMPLIFIED:
        return scam
    catalog = load_catalog(language)
    if scam.id == SUSPECTED_FRAUD:
        return catalog.suspected_fraud
    return catalog.scam_types.get(scam.id, scam)


def _directory_in(directory: Directory, bank: Bank, language: str) -> Directory:
    """The directory with its owners in `language` (the one given for Simplified)."""
    return directory if language == SIMPLIFIED else official_directory(bank, language)


def _chinese_in(text: str, language: str) -> str:
    """A Simplified sentence of the rules for a Chinese reply (English ones come as they are)."""
    return to_traditional(text) if language == TRADITIONAL else text


def assessment(
    scam: ScamType, risk: str, bank: Bank, directory: Directory, reasons: Sequence[str] = (),
    language: str = SIMPLIFIED,
) -> Message:
    """Verdict first, then the steps, then the numbers to dial; payload for the UI.

    `reasons` (from the clarifying answers, in `language` or Simplified) say why, right
    under the verdict.
    """
    scam = _scam_in(scam, language)
    directory = _directory_in(directory, bank, language)
    hotlines = resolve_hotlines(scam.hotlines, bank)
    named = say("verdict_named", verdict=say(f"verdict_by_risk.{risk}", language=language),
                scam_name=scam.name, language=language)
    verdict = f"{named}\n{scam.verdict}"
    if reasons:
        verdict += "\n" + "\n".join(f"• {_chinese_in(reason, language)}" for reason in reasons)
    text = "\n\n".join([verdict, _do_now(scam.steps, language), dial_yourself(hotlines, directory, language)])
    payload = {
        "type": "scam_assessment",
        "scam_type": scam.id,
        "risk": risk,
        "hotlines": hotlines,
        "scam_name": scam.name,
        "steps": list(scam.steps),
    }
    return {"text": text, "buttons": next_step_buttons(language), "json_message": payload}


def code_was_given(guidance: MoneyLostGuidance, text: str) -> bool:
    """Whether the customer's words say a code or password went too (Latin-letter words
    as whole words: "pin" is not in "shopping")."""
    lowered = text.lower()
    return any(
        re.search(rf"(?<![a-z]){re.escape(word.lower())}(?![a-z])", lowered) if word.isascii()
        else word.lower() in lowered
        for word in guidance.code_given_words
    )


def money_lost(
    guidance: MoneyLostGuidance, bank: Bank, directory: Directory, code_given: bool = False,
    language: str = SIMPLIFIED,
) -> Message:
    """What to do in the next minutes once money or a code has gone."""
    if language != SIMPLIFIED:
        guidance = load_catalog(language).money_lost
    directory = _directory_in(directory, bank, language)
    hotlines = resolve_hotlines(guidance.hotlines, bank)
    steps = (guidance.code_given_steps if code_given else ()) + guidance.steps
    text = "\n\n".join([guidance.verdict, numbered(steps), dial_yourself(hotlines, directory, language)])
    payload = {"type": "emergency", "hotlines": hotlines, "steps": list(steps)}
    return {"text": text, "buttons": after_loss_buttons(language), "json_message": payload}


def number_check(verdict: NumberVerdict, bank: Bank, language: str = SIMPLIFIED) -> Message:
    """Whose number it is, or that it is not official and why, without repeating an
    unknown number."""
    owner = verdict.owner
    if verdict.official and language != SIMPLIFIED:
        owner = official_directory(bank, language)[verdict.official_number].owner
    if verdict.official:
        text = say("number.official", number=verdict.official_number, owner=owner, language=language)
    else:
        reasons = "".join(f"\n• {_chinese_in(reason, language)}"
                          for reason in rule_wording.number_reasons(verdict, language))
        text = (say("number.unofficial", language=language) + reasons + "\n"
                + say("number.unofficial_next", bank, language))
    payload = {
        "type": "number_check",
        "number": verdict.number,
        "official": verdict.official,
        "owner": owner,
        "patterns": list(verdict.patterns),
    }
    return {"text": text, "json_message": payload}


def link_check(verdict: LinkVerdict, bank: Bank, language: str = SIMPLIFIED) -> Message:
    """An official site by name, or why not; an unofficial link is never repeated."""
    owner = _chinese_in(rule_wording.link_owner(verdict, bank, language), language) if verdict.official else ""
    if verdict.official:
        text = say("link.official", owner=owner, host=verdict.host, language=language)
    else:
        reasons = "\n".join(f"• {_chinese_in(reason, language)}"
                            for reason in rule_wording.link_reasons(verdict, bank, language))
        text = (
            say(f"link.verdict_by_risk.{verdict.risk}", language=language)
            + ("\n" + reasons if reasons else "")
            + "\n\n" + say("link.next", bank, language)
        )
    payload = {
        "type": "link_check",
        "url": verdict.url,
        "host": verdict.host,
        "official": verdict.official,
        "owner": owner,
        "risk": verdict.risk,
        "patterns": list(verdict.patterns),
    }
    return {"text": text, "json_message": payload}


def ask_for_link(language: str = SIMPLIFIED) -> Message:
    return {"text": say("link.ask", language=language)}


def ask_for_number(language: str = SIMPLIFIED) -> Message:
    return {"text": say("number.ask", language=language)}


def next_steps(scam: ScamType, bank: Bank, directory: Directory, language: str = SIMPLIFIED) -> Message:
    scam, directory = _scam_in(scam, language), _directory_in(directory, bank, language)
    hotlines = resolve_hotlines(scam.hotlines, bank)
    text = "\n\n".join([
        say("follow_up.next_steps", scam_name=scam.name, language=language) + "\n" + numbered(scam.steps),
        dial_yourself(hotlines, directory, language),
    ])
    return {"text": text, "buttons": follow_up_buttons(language)}


def how_to_verify(scam: ScamType, bank: Bank, directory: Directory, language: str = SIMPLIFIED) -> Message:
    """Hang up, then dial the agency the caller claimed (or the bank) yourself."""
    scam, directory = _scam_in(scam, language), _directory_in(directory, bank, language)
    hotlines = resolve_hotlines(scam.hotlines, bank)
    agencies = [n for n in hotlines if n not in REPORTING_LINES] or [bank.hotline]
    dial = say("list_separator", language=language).join(
        say("follow_up.verify_agency", number=n, owner=directory[n].owner, language=language)
        for n in agencies)
    text = (
        say("follow_up.verify_heading", language=language) + "\n"
        + numbered(say_each("follow_up.verify_steps", language=language, agencies=dial))
        + "\n\n" + say("follow_up.caller_id_forged", language=language)
    )
    return {"text": text, "buttons": follow_up_buttons(language)}


def why_scam(scam: ScamType, language: str = SIMPLIFIED) -> Message:
    """The verdict's reasons: how it goes and the red flags in this story."""
    scam = _scam_in(scam, language)
    text = "\n\n".join([
        say("follow_up.why", scam_name=scam.name, verdict=scam.verdict, language=language),
        say("follow_up.how_it_goes", how_it_goes=scam.how_it_goes, language=language),
        say("follow_up.red_flags", language=language) + "\n"
        + "\n".join(f"• {flag}" for flag in scam.red_flags),
    ])
    return {"text": text, "buttons": follow_up_buttons(language)}


def real_case(scam: ScamType, seed_types: Sequence[ScamType], language: str = SIMPLIFIED) -> Message:
    """The matching branch case; other types get how it goes and the cases we have."""
    scam = _scam_in(scam, language)
    if scam.seed_case:
        text = say("follow_up.real_case", scam_name=scam.name, language=language) + "\n" + scam.seed_case
        return {"text": text, "buttons": follow_up_buttons(language)}
    text = (
        say("follow_up.no_real_case", scam_name=scam.name, how_it_goes=scam.how_it_goes, language=language)
        + "\n\n" + say("follow_up.seed_cases", language=language)
    )
    buttons = [{"title": _scam_in(seed, language).name,
                "payload": f"/ask_real_case{{\"scam_type\": \"{seed.id}\"}}"}
               for seed in seed_types]
    return {"text": text, "buttons": buttons}


def share_warning(scam: ScamType, bank: Bank, language: str = SIMPLIFIED) -> Message:
    """A short warning the customer can forward to family as it is."""
    scam = _scam_in(scam, language)
    warning = say("share.warning", bank, language, scam_name=scam.name,
                  how_it_goes=scam.how_it_goes, verdict=scam.verdict)
    text = say("share.intro", language=language) + "\n\n" + warning
    return {"text": text, "buttons": [button("human_handoff", language)],
            "json_message": {"type": "share_text", "text": warning}}


def handoff(bank: Bank, branch_hours: str, reference: Optional[str], language: str = SIMPLIFIED) -> Message:
    """The hotline and branch hours; the record's reference when it was written."""
    lines = [say("handoff.call", bank, language, branch_hours=_chinese_in(branch_hours, language))]
    if reference:
        lines.append(say("handoff.reference", reference=reference, language=language))
    lines.append(say("handoff.hang_up", language=language))
    payload = {"type": "handoff", "reference": reference, "hotlines": [bank.hotline]}
    return {"text": "\n".join(lines), "buttons": [button("verify_number", language)],
            "json_message": payload}


def atm_alert(bank: Bank, atm_id: Optional[str], language: str = SIMPLIFIED) -> Message:
    """The first message at an ATM: stop, take the card, hang up."""
    text = "\n\n".join([say("atm.stop", language=language), say("atm.always_scam", language=language),
                         say("money_gone_now", bank, language)])
    payload = {"type": "atm_alert", "atm_id": atm_id or None,
               "hotlines": ["110", "96110", bank.hotline]}
    return {"text": text, "buttons": atm_buttons(language), "json_message": payload}


def plain(key: str, bank: Bank, language: str = SIMPLIFIED) -> Message:
    """A sentence of knowledge/replies.yml on its own (greeting, goodbye, ...)."""
    return {"text": say(key, bank, language)}


def not_understood(bank: Bank, language: str = SIMPLIFIED) -> Message:
    """Ask again in a sentence or two; and if money is already gone, what to do first."""
    return {"text": say("not_understood", language=language) + say("money_gone_now", bank, language)}


def clarify_question(slot: str, language: str = SIMPLIFIED) -> Message:
    """One of the clarifying form's questions, its options as buttons (the payload is
    the option's own words in the reply's language: the form reads answers by their
    words, risk_rules.yml's and risk_rules.en.yml's)."""
    options = say_each(f"clarify.{slot}.options", language=language)
    buttons = [{"title": option, "payload": option} for option in options]
    if slot == "money_gone":  # "already gone" is the emergency itself, not an answer
        buttons[1]["payload"] = "/money_lost"
    return {"text": say(f"clarify.{slot}.question", language=language), "buttons": buttons}


def safe_reply(bank: Bank, language: str = SIMPLIFIED) -> str:
    """The general advice when the assistant cannot answer: hang up, no transfer, no
    codes, and only official numbers (the catalog's suspected-fraud advice)."""
    general = load_catalog(language).suspected_fraud
    return "\n".join([
        say("safe_reply.opening", language=language),
        numbered(general.steps),
        say("money_gone_now", bank, language),
        "",
        dial_yourself(resolve_hotlines(general.hotlines, bank), official_directory(bank, language), language),
    ])


def verdict(judged: Verdict, bank: Bank, directory: Directory, language: str = SIMPLIFIED) -> Message:
    """The assessment of a message the reader judged (core/verdict.py): high and medium
    name the type (or suspected fraud) and quote the message's own words as reasons;
    low says it looks like a genuine notice and still points to official channels only.
    The quotes are the customer's words as typed, in whatever language the reply is."""
    if judged.level == "low":
        return genuine_notice(judged, bank, directory, language)
    catalog = load_catalog()
    scam = catalog.scam_types.get(judged.scam_type or "", catalog.suspected_fraud)
    message = assessment(scam, judged.level, bank, directory, language=language)
    if judged.reasons:
        quoted = "\n".join("• " + say("reading.quoted", label=_flag_label(reason, language),
                                      quote=_quote(reason.quote, language), language=language)
                           for reason in judged.reasons)
        heading, rest = message["text"].split("\n\n", 1)
        extra = [say("reading.reasons", language=language) + "\n" + quoted]
        if judged.level == "medium":
            extra.append(say("reading.medium_verify", language=language))
        message["text"] = "\n\n".join([heading, *extra, rest])
    message["json_message"]["reasons"] = _payload_reasons(judged.reasons, language)
    return message


def _quote(quote: str, language: str) -> str:
    """The customer's words as typed; only the reader's mark for a link they held is said
    in the reply's language."""
    if LINK_PLACEHOLDER not in quote or language == SIMPLIFIED:
        return quote
    return quote.replace(LINK_PLACEHOLDER, say("link_placeholder", language=language))


def _flag_label(reason: Reason, language: str) -> str:
    return _chinese_in(rule_wording.flag_label(reason.flag, reason.label, language), language)


def _sign_label(sign, language: str) -> str:
    label = rule_wording.sign_label(sign.id, sign.label, language, sign.quote)
    # A label may name the customer's own words (the sender's signature): kept as typed.
    return to_traditional_keeping(label, [sign.quote]) if language == TRADITIONAL else label


def genuine_notice(judged: Verdict, bank: Bank, directory: Directory, language: str = SIMPLIFIED) -> Message:
    """Looks like a genuine notice, with why; never "safe": verify only through the
    official app or a number dialled oneself, never the message's own number or link."""
    directory = _directory_in(directory, bank, language)
    signs = ["• " + (say("reading.quoted", label=_sign_label(sign, language),
                         quote=_quote(sign.quote, language), language=language)
                     if sign.quote else _sign_label(sign, language))
             for sign in judged.genuine_signs]
    why = [say("reading.genuine_why", language=language) + "\n" + "\n".join(signs)] if signs else []
    hotlines = [bank.hotline, "96110"]
    text = "\n\n".join([say("reading.genuine", language=language), *why,
                        say("reading.still_verify", language=language),
                        dial_yourself(hotlines, directory, language)])
    payload = {
        "type": "scam_assessment",
        "scam_type": None,
        "risk": "low",
        "hotlines": hotlines,
        "reasons": [],
        "genuine_signs": [{"sign": sign.id, "label": _sign_label(sign, language),
                           "quote": _quote(sign.quote, language)}
                          for sign in judged.genuine_signs],
    }
    return {"text": text, "buttons": next_step_buttons(language), "json_message": payload}


def _payload_reasons(reasons: Sequence[Reason], language: str = SIMPLIFIED) -> List[Dict[str, str]]:
    """`reasons` of the payload: each flag with the customer's own words that show it
    (and the sentence the widget shows for it, in the reply's language)."""
    return [{"flag": reason.flag, "quote": _quote(reason.quote, language), "label": _flag_label(reason, language)}
            for reason in reasons]
