"""Reply builders, and the rule that the assistant never says a number it cannot vouch for."""

import pytest
from string import Formatter


from core import replies
from core.catalog import RISK_LEVELS, load_catalog
from core.directory import official_directory
from core.links import check_link, official_domains
from core.numbers import assess_number, unlisted_numbers
from core.reader import read_message
from core.language import LANGUAGES, SIMPLIFIED, TRADITIONAL, to_traditional
from core.risk import load_english_risk_rules, load_risk_rules
from core.verdict import judge
from core.settings import Bank
from core.wording import load_english_wording, load_wording

BANKS = [Bank("工商银行", "95588", "ICBC"), Bank("建设银行", "95533")]
UNOFFICIAL = ["+0095588", "95588-123456", "00095588", "+86 955 88", "13800138000", "400-123-4567",
              "0731-12345678", "17012345678", "+85212345678", "1236600"]
LINKS = ["https://www.chinatax.gov.cn/", "http://chinatax-gov.cn.example.com/refund", "http://203.0.113.9/pay",
         "https://t.cn/A6x8Kq", "www.icbc-com.cn.vip/login", "https://chinatax.gov.cn@evil.example.top/"]


def every_message(domain, bank, language=SIMPLIFIED):
    """(label, message) for every reply the builders make for `bank` in `language`."""
    catalog = load_catalog()
    directory = official_directory(bank)
    for scam in catalog.scam_types.values():
        for risk in RISK_LEVELS:
            yield f"assessment {scam.id} {risk}", replies.assessment(scam, risk, bank, directory, language=language)
    for code_given in (False, True):
        yield "money_lost", replies.money_lost(catalog.money_lost, bank, directory, code_given, language)
    for number in [*directory, *UNOFFICIAL]:
        yield f"number_check {number}", replies.number_check(assess_number(number, directory), bank, language)
    yield "ask_for_number", replies.ask_for_number(language)
    domains = official_domains(bank, "icbc.com.cn")
    for link in [*LINKS, "https://www.icbc.com.cn/"]:
        yield f"link_check {link}", replies.link_check(check_link(link, domains), bank, language)
    yield "ask_for_link", replies.ask_for_link(language)
    seeds = [scam for scam in catalog.scam_types.values() if scam.seed_case]
    for scam in [*catalog.scam_types.values(), catalog.suspected_fraud]:
        yield f"next_steps {scam.id}", replies.next_steps(scam, bank, directory, language)
        yield f"how_to_verify {scam.id}", replies.how_to_verify(scam, bank, directory, language)
        yield f"why_scam {scam.id}", replies.why_scam(scam, language)
        yield f"real_case {scam.id}", replies.real_case(scam, seeds, language)
        yield f"share_warning {scam.id}", replies.share_warning(scam, bank, language)
    for risk in RISK_LEVELS:
        yield f"assessment suspected_fraud {risk}", replies.assessment(
            catalog.suspected_fraud, risk, bank, directory, reasons=load_all_reasons(language),
            language=language)
    for text, intent in READ_MESSAGES:
        judged = judge(read_message(text, bank, ""), [{"name": intent, "confidence": 0.9}])
        yield f"verdict {judged.level} {intent}", replies.verdict(judged, bank, directory, language)
    for reference in ("FZ-ABCDEF", None):
        yield "handoff", replies.handoff(bank, BRANCH_HOURS[language], reference, language)
    yield "atm_alert", replies.atm_alert(bank, "ATM-0001", language)
    for key in ("greet", "goodbye", "acknowledge", "bot_challenge", "bank_question", "out_of_scope"):
        yield key, replies.plain(key, bank, language)
    yield "not_understood", replies.not_understood(bank, language)
    for slot in ("claimed_identity", "requested_action", "money_gone"):
        yield f"clarify {slot}", replies.clarify_question(slot, language)
    yield "safe_reply", {"text": replies.safe_reply(bank, language)}
    yield "buttons", {"text": "", "buttons": [
        *replies.next_step_buttons(language), *replies.after_loss_buttons(language),
        *replies.follow_up_buttons(language), *replies.atm_buttons(language)]}


BRANCH_HOURS = {SIMPLIFIED: "工作日九点到五点", TRADITIONAL: "工作日九点到五点", "en": "weekdays 9 to 5"}


def shown_words(message):
    """Every text of a message the customer reads: its text, its buttons' titles, and the
    payload's words (steps, names, labels, owners, the share text)."""
    yield message.get("text") or ""
    for button in message.get("buttons") or []:
        yield button["title"]
    payload = message.get("json_message") or {}
    for key in ("scam_name", "owner", "text"):
        if isinstance(payload.get(key), str):
            yield payload[key]
    yield from payload.get("steps") or []
    for item in [*(payload.get("reasons") or []), *(payload.get("genuine_signs") or [])]:
        yield item["label"]


def every_reply(domain, bank, language=SIMPLIFIED):
    """(label, text) for everything the assistant can say when run for `bank`."""
    yield from every_sentence(bank, language=language)
    for label, message in every_message(domain, bank, language):
        for text in shown_words(message):
            yield label, text


SAMPLE_FIELDS = {"number": "12366", "owner": "国家税务总局纳税服务热线", "host": "www.chinatax.gov.cn",
                 "scam_name": "冒充税务局退税诈骗", "verdict": "……", "how_it_goes": "……",
                 "agencies": "12366（国家税务总局纳税服务热线）", "reference": "FZ-ABCDEF",
                 "branch_hours": "工作日九点到五点", "seconds": "3", "choice": "1", "title": "转人工",
                 "atm_id": "ATM-CY", "location": "朝阳支行大厅", "label": "要您转账到指定账户",
                 "quote": "请把资金转到安全账户"}


