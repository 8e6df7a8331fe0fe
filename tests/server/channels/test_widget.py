"""Website widget channel (server/channels/widget.py) over HTTP against the real servers.

The page and assets (their words injected from knowledge/replies.yml), the webhook's
contract (the REST channel's, checked side by side, plus the masked text of a message
with secrets in it), the same input checks as REST, and CORS limited to
CHAT_ALLOWED_ORIGINS. The settings helpers, the widget's words and the masked-text note
are checked in-process. The widget in a real browser: test_widget_browser.py.
"""

import asyncio
import json
import re
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

import pytest

from core.directory import official_directory
from core.settings import Bank, parse_origins, settings
from core.wording import LANGUAGE, say
from server.guard.turns import TurnGuard, privacy_warning
from server.channels.widget import (
    CONFIG_PLACEHOLDER,
    FILLED_BY_THE_WIDGET,
    MASKED_INPUT,
    STATIC,
    WidgetInput,
    WidgetTurnGuard,
    widget_config,
    widget_script,
    widget_texts,
    with_masked_input,
)
from tests.e2e.servers import MODEL, free_port, running_assistant
ORIGINS_ENV = "CHAT_ALLOWED_ORIGINS"

# The bank's site. A loopback port, so that the browser tests can serve a page there:
# Chromium lets only a loopback page call the loopback assistant.
ALLOWED_ORIGIN = f"http://127.0.0.1:{free_port()}"
OTHER_ORIGIN = "http://other.example"
TAX_REFUND_STORY = "税务局说退税"
# A card number and an SMS code, and how the server stores (and the widget shows) them.
SECRET_MESSAGE = "我的卡号是6222021234567894，验证码384756"
MASKED_MESSAGE = "我的卡号是6222 **** **** 7894，验证码[验证码]"
CARD_NUMBER, SMS_CODE = "6222021234567894", "384756"
# The config object the server puts where widget.js has its placeholder.
_INJECTED_CONFIG = re.compile(r"\}\)\((\{.*\})\);\s*$", re.S)


def widget_servers(tmp_path_factory):
    """Both servers, the bank's site (ALLOWED_ORIGIN) allowed to embed the widget."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    return running_assistant(tmp_path_factory.mktemp("widget"), {ORIGINS_ENV: ALLOWED_ORIGIN})


@pytest.fixture(scope="module")
def widget_assistant(tmp_path_factory):
    with widget_servers(tmp_path_factory) as running:
        yield running


def http(
    url: str, method: str = "GET", body: Optional[bytes] = None, headers: Dict = None
) -> Tuple[int, Dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one request; no raise on 4xx."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            status, reply_headers, raw = reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, raw = error.code, error.headers, error.read()
    return status, {k.lower(): v for k, v in reply_headers.items()}, raw


def post_json(assistant, path: str, body, headers: Dict = None):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return http(
        assistant.rasa_url + path,
        "POST",
        raw,
        {"Content-Type": "application/json", **(headers or {})},
    )


def say_to_widget(assistant, sender: str, message: str, origin: Optional[str] = None):
    headers = {"Origin": origin} if origin else {}
    return post_json(assistant, "/chat/webhook", {"sender": sender, "message": message}, headers)


def preflight(assistant, origin: str):
    return http(
        assistant.rasa_url + "/chat/webhook",
        "OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def without_recipient(messages):
    return [{k: v for k, v in m.items() if k != "recipient_id"} for m in messages]


def masked_input_notes(messages) -> List[Dict]:
    return [m["custom"] for m in messages
            if isinstance(m.get("custom"), dict) and m["custom"].get("type") == MASKED_INPUT]


def secret_pieces() -> List[str]:
    """Every 4 digits in a row of the secrets, bar the card's first and last 4 (kept)."""
    pieces = {secret[i:i + 4] for secret in (CARD_NUMBER, SMS_CODE)
              for i in range(len(secret) - 3)}
    return sorted(pieces - {CARD_NUMBER[:4], CARD_NUMBER[-4:]})


# ---- page and assets -------------------------------------------------------------------


