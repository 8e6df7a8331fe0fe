"""Issue 17: the customer's language. Its detection, the English files beside the Chinese
ones (the same keys), the form's answers in every script, and every reply in Simplified,
Traditional and English: English replies hold no Chinese but the names in the directory
and the customer's own quoted words, Traditional replies no Simplified-only character."""

import re

import pytest
import yaml

from core import KNOWLEDGE, RULES, replies
from core.catalog import load_catalog
from core.directory import official_directory
from core.language import (
    ENGLISH, LANGUAGES, SIMPLIFIED, TRADITIONAL, LanguageMemory, detect, reply_language,
    script, simplified_only, to_traditional, to_traditional_keeping,
)
from core.reader import read_message
from core.risk import SKIP, load_risk_rules, match_option
from core.text import normalise
from core.verdict import judge
from core.wording import entry, say, say_each
from tests.core.test_replies import BANKS, every_message, shown_words

CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


# --- detecting the language -------------------------------------------------------


@pytest.mark.parametrize("text, language", [
    ("Someone called saying they are from the police and I must transfer money to a safe account", ENGLISH),
    ("My mother got a call from 公安局 saying she must pay a fine", ENGLISH),
    ("有人打電話說是警察，叫我把錢轉到安全賬戶", TRADITIONAL),
    ("這是詐騙嗎", TRADITIONAL),
    ("有人打电话说是警察，叫我把钱转到安全账户", SIMPLIFIED),
    ("【工商银行】您的验证码为123456", SIMPLIFIED),
    ("转账到USDT钱包", SIMPLIFIED),
    ("hello", ENGLISH),
    ("police", ENGLISH),
])
def test_a_message_shows_its_script(text, language):
    assert detect(text) == language
    assert detect(text, previous=ENGLISH if language != ENGLISH else TRADITIONAL) == language


@pytest.mark.parametrize("text", [
    "ok", "1", "no", "ATM", "95588", "/money_lost", '/ask_real_case{"scam_type": "tax_refund"}',
    "👍", "", "   ", "http://icbc-95588.com/login", "www.icbc.com.cn", "a@b.cn",
])
def test_a_neutral_message_keeps_the_previous_language(text):
    assert script(text) is None
    assert detect(text) is None
    for previous in LANGUAGES:
        assert detect(text, previous) == previous
    assert reply_language(text) == SIMPLIFIED


@pytest.mark.parametrize("text", ["是的", "好", "不知道", "110"])
def test_chinese_of_either_script_keeps_a_chinese_language(text):
    assert detect(text, TRADITIONAL) == (TRADITIONAL if CHINESE.search(text) else TRADITIONAL)
    assert detect(text, SIMPLIFIED) == SIMPLIFIED
    if CHINESE.search(text):
        assert detect(text, ENGLISH) == SIMPLIFIED  # they wrote Chinese: not English any more


def test_detection_is_cheap_on_a_long_message():
    import time

    long_message = "有人打電話說是警察，叫我把錢轉到安全賬戶。" * 100
    started = time.perf_counter()
    for _ in range(20):
        assert detect(long_message) == TRADITIONAL
    assert (time.perf_counter() - started) / 20 < 0.02


def test_memory_keeps_each_conversation_and_is_bounded():
    memory = LanguageMemory(size=2)
    assert memory.hear("a", "Hello there, is this a scam?") == ENGLISH
    assert memory.hear("a", "1") == ENGLISH
    assert memory.hear("b", "這是詐騙嗎") == TRADITIONAL
    assert memory.hear("c", "ok") == SIMPLIFIED
    assert memory.last("a") == SIMPLIFIED  # forgotten: the oldest of three, size two
    assert memory.last("b") == TRADITIONAL


def test_traditional_keeps_the_customers_quote_as_typed():
    said = to_traditional_keeping("消息里这些话：“把钱转到这个账户”——对方要您转账", ["把钱转到这个账户"])
    assert said == "消息裡這些話：“把钱转到这个账户”——對方要您轉賬"
    assert to_traditional("Hello 110") == "Hello 110"