def every_sentence(bank, section=None, key="", language=SIMPLIFIED):
    """(key, text) for every sentence of knowledge/replies.yml (or its English file), its
    fields filled in."""
    if section is None:
        section = load_english_wording() if language == "en" else load_wording()
    items = section.items() if isinstance(section, dict) else enumerate(section)
    for name, value in items:
        path = f"{key}.{name}" if key else str(name)
        if isinstance(value, (dict, list)):
            yield from every_sentence(bank, value, path, language)
        else:
            text = to_traditional(str(value)) if language == TRADITIONAL else str(value)
            fields = {field for _, field, _, _ in Formatter().parse(text) if field}
            yield path, say_text(text, bank, fields, language)


def say_text(text, bank, fields, language=SIMPLIFIED):
    name = bank.name_in(language)
    values = {"bank_name": to_traditional(name) if language == TRADITIONAL else name,
              "bank_hotline": bank.hotline, **SAMPLE_FIELDS}
    assert fields <= set(values), f"unknown fields {fields - set(values)} in {text!r}"
    return text.format(**values)


# Messages whose verdicts quote their own words (digits and links are masked in quotes).
READ_MESSAGES = [
    ("【国家税务总局】您有一笔退税3860元待领取，请于今日17:00前登录 http://tax-refund.cc 填写银行卡号和验证码，"
     "逾期作废。客服电话17012345678", "scam_tax_refund"),
    ("我是市公安局刑警，你的银行卡涉嫌洗钱，马上把钱转到安全账户，不许告诉家人，否则明天逮捕你",
     "nlu_fallback"),
    ("【工商银行】您正在进行手机银行登录，验证码为[验证码]，5分钟内有效，任何人索要都是诈骗。", "genuine_notice"),
    ("12366是税务局的电话吗？对方说我退税要先交手续费", "verify_number"),
]


def load_all_reasons(language=SIMPLIFIED):
    if language == "en":
        return list(load_english_risk_rules()["reasons"].values())
    return [rule.reason for rule in load_risk_rules().risk_rules]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("bank", BANKS, ids=lambda b: b.hotline)
def test_no_reply_contains_an_unlisted_number(domain, bank, language):
    """Official numbers are the same in every language, and every language's replies
    pass the directory check."""
    directory = official_directory(bank)
    checked = list(every_reply(domain, bank, language))
    assert len(checked) > 16 * 3

    unlisted = {label: unlisted_numbers(text, directory) for label, text in checked}
    assert {label: found for label, found in unlisted.items() if found} == {}
    assert [label for label, text in checked if "{" in text or "}" in text] == []


# --- the shape of each reply ------------------------------------------------------

BANK = BANKS[0]
DIRECTORY = official_directory(BANK)
CATALOG = load_catalog()


@pytest.mark.parametrize("risk, opening", [("high", "⚠️ 这是诈骗！"), ("medium", "⚠️ 这很可能是诈骗！"), ("low", "这有诈骗的可能")])
def test_assessment_opens_with_verdict_for_risk(risk, opening):
    scam = CATALOG.scam_types["tax_refund"]
    message = replies.assessment(scam, risk, BANK, DIRECTORY)
    assert message["text"].startswith(opening)
    assert scam.name in message["text"].splitlines()[0]
    assert message["json_message"]["risk"] == risk


def test_assessment_lists_steps_in_order_then_hotlines():
    scam = CATALOG.scam_types["impersonate_police"]
    text = replies.assessment(scam, "high", BANK, DIRECTORY)["text"]
    positions = [text.index(f"{i}. {step}") for i, step in enumerate(scam.steps, start=1)]
    assert positions == sorted(positions)
    assert text.index("📞 110 公安报警电话") > positions[-1]


def test_money_lost_starts_with_calm_verdict_and_keeps_buttons():
    message = replies.money_lost(CATALOG.money_lost, BANK, DIRECTORY)
    assert message["text"].startswith(CATALOG.money_lost.verdict)
    assert "1. " in message["text"]
    assert [b["title"] for b in message["buttons"]] == ["转人工", "核实一个电话号码"]
    assert message["json_message"]["hotlines"] == ["110", "96110", "95588"]


def test_number_check_official_names_owner():
    message = replies.number_check(assess_number("12333", DIRECTORY), BANK)
    assert "12333 是人力资源和社会保障服务热线的官方号码" in message["text"]
    assert "来电显示可以伪造" in message["text"]
    assert message["json_message"] == {
        "type": "number_check", "number": "12333", "official": True, "owner": "人力资源和社会保障服务热线",
        "patterns": ["caller_id_spoofable"],
    }


def test_number_check_unofficial_points_to_bank_and_96110():
    message = replies.number_check(assess_number("13800138000", DIRECTORY), BANKS[1])
    assert "13800138000" not in message["text"]
    assert "建设银行客服热线 95533" in message["text"] and "96110" in message["text"]
    assert message["json_message"]["official"] is False


def test_ask_for_number_has_no_payload():
    assert set(replies.ask_for_number()) == {"text"}


@pytest.mark.parametrize("number, pattern", [("+0095588", "international"), ("95588-123456", "hotline_with_extras"),
                                             ("17012345678", "virtual_operator")])
def test_number_check_unofficial_says_which_pattern(number, pattern):
    verdict = assess_number(number, DIRECTORY)
    message = replies.number_check(verdict, BANK)
    assert pattern in message["json_message"]["patterns"]
    assert all(reason in message["text"] for reason in verdict.reasons)
    assert verdict.number not in message["text"]