def test_demo_page_loads_the_widget_script(widget_assistant):
    status, headers, body = http(widget_assistant.rasa_url + "/chat")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    page = body.decode()
    assert '<script src="/chat/widget.js"' in page
    assert f'<html lang="{LANGUAGE}">' in page
    assert f"<title>{say('widget.page.title')}</title>" in page
    assert f"<p>{say('widget.page.intro')}</p>" in page
    assert not re.search(r"__[A-Z]+__", page)


def test_widget_script_is_served_with_the_bank_official_numbers_and_words(widget_assistant):
    status, headers, body = http(widget_assistant.rasa_url + "/chat/widget.js")
    assert status == 200
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    script = body.decode()
    assert CONFIG_PLACEHOLDER not in script
    config = json.loads(_INJECTED_CONFIG.search(script).group(1))
    bank = settings().bank
    assert (config["bankName"], config["bankHotline"]) == (bank.name, bank.hotline)
    assert set(config["officialNumbers"]) == set(official_directory(bank))
    assert config["language"] == LANGUAGE
    # Every language's words, by HTML lang tag: the widget follows the page, then the reply.
    assert config["texts"] == {"zh-CN": widget_texts(bank), "zh-TW": widget_texts(bank, "zh-Hant"),
                               "en": widget_texts(bank, "en")}
    assert config["officialNumbersByLanguage"]["en"]["110"] == "police emergency line"


def test_stylesheet_is_served_as_css(widget_assistant):
    status, headers, body = http(widget_assistant.rasa_url + "/chat/widget.css")
    assert status == 200
    assert headers["content-type"] == "text/css; charset=utf-8"
    assert b".fzw-panel" in body


def test_no_bank_number_is_written_into_the_widget_source():
    """The hotline comes from configuration only: another bank must not get ICBC's."""
    for name in ("widget.js", "widget.css", "index.html"):
        assert "95588" not in (STATIC / name).read_text(encoding="utf-8"), name


def _code_of(script: str) -> str:
    """widget.js without its comments (none of its strings holds "//" or "/*")."""
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", script, flags=re.S))


def test_the_widget_source_has_no_words_of_its_own():
    """Every word it shows comes from knowledge/replies.yml: the code is plain ASCII."""
    code = _code_of((STATIC / "widget.js").read_text(encoding="utf-8"))
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"[^\x00-\x7f]+", code) == []
    assert re.findall(r"[^\x00-\x7f]+", page) == []


def _names_in(texts) -> set:
    if isinstance(texts, dict):
        return set(texts).union(*(_names_in(value) for value in texts.values()))
    return set()


def test_the_widget_reads_every_word_it_is_given_and_only_those():
    """texts.<name> (and words.<name>, a card's own section) in widget.js are the keys of
    widget_texts, and every key is read somewhere."""
    code = _code_of((STATIC / "widget.js").read_text(encoding="utf-8"))
    read = set(re.findall(r"\b(?:texts|words)\.(\w+)(?:\.(\w+))?", code))
    given = widget_texts(settings().bank)
    read_names = {name for pair in read for name in pair if name}
    assert read_names - _names_in(given) == set()
    assert _names_in(given) - read_names - {"high", "medium", "low"} == set()  # by risk


def test_the_widget_words_are_filled_in_but_for_what_the_widget_fills():
    bank = Bank("测试银行", "95599")
    texts = widget_texts(bank)
    assert texts["title"] == "测试银行反诈助手"
    assert texts["greeting"].startswith(say("greet", bank) + "\n")
    assert texts["offline"].endswith("\n" + say("money_gone_now", bank))
    assert "95599" in texts["offline"] and "110" in texts["offline"]
    assert texts["atm_number"] == say("atm_sign.footer_atm", atm_id="{atm_id}")
    fields = set(re.findall(r"\{(\w+)\}", json.dumps(texts, ensure_ascii=False)))
    assert fields == set(FILLED_BY_THE_WIDGET)


def test_injected_config_follows_the_configured_bank(monkeypatch):
    monkeypatch.setenv("BANK_NAME", "测试银行")
    monkeypatch.setenv("BANK_HOTLINE", "95599")
    config = widget_config()
    assert (config["bankName"], config["bankHotline"]) == ("测试银行", "95599")
    assert "95599" in config["officialNumbers"] and "110" in config["officialNumbers"]
    assert '"bankHotline": "95599"' in widget_script()
    assert config["texts"][config["language"]]["title"] == "测试银行反诈助手"