# --- the English files have the Chinese files' keys ------------------------------------


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _shape(node):
    """Keys and list lengths, not the words."""
    if isinstance(node, dict):
        return {key: _shape(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_shape(item) for item in node]
    return "text"


def test_replies_en_has_the_keys_of_replies():
    assert _shape(_load(KNOWLEDGE / "replies.en.yml")) == _shape(_load(KNOWLEDGE / "replies.yml"))


def test_catalog_en_says_every_type_with_as_many_flags_and_steps():
    chinese, english = _load(KNOWLEDGE / "catalog.yml"), _load(KNOWLEDGE / "catalog.en.yml")
    assert set(english["scam_types"]) == set(chinese["scam_types"])
    words = ("name", "verdict", "how_it_goes", "red_flags", "steps", "seed_case")
    for scam_id, entry_zh in [*chinese["scam_types"].items(), ("suspected_fraud", chinese["suspected_fraud"])]:
        entry_en = english["scam_types"].get(scam_id) or english["suspected_fraud"]
        assert set(entry_en) == {key for key in words if key in entry_zh}, scam_id
        assert len(entry_en["red_flags"]) == len(entry_zh["red_flags"]), scam_id
        assert len(entry_en["steps"]) == len(entry_zh["steps"]), scam_id
    for key in ("steps", "code_given_steps"):
        assert len(english["money_lost"][key]) == len(chinese["money_lost"][key])


def test_directory_en_names_every_number_and_domain():
    numbers = _load(KNOWLEDGE / "official_numbers.yml")
    english = _load(KNOWLEDGE / "official_numbers.en.yml")
    assert set(english["numbers"]) == {str(n["number"]) for n in numbers["numbers"]}
    assert all(set(e) == {"owner", "purpose"} for e in english["numbers"].values())
    assert set(english["bank_hotline"]) == set(numbers["bank_hotline"])
    domains = _load(KNOWLEDGE / "official_domains.yml")
    assert set(_load(KNOWLEDGE / "official_domains.en.yml")["domains"]) == {
        d["domain"] for d in domains["domains"]}


@pytest.mark.parametrize("name, section", [
    ("number_rules", "reasons"), ("link_rules", "reasons"), ("red_flags", "flags"),
])
def test_rule_texts_en_have_the_rules_keys(name, section):
    assert set(_load(RULES / f"{name}.en.yml")[section]) == set(_load(RULES / f"{name}.yml")[section])


def test_genuine_sign_labels_en_cover_every_sign():
    from core.reader import SIGN_IDS

    assert set(_load(RULES / "genuine_signs.en.yml")["signs"]) == set(SIGN_IDS)


def test_risk_rules_en_gives_every_rule_a_reason():
    english = _load(RULES / "risk_rules.en.yml")
    rules = load_risk_rules().risk_rules
    assert len({rule.id for rule in rules}) == len(rules)
    assert set(english["reasons"]) == {rule.id for rule in rules}


# --- the form's answers in every script ------------------------------------------------


@pytest.mark.parametrize("slot", ["claimed_identity", "requested_action", "money_gone"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_button_of_the_form_means_the_same_option_in_every_language(slot, language):
    chinese = say_each(f"clarify.{slot}.options")
    for position, button in enumerate(replies.clarify_question(slot, language)["buttons"]):
        if button["payload"].startswith("/"):
            continue  # "already gone" is the emergency
        assert match_option(slot, normalise(button["payload"])) == match_option(slot, chinese[position])
        assert match_option(slot, normalise(button["payload"])) is not None, button


@pytest.mark.parametrize("slot, answer, option", [
    ("claimed_identity", "police", "公检法"),
    ("claimed_identity", "He said he was a police officer", "公检法"),
    ("claimed_identity", "tax", "税务"),
    ("claimed_identity", "the tax office", "税务"),
    ("claimed_identity", "I don't know", SKIP),
    ("claimed_identity", "I don’t know", SKIP),
    ("claimed_identity", "my boss", "亲友或领导"),
    ("claimed_identity", "someone I met online", "网上认识的人"),
    ("claimed_identity", "公檢法", "公检法"),
    ("requested_action", "transfer money", "转账汇款"),
    ("requested_action", "he wanted the code", "告诉验证码或密码"),
    ("requested_action", "install an app", "下载APP或共享屏幕"),
    ("requested_action", "not sure", SKIP),
    ("money_gone", "no", False),
    ("money_gone", "No, not yet", False),
    ("money_gone", "I haven't sent anything", False),
    ("money_gone", "yes", True),
    ("money_gone", "I know", None),  # "no" is not in "know"
    ("money_gone", "還沒有", False),
])
def test_english_and_traditional_answers_map_to_options(slot, answer, option):
    assert match_option(slot, normalise(answer)) == option


# --- every reply in every script -------------------------------------------------------


def _without_quotes(text, message):
    """`text` without the customer's own words the message quotes."""
    payload = message.get("json_message") or {}
    items = [*(payload.get("reasons") or []), *(payload.get("genuine_signs") or [])]
    for quote in sorted({item["quote"] for item in items if item.get("quote")}, key=len, reverse=True):
        text = text.replace(quote, "")
    return text


def test_the_link_mark_in_quotes_is_the_readers():
    from core.reader import LINK_PLACEHOLDER

    assert say("link_placeholder") == LINK_PLACEHOLDER


@pytest.mark.parametrize("bank", BANKS, ids=lambda b: b.hotline)
def test_english_replies_hold_no_chinese_but_directory_names_and_quotes(domain, bank):
    names = {bank.name, *(entry.owner for entry in official_directory(bank).values())}
    found = {}
    for label, message in every_message(domain, bank, ENGLISH):
        for text in shown_words(message):
            text = _without_quotes(text, message)
            for name in names:
                text = text.replace(name, "")
            if CHINESE.search(text):
                found[label] = text
    assert found == {}


@pytest.mark.parametrize("bank", BANKS, ids=lambda b: b.hotline)
def test_traditional_replies_hold_no_simplified_only_character(domain, bank):
    found = {}
    for label, message in every_message(domain, bank, TRADITIONAL):
        for text in shown_words(message):
            left = simplified_only(_without_quotes(text, message))
            if left:
                found[label] = left
    assert found == {}


def test_the_bank_name_is_english_where_configured(domain):
    icbc, ccb = BANKS
    assert "ICBC" in replies.plain("greet", icbc, ENGLISH)["text"]
    assert "工商银行" not in replies.plain("greet", icbc, ENGLISH)["text"]
    assert "工商銀行" in replies.plain("greet", icbc, TRADITIONAL)["text"]
    # No English name configured: the Chinese name, as the directory writes it.
    assert "建设银行" in replies.plain("greet", ccb, ENGLISH)["text"]


# --- each reply path, in the three scripts ---------------------------------------------

BANK = BANKS[0]
DIRECTORY = official_directory(BANK)
CATALOG = load_catalog()
OPENINGS = {
    SIMPLIFIED: {"high": "⚠️ 这是诈骗！", "medium": "⚠️ 这很可能是诈骗！", "low": "这有诈骗的可能"},
    TRADITIONAL: {"high": "⚠️ 這是詐騙！", "medium": "⚠️ 這很可能是詐騙！", "low": "這有詐騙的可能"},
    ENGLISH: {"high": "⚠️ This is a scam!", "medium": "⚠️ This is very likely a scam!",
              "low": "This could be a scam."},
}
POLICE_NAME = {SIMPLIFIED: "冒充公检法诈骗", TRADITIONAL: "冒充公檢法詐騙", ENGLISH: "Police impersonation scam"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("risk", ["high", "medium", "low"])
def test_assessment_at_each_level(language, risk):
    scam = CATALOG.scam_types["impersonate_police"]
    message = replies.assessment(scam, risk, BANK, DIRECTORY, language=language)
    assert message["text"].startswith(OPENINGS[language][risk])
    assert POLICE_NAME[language] in message["text"].splitlines()[0]
    payload = message["json_message"]
    assert payload["scam_type"] == "impersonate_police" and payload["risk"] == risk
    assert payload["scam_name"] == POLICE_NAME[language]
    assert payload["steps"] == list(load_catalog(language).scam_types["impersonate_police"].steps)
    assert payload["hotlines"] == ["110", "96110"]
    assert [b["payload"] for b in message["buttons"]] == ["/money_lost", "/verify_number", "/human_handoff"]
    assert [b["title"] for b in message["buttons"]] == [
        say(f"buttons.{i}", language=language) for i in ("money_lost", "verify_number", "human_handoff")]


SCAM_SMS = "我是市公安局刑警，你的银行卡涉嫌洗钱，马上把钱转到安全账户，不许告诉家人，否则明天逮捕你"
SCAM_SMS_TW = "我是市公安局刑警，你的銀行卡涉嫌洗錢，馬上把錢轉到安全賬戶，不許告訴家人，否則明天逮捕你"
SCAM_EN = ("This is the police. Your bank account is involved in money laundering. Transfer your "
           "savings to a safe account now and do not tell your family, or you will be arrested.")


@pytest.mark.parametrize("language, text", [(SIMPLIFIED, SCAM_SMS), (TRADITIONAL, SCAM_SMS_TW), (ENGLISH, SCAM_EN)])
def test_a_read_message_is_judged_with_its_own_words_quoted(language, text):
    judged = judge(read_message(text, BANK, ""), [{"name": "nlu_fallback", "confidence": 0.9}])
    assert judged.level in ("high", "medium") and judged.reasons
    message = replies.verdict(judged, BANK, DIRECTORY, language)
    for reason in judged.reasons:
        assert f"“{reason.quote}”" in message["text"]  # as typed, in whatever script
        assert reason.quote in text
    heading = say("reading.reasons", language=language)
    assert (to_traditional(heading) if language == TRADITIONAL else heading) in message["text"] or \
        say("reading.reasons", language=language) in message["text"]
    labels = [reason["label"] for reason in message["json_message"]["reasons"]]
    if language == ENGLISH:
        assert not any(CHINESE.search(label) for label in labels)
    if language == TRADITIONAL:
        assert not any(simplified_only(label) for label in labels)


@pytest.mark.parametrize("language", LANGUAGES)
def test_genuine_notice_in_each_language(language):
    notice = "【工商银行】您正在进行手机银行登录，验证码为[验证码]，5分钟内有效，任何人索要都是诈骗。"
    judged = judge(read_message(notice, BANK, ""), [{"name": "genuine_notice", "confidence": 0.9}])
    message = replies.verdict(judged, BANK, DIRECTORY, language)
    assert judged.level == "low"
    assert message["text"].startswith(say("reading.genuine", language=language))
    assert "【工商银行】" in message["text"]  # the sender as the message wrote it
    assert message["json_message"]["scam_type"] is None


@pytest.mark.parametrize("language, words", [
    (SIMPLIFIED, ["钱已经转出去了", "冻结"]), (TRADITIONAL, ["錢已經轉出去了", "凍結"]),
    (ENGLISH, ["Stay calm", "freeze your card"]),
])
def test_emergency_in_each_language(language, words):
    message = replies.money_lost(CATALOG.money_lost, BANK, DIRECTORY, code_given=True, language=language)
    for word in words[1:]:
        assert word in message["text"]
    assert message["text"].startswith(load_catalog(language).money_lost.verdict)
    assert message["json_message"]["hotlines"] == ["110", "96110", "95588"]
    assert message["json_message"]["steps"][0] == load_catalog(language).money_lost.code_given_steps[0]


@pytest.mark.parametrize("text", ["I gave them the code", "告诉了验证码", "告訴了驗證碼", "my PIN"])
def test_a_code_given_is_heard_in_every_language(text):
    assert replies.code_was_given(CATALOG.money_lost, normalise(text))


def test_shopping_is_not_a_pin():
    assert not replies.code_was_given(CATALOG.money_lost, "I was shopping online")


@pytest.mark.parametrize("language, official, unofficial", [
    (SIMPLIFIED, "12366 是国家税务总局纳税服务热线的官方号码", "不在官方号码名单里"),
    (TRADITIONAL, "12366 是國家稅務總局納稅服務熱線的官方號碼", "不在官方號碼名單裡"),
    (ENGLISH, "12366 is the official number of the State Taxation Administration taxpayer service line",
     "not on the list of official numbers"),
])
def test_number_check_in_each_language(language, official, unofficial):
    from core.numbers import assess_number

    said = replies.number_check(assess_number("12366", DIRECTORY), BANK, language)
    assert official in said["text"]
    suspicious = replies.number_check(assess_number("+0095588", DIRECTORY), BANK, language)
    assert unofficial in suspicious["text"] and "+0095588" not in suspicious["text"]
    assert suspicious["json_message"]["patterns"] == ["international", "hotline_with_extras"]
    if language == ENGLISH:
        assert "international call" in suspicious["text"] and "95588" in suspicious["text"]


@pytest.mark.parametrize("language, official, lookalike", [
    (SIMPLIFIED, "这是国家税务总局的官方网站", "模仿国家税务总局的官方网址"),
    (TRADITIONAL, "這是國家稅務總局的官方網站", "模仿國家稅務總局的官方網址"),
    (ENGLISH, "This is the official website of the State Taxation Administration",
     "imitates the official website of the State Taxation Administration"),
])
def test_link_check_in_each_language(language, official, lookalike):
    from core.links import check_link, official_domains

    domains = official_domains(BANK, "icbc.com.cn")
    said = replies.link_check(check_link("https://www.chinatax.gov.cn/", domains), BANK, language)
    assert official in said["text"]
    fake = replies.link_check(check_link("http://chinatax-gov.cn.refund.top/", domains), BANK, language)
    assert lookalike in fake["text"] and "refund.top" not in fake["text"]
    bank_site = replies.link_check(check_link("https://www.icbc.com.cn/", domains), BANK, language)
    assert bank_site["json_message"]["owner"] == {SIMPLIFIED: "工商银行", TRADITIONAL: "工商銀行",
                                                  ENGLISH: "ICBC"}[language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_handoff_share_atm_fallback_and_safe_reply_in_each_language(language):
    handoff = replies.handoff(BANK, "工作日九点到五点", "FZ-ABCDEF", language)
    assert "FZ-ABCDEF" in handoff["text"] and "95588" in handoff["text"]
    share = replies.share_warning(CATALOG.scam_types["tax_refund"], BANK, language)
    assert share["json_message"]["text"] in share["text"]
    assert load_catalog(language).scam_types["tax_refund"].name in share["json_message"]["text"]
    atm = replies.atm_alert(BANK, "ATM-1", language)
    assert atm["text"].startswith(say("atm.stop", language=language)[:8])
    fallback = replies.not_understood(BANK, language)["text"]
    assert "110" in fallback and "95588" in fallback
    safe = replies.safe_reply(BANK, language)
    assert load_catalog(language).suspected_fraud.steps[0] in safe
    texts = [handoff["text"], share["text"], atm["text"], fallback, safe]
    if language == ENGLISH:
        assert not any(CHINESE.search(text.replace("工作日九点到五点", "")) for text in texts)
        assert "Please call ICBC on 95588" in handoff["text"]
    if language == TRADITIONAL:
        assert not any(simplified_only(text) for text in texts)
        assert "工作日九點到五點" in handoff["text"]


def test_entry_is_read_from_the_english_file():
    assert entry("buttons.human_handoff", ENGLISH) == "Talk to a person"
    assert entry("buttons.human_handoff") == "转人工"


def test_a_quote_of_the_normalised_text_is_found_as_typed():
    from core.language import as_typed

    typed = "有人打電話說是公安局的，說我涉嫌洗錢，要我把錢轉到安全賬戶 http://abc.top/x 客服電話 13800138000"
    assert as_typed("要我把钱转到安全账户", typed) == "要我把錢轉到安全賬戶"
    assert as_typed("说我涉嫌洗钱,要我", typed) == "說我涉嫌洗錢，要我"  # NFKC turned ， into ,
    # The reader's marks for a link and digits stay: they are never repeated.
    assert as_typed("安全账户 [链接] 客服电话××××", typed) == "安全賬戶 [链接] 客服電話××××"
    assert as_typed("没有这句话", typed) == "没有这句话"