# ---- the webhook: REST's contract and input checks -------------------------------------


def test_webhook_answers_like_the_rest_channel(widget_assistant):
    status, _, body = say_to_widget(widget_assistant, "widget-contract", TAX_REFUND_STORY)
    assert status == 200
    widget_reply = json.loads(body)
    rest_reply = widget_assistant.say("rest-contract", TAX_REFUND_STORY)

    assert without_recipient(widget_reply) == without_recipient(rest_reply)
    assert {m["recipient_id"] for m in widget_reply} == {"widget-contract"}
    assert [m["custom"]["type"] for m in widget_reply if "custom" in m] == ["scam_assessment"]
    user_events = [
        e for e in widget_assistant.stored_events("widget-contract") if e["event"] == "user"
    ]
    assert [(e["text"], e["input_channel"]) for e in user_events] == [
        (TAX_REFUND_STORY, "widget")
    ]


def test_webhook_tells_the_widget_the_masked_text_of_a_message_with_secrets(
    widget_assistant,
):
    status, _, body = say_to_widget(widget_assistant, "widget-masked", SECRET_MESSAGE)
    assert status == 200
    reply = json.loads(body)
    assert masked_input_notes(reply) == [{"type": MASKED_INPUT, "text": MASKED_MESSAGE}]
    # On the privacy warning, last: one message per text, as REST's.
    assert reply[-1]["text"] == privacy_warning() and "custom" in reply[-1]
    raw = body.decode("utf-8")
    assert "021234567" not in raw and SMS_CODE not in raw
    assert [piece for piece in secret_pieces() if piece in raw] == []
    # What the widget is told is what Rasa stored.
    user_events = [
        e for e in widget_assistant.stored_events("widget-masked") if e["event"] == "user"
    ]
    assert [e["text"] for e in user_events] == [MASKED_MESSAGE]

    # REST's reply has no such note; otherwise the two are the same.
    rest_reply = widget_assistant.say("rest-masked", SECRET_MESSAGE)
    assert masked_input_notes(rest_reply) == []
    assert rest_reply[-1]["text"] == privacy_warning()
    widget_without_note = [{k: v for k, v in m.items() if k != "custom"} if m is reply[-1]
                           else m for m in reply]
    assert without_recipient(widget_without_note) == without_recipient(rest_reply)


def test_webhook_adds_no_note_when_nothing_was_masked(widget_assistant):
    for message in (TAX_REFUND_STORY, "请帮我查一下12366是不是官方电话"):
        status, _, body = say_to_widget(widget_assistant, "widget-unmasked", message)
        assert status == 200
        assert masked_input_notes(json.loads(body)) == [], message


def _answers(guard: TurnGuard, text: str, metadata: Optional[Dict] = None):
    """The guard's answer to `text` from an assistant that says 收到, and what it was given."""
    seen: List[Tuple[str, Any]] = []
    replies: List[Dict[str, Any]] = []

    async def ask(masked_text: str, masked_metadata: Optional[Dict[str, Any]]) -> None:
        seen.append((masked_text, masked_metadata))
        replies.append({"recipient_id": "s", "text": "收到"})

    answer = asyncio.run(guard.answer(ask, text, metadata, replies, "s"))
    return answer, seen


def test_widget_guard_adds_the_masked_text_to_the_warning_only_when_text_was_masked():
    bank = Bank("工商银行", "95588")
    widget, plain = WidgetTurnGuard(bank, 5), TurnGuard(bank, 5)
    answer, seen = _answers(widget, SECRET_MESSAGE)
    assert seen == _answers(plain, SECRET_MESSAGE)[1]  # Rasa gets the same
    assert answer == [
        {"recipient_id": "s", "text": "收到"},
        {"recipient_id": "s", "text": privacy_warning(),
         "custom": {"type": MASKED_INPUT, "text": MASKED_MESSAGE}},
    ]
    # Nothing masked, or only in the metadata: the text is the customer's own, no note.
    for text, metadata in (("你好", None), ("你好", {"note": "验证码384756"}),
                           ("95588打来说验证码是95588", None)):
        assert _answers(widget, text, metadata) == _answers(plain, text, metadata), text


def test_masked_text_goes_on_its_own_when_the_reply_has_no_warning():
    note = {"type": MASKED_INPUT, "text": MASKED_MESSAGE}
    messages = [{"recipient_id": "s", "text": "收到"}]
    assert with_masked_input(messages, MASKED_MESSAGE, "s") == [
        *messages, {"recipient_id": "s", "custom": note},
    ]
    assert messages == [{"recipient_id": "s", "text": "收到"}]  # not changed in place


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2, 3]",
        {"sender": "x"},
        {"sender": "x", "message": None},
        {"message": "你好"},
        {"sender": "x" * 500, "message": "你好"},
        {"sender": "x", "message": "你" * 30_000},
        {"sender": "x", "message": "你好", "metadata": "nope"},
    ],
    ids=[
        "empty", "not-json", "array", "no-message", "null-message", "no-sender",
        "long-sender", "long-message", "bad-metadata",
    ],
)
def test_bad_input_is_refused_exactly_like_rest(widget_assistant, body):
    widget_status, _, widget_body = post_json(widget_assistant, "/chat/webhook", body)
    rest_status, _, rest_body = post_json(widget_assistant, "/webhooks/rest/webhook", body)
    assert widget_status == rest_status == 400
    assert json.loads(widget_body) == json.loads(rest_body)


# ---- CORS -------------------------------------------------------------------------------


def test_allowed_site_gets_its_origin_echoed(widget_assistant):
    status, headers, body = say_to_widget(widget_assistant, "cors-ok", "你好", ALLOWED_ORIGIN)
    assert status == 200 and json.loads(body)
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert headers["vary"] == "Origin"


def test_other_site_is_refused_before_the_bot_sees_the_message(widget_assistant):
    status, headers, body = say_to_widget(widget_assistant, "cors-refused", "你好", OTHER_ORIGIN)
    assert status == 403 and json.loads(body)["error"]
    assert "access-control-allow-origin" not in headers
    assert widget_assistant.stored_events("cors-refused") == []


def test_same_origin_page_and_non_browser_clients_need_no_cors(widget_assistant):
    own_origin = widget_assistant.rasa_url
    for origin in (own_origin, None):
        status, headers, _ = say_to_widget(widget_assistant, "cors-same", "你好", origin)
        assert status == 200, origin
        assert "access-control-allow-origin" not in headers


def test_widget_rules_stay_on_the_widget_routes(widget_assistant):
    """Blueprint middleware is scoped to its routes: REST is untouched by the origin list."""
    status, headers, _ = post_json(
        widget_assistant,
        "/webhooks/rest/webhook",
        {"sender": "rest-other-site", "message": "你好"},
        {"Origin": OTHER_ORIGIN},
    )
    assert status == 200
    assert "vary" not in headers


def test_preflight_from_the_allowed_site(widget_assistant):
    status, headers, _ = preflight(widget_assistant, ALLOWED_ORIGIN)
    assert status in (200, 204)
    assert headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"].lower() == "content-type"


def test_preflight_from_another_site_gets_no_permission(widget_assistant):
    _, headers, _ = preflight(widget_assistant, OTHER_ORIGIN)
    assert not any(name.startswith("access-control-allow") for name in headers)


# ---- configuration ------------------------------------------------------------------------


def test_allowed_origins_from_a_list_or_a_comma_separated_string():
    expected = {"https://bank.example", "http://intranet.bank:8080"}
    assert parse_origins(" https://bank.example, http://intranet.bank:8080 ,") == expected
    assert parse_origins(sorted(expected)) == expected
    assert parse_origins("") == parse_origins(None) == frozenset()


@pytest.mark.parametrize("origin", ["https://bank.example/", "bank.example", "https://a.b/chat"])
def test_an_origin_that_could_never_match_stops_the_server(origin):
    with pytest.raises(ValueError, match="allowed origins"):
        parse_origins(origin)


def test_credentials_section_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(ORIGINS_ENV, "https://from-env.example")
    settings.cache_clear()
    configured = WidgetInput.from_credentials({"allowed_origins": ["https://from-yml.example"]})
    assert configured.allowed_origins == {"https://from-yml.example"}
    assert WidgetInput.from_credentials(None).allowed_origins == {"https://from-env.example"}
    monkeypatch.delenv(ORIGINS_ENV)
    settings.cache_clear()
    assert WidgetInput.from_credentials(None).allowed_origins == frozenset()
