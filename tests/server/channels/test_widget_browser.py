"""The website widget in a real browser: headless Chromium on a phone-sized screen.

Drives /chat and a stand-in for the bank's site against the real servers: the verdict
card, bot buttons, reload, restart, network failure, cross-origin embedding, ATM mode,
the ATM, link, handoff and share cards (copying too), escaping, size and contrast, and
secrets typed by the customer: shown and stored only as the server masked them.
Screenshots go to results/screenshots/ (look at them); the ATM one also to docs/.
What the widget says is read from knowledge/replies.yml, as the server injects it.
"""

import json
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core import wording
from core.catalog import load_catalog
from core.directory import official_directory
from core.settings import load
from server.channels.widget import widget_texts
from server.guard.turns import privacy_warning
from tests.server.channels.test_widget import (
    ALLOWED_ORIGIN,
    MASKED_MESSAGE,
    SECRET_MESSAGE,
    SMS_CODE,
    TAX_REFUND_STORY,
    secret_pieces,
    widget_servers,
)
from tests.e2e.servers import REPO

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "results" / "screenshots"
DOCS_ATM_SCREENSHOT = REPO / "docs" / "widget-atm.png"
PHONE = {"width": 390, "height": 844}
BANK = load({}).bank
DIRECTORY = official_directory(BANK)
TEXTS = widget_texts(BANK)  # what the widget says (knowledge/replies.yml)
SEND = TEXTS["send"]
ATM_ID = "ATM-0042_b"
ATM_ENTRY = '/atm_entry{"atm_id":"ATM-0042_b"}'
WEBHOOK = "**/chat/webhook"
# Tap targets of the widget's own controls; numbers inside sentences are inline links.
TAP_TARGETS = ".fzw-panel button, .fzw-panel textarea, .fzw-call, .fzw-header-call"
READING_TEXT = (
    ".fzw-msg, .fzw-steps li, .fzw-card-note, .fzw-choice, .fzw-input, .fzw-card-small, "
    ".fzw-reference, .fzw-share-text, .fzw-action"
)
COLOURED = (
    ".fzw-msg, .fzw-card-band, .fzw-call, .fzw-choice, .fzw-send, .fzw-reference, "
    ".fzw-share-text, .fzw-action"
)
MEASURE_LAYOUT = """([targets, reading, coloured]) => {
  const all = (selector) => [...document.querySelectorAll(selector)];
  const box = (e) => e.getBoundingClientRect();
  const style = (e) => getComputedStyle(e);
  return {
    panelWidth: box(document.querySelector('.fzw-panel')).width,
    targets: all(targets).filter((e) => e.getClientRects().length).map((e) =>
      ({what: e.textContent.trim() || e.tagName, width: box(e).width, height: box(e).height})),
    fontSizes: all(reading).map((e) => parseFloat(style(e).fontSize)),
    rows: all('.fzw-log > *').map((e) => [box(e).top, box(e).bottom]),
    colours: all(coloured).map((e) =>
      ({what: e.className, fg: style(e).color, bg: style(e).backgroundColor})),
  };
}"""


@pytest.fixture(scope="module")
def widget_assistant(tmp_path_factory):
    with widget_servers(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing; the widget's browser tests need Debian's Chromium: "
            "apt-get install chromium"
        )
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh phone (own localStorage); fails the test on any script error in the page."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN")
    phone = context.new_page()
    script_errors = []
    phone.on("pageerror", lambda error: script_errors.append(str(error)))
    yield phone
    context.close()
    assert script_errors == []


@pytest.fixture
def sent(page):
    """The JSON bodies the page posts to the webhook, in order."""
    bodies = []

    def record(request):
        if request.method == "POST" and request.url.endswith("/chat/webhook"):
            bodies.append(request.post_data_json)

    page.on("request", record)
    return bodies


def open_chat(page: Page, assistant, query: str = "") -> None:
    page.goto(f"{assistant.rasa_url}/chat{query}")
    expect(page.locator(".fzw-panel")).to_be_visible()


def say(page: Page, text: str) -> None:
    """Types `text` and waits until the widget has taken the webhook's answer in: the
    typing indicator goes once the reply is shown and stored. The response alone arrives
    before the page's script has read it, and a reload then found nothing stored."""
    with page.expect_response(WEBHOOK):
        page.locator(".fzw-input").fill(text)
        page.get_by_role("button", name=SEND).click()
    expect(page.locator(".fzw-typing")).to_be_hidden()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def tel_numbers(locator) -> list:
    return [href.removeprefix("tel:") for href in locator.evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )]


def fake_reply(page: Page, **fulfil) -> None:
    page.route(WEBHOOK, lambda route: route.fulfill(**fulfil))


# Everything the page keeps in localStorage, every key and value.
READ_STORAGE = """() => Object.keys(localStorage)
  .map((key) => key + "=" + localStorage.getItem(key)).join("\\n")"""


def stored(page: Page) -> str:
    return page.evaluate(READ_STORAGE)


def assert_no_secret_stored(page: Page) -> str:
    storage = stored(page)
    assert "fanzha-widget=" in storage  # the widget did store its state
    assert "021234567" not in storage and SMS_CODE not in storage
    assert [piece for piece in secret_pieces() if piece in storage] == []
    return storage


# ---- the main path --------------------------------------------------------------------


def test_scam_story_gets_a_verdict_card_with_call_buttons(page, widget_assistant):
    open_chat(page, widget_assistant)
    say(page, TAX_REFUND_STORY)

    card = page.locator(".fzw-card")
    expect(card).to_have_count(1)
    expect(card.locator(".fzw-card-band")).to_have_text(
        TEXTS["scam_assessment"]["band_by_risk"]["high"]
    )
    expect(card.locator(".fzw-card-title")).to_have_text(
        load_catalog().scam_types["tax_refund"].name
    )
    assert card.locator(".fzw-steps li").count() >= 2
    expect(card.locator('.fzw-call[href="tel:12366"]')).to_be_visible()
    expect(page.locator(".fzw-msg-user")).to_have_text(TAX_REFUND_STORY)
    # The text bubble keeps the verdict; steps and numbers are the card's, not repeated.
    expect(page.locator(".fzw-msg-bot").nth(1)).to_contain_text(
        wording.say("verdict_by_risk.high")
    )
    expect(page.locator(".fzw-msg-bot").nth(1)).not_to_contain_text(TEXTS["do_now"])
    assert set(tel_numbers(page.locator("a[href^='tel:']"))) <= set(DIRECTORY)
    screenshot(page, "verdict-card")
    card.locator(".fzw-calls").scroll_into_view_if_needed()
    screenshot(page, "verdict-card-calls")


def test_bot_button_sends_its_payload_and_shows_its_title(page, sent, widget_assistant):
    open_chat(page, widget_assistant)
    say(page, TAX_REFUND_STORY)
    with page.expect_response(WEBHOOK):
        page.get_by_role("button", name=wording.say("buttons.money_lost")).click()

    assert [body["message"] for body in sent] == [TAX_REFUND_STORY, "/money_lost"]
    expect(page.locator(".fzw-msg-user").last).to_have_text(wording.say("buttons.money_lost"))
    emergency = page.locator(".fzw-card").last
    expect(emergency.locator(".fzw-card-band")).to_have_text(TEXTS["emergency"]["band"])
    expect(emergency.locator('.fzw-call[href="tel:110"]')).to_be_visible()
    expect(emergency.locator(f'.fzw-call[href="tel:{BANK.hotline}"]')).to_be_attached()
    screenshot(page, "after-money-lost")


def test_conversation_survives_a_reload_and_restart_clears_it(page, sent, widget_assistant):
    open_chat(page, widget_assistant)
    say(page, TAX_REFUND_STORY)

    page.reload()
    expect(page.locator(".fzw-msg-user")).to_have_text(TAX_REFUND_STORY)
    expect(page.locator(".fzw-card .fzw-call[href='tel:12366']")).to_be_attached()
    say(page, "谢谢你")
    assert sent[0]["sender"] == sent[1]["sender"]
    screenshot(page, "after-reload")

    page.get_by_role("button", name=TEXTS["restart"]).click()
    expect(page.locator(".fzw-msg-user")).to_have_count(0)
    expect(page.locator(".fzw-card")).to_have_count(0)
    page.reload()
    expect(page.locator(".fzw-msg-bot")).to_have_count(1)  # the welcome only
    say(page, "你好")
    assert sent[2]["sender"] != sent[0]["sender"]


def test_waiting_shows_a_typing_indicator_and_replies_go_to_a_live_log(page, widget_assistant):
    open_chat(page, widget_assistant)
    held = []
    page.route(WEBHOOK, lambda route: held.append(route))
    page.locator(".fzw-input").fill(TAX_REFUND_STORY)
    page.get_by_role("button", name=SEND).click()

    expect(page.get_by_role("status")).to_have_text(TEXTS["typing"])
    expect(page.get_by_role("button", name=SEND)).to_be_disabled()
    held[0].continue_()
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log.locator(".fzw-card")).to_be_visible()
    expect(page.get_by_role("status")).to_be_hidden()


@pytest.mark.parametrize(
    "failure",
    [{"abort": True}, {"status": 500, "body": "oops"}, {"status": 200, "body": "[]"}],
    ids=["network-down", "server-error", "empty-reply"],
)
def test_failure_shows_the_bank_hotline_and_retry_works(page, widget_assistant, failure):
    open_chat(page, widget_assistant)
    if failure.get("abort"):
        page.route(WEBHOOK, lambda route: route.abort())
    else:
        fake_reply(page, content_type="application/json", **failure)
    page.locator(".fzw-input").fill(TAX_REFUND_STORY)
    page.get_by_role("button", name=SEND).click()

    problem = page.locator(".fzw-msg-problem")
    expect(problem.locator(f'a[href="tel:{BANK.hotline}"]')).to_be_visible()
    expect(problem.locator('a[href="tel:110"]')).to_be_visible()
    expect(page.get_by_role("status")).to_be_hidden()
    screenshot(page, f"failure-{'network' if failure.get('abort') else failure['status']}")

    page.unroute(WEBHOOK)
    problem.get_by_role("button", name=TEXTS["retry"]).click()
    expect(page.locator(".fzw-card")).to_be_visible()
    expect(problem).to_have_count(0)
    expect(page.locator(".fzw-msg-user")).to_have_count(1)


def test_an_answer_that_never_comes_times_out_to_the_hotline_message(page, widget_assistant):
    page.clock.install()  # the widget's 15 s timeout, without waiting 15 s
    open_chat(page, widget_assistant)
    page.route(WEBHOOK, lambda route: None)  # held forever
    page.locator(".fzw-input").fill(TAX_REFUND_STORY)
    page.get_by_role("button", name=SEND).click()
    expect(page.get_by_role("status")).to_be_visible()

    page.clock.run_for(14_000)
    expect(page.locator(".fzw-msg-problem")).to_have_count(0)
    page.clock.run_for(1_500)
    expect(page.locator(f'.fzw-msg-problem a[href="tel:{BANK.hotline}"]')).to_be_visible()
    expect(page.get_by_role("status")).to_be_hidden()


# ---- secrets the customer types -----------------------------------------------------------


def test_typed_secrets_are_shown_and_stored_only_masked(page, widget_assistant):
    open_chat(page, widget_assistant)
    held = []
    page.route(WEBHOOK, lambda route: held.append(route))
    page.locator(".fzw-input").fill(SECRET_MESSAGE)
    page.get_by_role("button", name=SEND).click()
    bubble = page.locator(".fzw-msg-user")
    expect(bubble).to_have_text(SECRET_MESSAGE)  # as typed, until the server answers
    expect(page.get_by_role("status")).to_be_visible()
    assert_no_secret_stored(page)  # not even while waiting

    with page.expect_response(WEBHOOK):
        held[0].continue_()
    expect(bubble).to_have_text(MASKED_MESSAGE)
    assert_no_secret_stored(page)
    first_entry = "JSON.parse(localStorage.getItem('fanzha-widget')).entries[0]"
    assert page.evaluate(first_entry) == {"kind": "user", "text": MASKED_MESSAGE}
    # The masked text is the customer's bubble only, never one of the assistant's.
    expect(page.locator(".fzw-msg-bot").last).to_have_text(privacy_warning())
    for node in page.locator(".fzw-log > :not(.fzw-msg-user)").all():
        expect(node).not_to_contain_text("****")
    assert "021234567" not in page.content() and SMS_CODE not in page.content()
    screenshot(page, "masked-input")

    page.reload()
    expect(page.locator(".fzw-msg-user")).to_have_text(MASKED_MESSAGE)
    expect(page.locator(".fzw-msg-bot").last).to_have_text(privacy_warning())
    assert "021234567" not in page.content() and SMS_CODE not in page.content()
    assert_no_secret_stored(page)


def test_an_unanswered_secret_is_never_stored_and_a_retry_masks_it(page, widget_assistant):
    open_chat(page, widget_assistant)
    page.route(WEBHOOK, lambda route: route.abort())
    page.locator(".fzw-input").fill(SECRET_MESSAGE)
    page.get_by_role("button", name=SEND).click()
    expect(page.locator(".fzw-msg-problem")).to_be_visible()
    # Closing and opening the panel stores the state: without the unanswered message.
    page.get_by_role("button", name=TEXTS["close_label"]).click()
    page.get_by_role("button", name=TEXTS["open"]).click()
    assert_no_secret_stored(page)

    page.unroute(WEBHOOK)
    with page.expect_response(WEBHOOK):
        page.get_by_role("button", name=TEXTS["retry"]).click()
    expect(page.locator(".fzw-msg-user")).to_have_text(MASKED_MESSAGE)
    assert MASKED_MESSAGE in assert_no_secret_stored(page)
    page.reload()
    expect(page.locator(".fzw-msg-user")).to_have_text(MASKED_MESSAGE)


def test_masked_text_is_escaped_and_never_a_bot_bubble(page, widget_assistant):
    markup = '<img src=x onerror="window.hacked=1">卡号6222 **** **** 7894'
    reply = [
        {"recipient_id": "x", "text": "收到"},
        {"recipient_id": "x", "custom": {"type": "masked_input", "text": markup}},
        {"recipient_id": "x", "text": privacy_warning(),
         "custom": {"type": "masked_input", "text": "a later, second note"}},
    ]
    fake_reply(page, content_type="application/json", body=json.dumps(reply))
    open_chat(page, widget_assistant)
    say(page, "卡号6222021234567894")
    expect(page.locator(".fzw-msg-user")).to_have_text(markup)
    expect(page.locator(".fzw-msg-bot")).to_have_text(
        [TEXTS["greeting"], "收到", privacy_warning()]
    )
    assert page.locator(".fzw-log img").count() == 0
    assert page.evaluate("window.hacked") is None
    page.unroute(WEBHOOK)
    page.reload()
    expect(page.locator(".fzw-msg-user")).to_have_text(markup)
    expect(page.locator(".fzw-msg-bot")).to_have_count(3)
    assert "masked_input" not in stored(page)  # the note is not kept with the reply


def test_a_button_keeps_its_title_whatever_the_server_masked(page, sent, widget_assistant):
    reply = [{"recipient_id": "x", "text": "选一个",
              "buttons": [{"title": "我已经转账了", "payload": "/money_lost"}]}]
    fake_reply(page, content_type="application/json", body=json.dumps(reply))
    open_chat(page, widget_assistant)
    say(page, "你好")
    page.unroute(WEBHOOK)
    masked = [{"recipient_id": "x", "text": "收到",
               "custom": {"type": "masked_input", "text": "/money_lost"}}]
    fake_reply(page, content_type="application/json", body=json.dumps(masked))
    with page.expect_response(WEBHOOK):
        page.get_by_role("button", name="我已经转账了").click()
    expect(page.locator(".fzw-msg-bot").last).to_have_text("收到")
    expect(page.locator(".fzw-msg-user")).to_have_text(["你好", "我已经转账了"])


# ---- rendering what the bot sends ------------------------------------------------------


def test_bot_text_is_escaped_and_only_official_numbers_become_links(page, widget_assistant):
    hostile_text = '<img src=x onerror="window.hacked=1"><b>别</b>回拨13800138000，请拨打110或12366'
    reply = [
        {"recipient_id": "x", "text": hostile_text},
        {"recipient_id": "x", "custom": {"type": "number_check", "number": "13800138000",
                                         "official": False, "owner": None}},
        {"recipient_id": "x", "custom": {"type": "from_a_later_version", "anything": [1]}},
        {"recipient_id": "x", "custom": "not an object"},
    ]
    fake_reply(page, content_type="application/json", body=json.dumps(reply))
    open_chat(page, widget_assistant)
    say(page, "13800138000是真的吗")

    bubble = page.locator(".fzw-msg-bot").last
    expect(bubble).to_have_text(hostile_text)
    assert tel_numbers(bubble.locator("a")) == ["110", "12366"]
    assert page.locator(".fzw-log img, .fzw-log b").count() == 0
    assert page.evaluate("window.hacked") is None
    # The unofficial number is never repeated as if it were one to call.
    verdict = page.locator(".fzw-card")
    expect(verdict).to_have_count(1)
    expect(verdict.locator(".fzw-card-band")).to_have_text(
        TEXTS["number_check"]["unofficial_band"]
    )
    expect(verdict).not_to_contain_text("13800138000")


def test_official_number_check_gets_a_card_with_its_call_button(page, widget_assistant):
    open_chat(page, widget_assistant)
    say(page, "/verify_number")
    say(page, "12366是真的吗")
    card = page.locator(".fzw-card")
    expect(card.locator(".fzw-card-band")).to_have_text(TEXTS["number_check"]["official_band"])
    expect(card.locator(".fzw-card-title")).to_have_text(DIRECTORY["12366"].owner)
    expect(card.locator('.fzw-call[href="tel:12366"]')).to_be_visible()


# ---- made for older eyes and fingers -----------------------------------------------------


def _contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two computed `rgb(...)` colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_layout_is_one_column_with_large_text_big_targets_and_high_contrast(
    page, widget_assistant
):
    open_chat(page, widget_assistant)
    say(page, TAX_REFUND_STORY)
    expect(page.locator(".fzw-card")).to_be_visible()
    assert_made_for_older_eyes(page)


def assert_made_for_older_eyes(page: Page) -> None:
    measured = page.evaluate(MEASURE_LAYOUT, [TAP_TARGETS, READING_TEXT, COLOURED])
    assert measured["panelWidth"] == PHONE["width"]  # the whole phone screen
    small = [t for t in measured["targets"] if t["width"] < 48 or t["height"] < 48]
    assert measured["targets"] and not small
    assert min(measured["fontSizes"]) >= 18
    rows = measured["rows"]
    assert all(below[0] >= above[1] - 0.5 for above, below in zip(rows, rows[1:])), rows
    low_contrast = [c for c in measured["colours"] if _contrast(c["fg"], c["bg"]) < 4.5]
    assert not low_contrast
    bubbles = [c for c in measured["colours"] if "fzw-msg-bot" in c["what"]]
    assert all(_contrast(c["fg"], c["bg"]) >= 7 for c in bubbles)


# ---- on the bank's own site ---------------------------------------------------------------


@contextmanager
def website(assistant, port: int = 0) -> Iterator[str]:
    """A site on a loopback port embedding the widget with the one documented tag."""
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width, initial-scale=1"><title>银行首页</title></head>'
        f'<body><h1>银行首页</h1><script src="{assistant.rasa_url}/chat/widget.js"></script>'
        "</body></html>"
    ).encode()

    class HomePage(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), HomePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_embedded_on_the_allowed_site_it_opens_from_its_button_and_answers(
    page, widget_assistant
):
    with website(widget_assistant, urlsplit(ALLOWED_ORIGIN).port) as home:
        page.goto(home)
        expect(page.locator(".fzw-launcher")).to_be_visible()
    expect(page.locator(".fzw-panel")).to_be_hidden()  # closed until asked for
    screenshot(page, "embedded-closed")
    page.get_by_role("button", name=TEXTS["open"]).click()
    say(page, TAX_REFUND_STORY)
    expect(page.locator('.fzw-card .fzw-call[href="tel:12366"]')).to_be_visible()


def test_embedded_on_a_site_not_allowed_it_cannot_talk(page, widget_assistant):
    with website(widget_assistant) as home:
        page.goto(home)
        expect(page.locator(".fzw-launcher")).to_be_visible()
    page.get_by_role("button", name=TEXTS["open"]).click()
    page.locator(".fzw-input").fill(TAX_REFUND_STORY)
    page.get_by_role("button", name=SEND).click()
    expect(page.locator(f'.fzw-msg-problem a[href="tel:{BANK.hotline}"]')).to_be_visible()
    expect(page.locator(".fzw-card")).to_have_count(0)


# ---- ATM mode ------------------------------------------------------------------------------


def test_atm_link_sends_the_entry_message_once_without_a_bubble(page, sent, widget_assistant):
    with page.expect_response(WEBHOOK):
        open_chat(page, widget_assistant, f"?entry=atm&atm={ATM_ID}")
    assert [body["message"] for body in sent] == [ATM_ENTRY]
    expect(page.locator(".fzw-msg-user")).to_have_count(0)
    expect(page.locator(".fzw-msg-bot")).not_to_have_count(1)  # a reply after the welcome
    screenshot(page, "atm-entry")

    page.reload()
    expect(page.locator(".fzw-panel")).to_be_visible()
    say(page, "你好")
    assert [body["message"] for body in sent] == [ATM_ENTRY, "你好"]
    assert sent[0]["sender"] == sent[1]["sender"]


@pytest.mark.parametrize(
    "query",
    ["?entry=atm&atm=ATM%2042", f"?entry=atm&atm={'A' * 33}", "?entry=atm&atm=%3Cb%3E",
     "?entry=atm", f"?atm={ATM_ID}"],
    ids=["space", "too-long", "markup", "no-id", "no-entry"],
)
def test_atm_link_with_a_bad_or_missing_id_is_ignored(page, sent, widget_assistant, query):
    open_chat(page, widget_assistant, query)
    say(page, "你好")
    assert [body["message"] for body in sent] == ["你好"]


def test_atm_entry_gets_the_urgent_reply(page, widget_assistant):
    with page.expect_response(WEBHOOK):
        open_chat(page, widget_assistant, f"?entry=atm&atm={ATM_ID}")
    expect(page.locator(".fzw-log")).to_contain_text(TEXTS["atm_alert"]["band"], timeout=2000)


def test_atm_entry_puts_the_stop_card_first_with_the_hotlines(page, sent, widget_assistant):
    with page.expect_response(WEBHOOK):
        open_chat(page, widget_assistant, "?entry=atm&atm=ATM-0042")
    assert [json.loads(body["message"].removeprefix("/atm_entry")) for body in sent] == [
        {"atm_id": "ATM-0042"}
    ]
    alert = page.locator(".fzw-card-urgent")
    expect(alert.locator(".fzw-card-band")).to_have_text(TEXTS["atm_alert"]["band"])
    expect(alert.locator(".fzw-steps li")).to_have_text(TEXTS["atm_alert"]["actions"])
    expect(alert.locator('.fzw-call[href="tel:110"]')).to_be_visible()
    assert set(tel_numbers(alert.locator(".fzw-call"))) == {"110", "96110", BANK.hotline}
    expect(alert.locator(".fzw-card-small")).to_have_text(
        wording.say("atm_sign.footer_atm", atm_id="ATM-0042")
    )
    # The card comes before the reply's text, at the top of the screen; the text keeps
    # why it is a scam and whom to call, not the card's instructions again.
    expect(alert.locator(".fzw-card-band")).to_be_in_viewport()
    reply_text = page.locator(".fzw-card-urgent + .fzw-msg-bot")
    expect(reply_text).to_contain_text(wording.say("atm.always_scam"))
    expect(reply_text).not_to_contain_text(wording.say("atm.stop"))
    assert set(tel_numbers(page.locator("a[href^='tel:']"))) <= set(DIRECTORY)
    screenshot(page, "atm-card")
    page.screenshot(path=str(DOCS_ATM_SCREENSHOT))


def test_scam_link_gets_a_risk_card_that_never_repeats_the_link(page, widget_assistant):
    link = "http://chinatax-gov.cn.example.com/tui"
    open_chat(page, widget_assistant)
    say(page, f"这个链接能点吗 {link}")

    verdict = page.locator(".fzw-card")
    expect(verdict.locator(".fzw-card-band")).to_have_text(
        TEXTS["link_check"]["band_by_risk"]["high"]
    )
    expect(verdict).to_contain_text(TEXTS["link_check"]["unofficial_title"])
    # What the customer typed is their own bubble; nothing the assistant shows repeats it.
    expect(page.locator(".fzw-msg-user")).to_have_text(f"这个链接能点吗 {link}")
    assert page.content().count("example.com") == 1
    for node in page.locator(".fzw-log > :not(.fzw-msg-user)").all():
        expect(node).not_to_contain_text("example.com")
    assert page.locator("a[href*='example']").count() == 0
    verdict.evaluate("card => card.scrollIntoView({block: 'end'})")
    screenshot(page, "link-check-high")


def test_official_link_gets_a_card_with_owner_and_site(page, widget_assistant):
    open_chat(page, widget_assistant)
    say(page, "https://www.chinatax.gov.cn 这个网站是真的吗")
    verdict = page.locator(".fzw-card")
    expect(verdict.locator(".fzw-card-band")).to_have_text(TEXTS["link_check"]["official_band"])
    expect(verdict.locator(".fzw-card-title")).to_have_text("国家税务总局")
    expect(verdict.locator(".fzw-host")).to_have_text("www.chinatax.gov.cn")
    assert verdict.locator("a").count() == 0  # typed, not tapped
    screenshot(page, "link-check-official")


def test_handoff_shows_the_reference_to_read_out_and_the_hotline(page, widget_assistant):
    open_chat(page, widget_assistant)
    say(page, "转人工")
    handoff = page.locator(".fzw-card")
    expect(handoff.locator(".fzw-reference")).to_have_text(re.compile(r"^FZ-[A-Z]{6}$"))
    assert float(handoff.locator(".fzw-reference").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )) >= 30
    expect(handoff.locator(f'.fzw-call[href="tel:{BANK.hotline}"]')).to_be_visible()
    handoff.locator(".fzw-calls").scroll_into_view_if_needed()
    screenshot(page, "handoff")


def _share_card_after_a_warning(page, widget_assistant) -> str:
    """The real conversation to the share card; returns the text the assistant sent."""
    open_chat(page, widget_assistant)
    say(page, "公安说我涉嫌洗钱要转到安全账户")
    with page.expect_response(WEBHOOK) as answer:
        page.locator(".fzw-input").fill("发给家人")
        page.get_by_role("button", name=SEND).click()
    shared = [m["custom"]["text"] for m in answer.value.json()
              if isinstance(m.get("custom"), dict) and m["custom"].get("type") == "share_text"]
    assert len(shared) == 1, answer.value.json()
    card = page.locator(".fzw-card").last
    expect(card.locator(".fzw-share-text")).to_have_text(shared[0])
    # The bubble introduces the text; the card holds it, once.
    expect(page.locator(".fzw-msg-bot").last).to_have_text(wording.say("share.intro"))
    return shared[0]


def test_share_card_copies_the_warning_to_the_clipboard(page, widget_assistant):
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=widget_assistant.rasa_url
    )
    text = _share_card_after_a_warning(page, widget_assistant)
    card = page.locator(".fzw-card").last
    card.scroll_into_view_if_needed()
    screenshot(page, "share-card")
    has_share = page.evaluate("typeof navigator.share === 'function'")
    share = card.get_by_role("button", name=TEXTS["share_text"]["share"])
    expect(share).to_have_count(1 if has_share else 0)

    card.get_by_role("button", name=TEXTS["share_text"]["copy"]).click()
    status = card.get_by_role("status")
    expect(status).to_have_text(TEXTS["share_text"]["copied"])
    expect(status).to_be_in_viewport()
    # A live region inside the log's: the confirmation is read out.
    assert status.evaluate("e => e.closest('[aria-live]') !== null")
    assert page.evaluate("navigator.clipboard.readText()") == text
    screenshot(page, "share-copied")


# Without the Clipboard API (an old browser, a page on plain http): the textarea
# fallback. The hook records what is selected when "copy" runs; navigator.share is a
# stand-in recording what it was given.
NO_CLIPBOARD_API = """
Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});
window.__copied = [];
const realExecCommand = document.execCommand.bind(document);
document.execCommand = (command, ...rest) => {
  const field = document.activeElement;
  window.__copied.push([command, field.value.slice(field.selectionStart, field.selectionEnd)]);
  return realExecCommand(command, ...rest);
};
window.__shared = [];
navigator.share = (data) => { window.__shared.push(data); return Promise.resolve(); };
"""


def test_share_card_copies_without_the_clipboard_api_and_offers_share(page, widget_assistant):
    page.add_init_script(NO_CLIPBOARD_API)
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=widget_assistant.rasa_url
    )
    text = _share_card_after_a_warning(page, widget_assistant)
    card = page.locator(".fzw-card").last

    card.get_by_role("button", name=TEXTS["share_text"]["copy"]).click()
    expect(card.get_by_role("status")).to_have_text(TEXTS["share_text"]["copied"])
    assert page.evaluate("window.__copied") == [["copy", text]]
    assert page.locator(".fzw-copy-scratch").count() == 0  # the scratch field is gone
    expect(card.get_by_role("button", name=TEXTS["share_text"]["copy"])).to_be_focused()
    expect(card.get_by_role("status")).to_be_in_viewport()
    screenshot(page, "share-copied-fallback")

    card.get_by_role("button", name=TEXTS["share_text"]["share"]).click()
    assert page.evaluate("window.__shared") == [{"text": text}]


def test_new_cards_escape_everything_and_call_only_the_directory(page, widget_assistant):
    markup = '<img src=x onerror="window.hacked=1">'
    reply = [
        {"recipient_id": "x", "text": "停下。\n\n这是诈骗。"},
        {"recipient_id": "x", "custom": {"type": "atm_alert", "atm_id": markup,
                                         "hotlines": ["110", "13800138000", markup]}},
        {"recipient_id": "x", "custom": {"type": "link_check", "url": f"http://a.example/{markup}",
                                         "host": f"{markup}.example", "official": False,
                                         "owner": markup, "risk": markup, "patterns": []}},
        {"recipient_id": "x", "custom": {"type": "link_check", "url": "https://x", "host": markup,
                                         "official": True, "owner": markup, "risk": "low",
                                         "patterns": []}},
        {"recipient_id": "x", "custom": {"type": "handoff", "reference": markup,
                                         "hotlines": ["13800138000"]}},
        {"recipient_id": "x", "custom": {"type": "share_text", "text": markup}},
    ]
    fake_reply(page, content_type="application/json", body=json.dumps(reply))
    open_chat(page, widget_assistant)
    say(page, "你好")

    expect(page.locator(".fzw-card")).to_have_count(5)
    assert page.locator(".fzw-log img").count() == 0
    assert page.evaluate("window.hacked") is None
    assert tel_numbers(page.locator(".fzw-card a")) == ["110"]
    # The ATM card goes first (after the welcome and the customer's bubble), the text after.
    expect(page.locator(".fzw-log > *").nth(2)).to_have_class(re.compile("fzw-card-urgent"))
    expect(page.locator(".fzw-log > *").nth(3)).to_have_class(re.compile("fzw-msg-bot"))
    expect(page.locator(".fzw-card-small")).to_have_text(  # as text
        wording.say("atm_sign.footer_atm", atm_id=markup)
    )
    unofficial = page.locator(".fzw-card").nth(1)
    expect(unofficial.locator(".fzw-card-band")).to_have_text(  # an unknown risk: high
        TEXTS["link_check"]["band_by_risk"]["high"]
    )
    expect(unofficial).not_to_contain_text("example")
    expect(page.locator(".fzw-host")).to_have_text(markup)
    expect(page.locator(".fzw-reference")).to_have_count(0)  # not a reference
    expect(page.locator(".fzw-share-text")).to_have_text(markup)


def test_new_cards_are_made_for_older_eyes(page, widget_assistant):
    reply = [
        {"recipient_id": "x", "custom": {"type": "atm_alert", "atm_id": "ATM-0042",
                                         "hotlines": ["110", "96110", BANK.hotline]}},
        *({"recipient_id": "x", "custom": {"type": "link_check", "url": "", "host": "",
                                           "official": False, "owner": "", "risk": risk,
                                           "patterns": []}}
          for risk in ("high", "medium", "low")),
        {"recipient_id": "x", "custom": {"type": "link_check", "url": "https://www.pbc.gov.cn",
                                         "host": "www.pbc.gov.cn", "official": True,
                                         "owner": "中国人民银行", "risk": "low", "patterns": []}},
        {"recipient_id": "x", "custom": {"type": "handoff", "reference": "FZ-KXQMTA",
                                         "hotlines": [BANK.hotline]}},
        {"recipient_id": "x", "custom": {"type": "share_text", "text": "【反诈提醒】不转账。"}},
    ]
    fake_reply(page, content_type="application/json", body=json.dumps(reply))
    open_chat(page, widget_assistant)
    say(page, "你好")
    expect(page.locator(".fzw-card")).to_have_count(7)
    assert_made_for_older_eyes(page)
    page.set_viewport_size({"width": PHONE["width"], "height": 4000})
    screenshot(page, "new-cards-all")


# ---- English (issue 17) ------------------------------------------------------------------

EN = widget_texts(BANK, "en")
POLICE_STORY_EN = ("Someone called saying they are from the police and I must transfer "
                   "money to a safe account")
CHINESE_CHARACTER = re.compile(r"[\u4e00-\u9fff]")


def say_in(page: Page, text: str, send_label: str) -> None:
    with page.expect_response(WEBHOOK):
        page.locator(".fzw-input").fill(text)
        page.get_by_role("button", name=send_label, exact=True).click()


def test_an_english_conversation_on_an_english_page(page, sent, widget_assistant):
    """An English page: the widget's own words are English from the start; an English
    story gets an English card and English buttons, and a button keeps English."""
    open_chat(page, widget_assistant, "?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".fzw-title")).to_have_text(EN["title"])
    expect(page.locator(".fzw-send")).to_have_text("Send")
    expect(page.locator(".fzw-input")).to_have_attribute("placeholder", EN["input_example"])
    expect(page.locator(".fzw-msg-bot").first).to_contain_text("Hello, I am ICBC's anti-fraud assistant.")

    say_in(page, POLICE_STORY_EN, "Send")

    card = page.locator(".fzw-card")
    expect(card).to_have_count(1)
    bands = EN["scam_assessment"]["band_by_risk"]
    assert card.locator(".fzw-card-band").inner_text() in (bands["high"], bands["medium"])
    expect(card.locator(".fzw-card-heading").filter(has_text=EN["do_now"])).to_have_count(1)
    expect(card.locator('.fzw-call[href="tel:110"] .fzw-call-owner')).to_have_text("police emergency line")
    with page.expect_response(WEBHOOK):
        page.get_by_role("button", name="I have already paid").click()

    assert [body["message"] for body in sent] == [POLICE_STORY_EN, "/money_lost"]
    emergency = page.locator(".fzw-card").last
    expect(emergency.locator(".fzw-card-band")).to_have_text(EN["emergency"]["band"])
    expect(emergency.locator(".fzw-steps li").first).to_contain_text("Call the police on 110 now")
    expect(page.get_by_role("button", name="Talk to a person").last).to_be_visible()
    panel_text = page.locator(".fzw-panel").inner_text()
    assert not CHINESE_CHARACTER.search(panel_text), panel_text
    screenshot(page, "english-conversation")


def test_the_widget_follows_the_customers_language_on_a_chinese_page(page, widget_assistant):
    """A Chinese page: Chinese labels until the customer writes English; then the reply's
    language (Content-Language) is the widget's, after a reload too, until a restart."""
    open_chat(page, widget_assistant)
    expect(page.locator(".fzw-send")).to_have_text(TEXTS["send"])

    with page.expect_response(WEBHOOK) as answer:
        page.locator(".fzw-input").fill(POLICE_STORY_EN)
        page.get_by_role("button", name=SEND).click()
    assert answer.value.headers["content-language"] == "en"

    expect(page.locator(".fzw-send")).to_have_text("Send")
    expect(page.locator(".fzw-header-button").last).to_have_text(EN["restart"])
    expect(page.locator(".fzw-card .fzw-card-heading").first).to_contain_text(":")
    page.reload()
    expect(page.locator(".fzw-send")).to_have_text("Send")
    expect(page.locator(".fzw-card")).to_have_count(1)
    page.get_by_role("button", name=EN["restart"]).click()
    expect(page.locator(".fzw-send")).to_have_text(TEXTS["send"])


def test_a_traditional_story_gets_traditional_words(page, widget_assistant):
    open_chat(page, widget_assistant)
    say(page, "有人打電話說是公安局的，說我涉嫌洗錢，要我把錢轉到安全賬戶，不許告訴家人")

    traditional = widget_texts(BANK, "zh-Hant")
    expect(page.locator(".fzw-send")).to_have_text(traditional["send"])
    expect(page.locator(".fzw-card .fzw-card-band")).to_have_text(
        traditional["scam_assessment"]["band_by_risk"]["high"])
    expect(page.locator(".fzw-card .fzw-card-title")).to_have_text(
        load_catalog("zh-Hant").scam_types["impersonate_police"].name)
    screenshot(page, "traditional-conversation")


def test_atm_entry_on_an_english_page_is_answered_in_english(page, sent, widget_assistant):
    """A foreign customer scanning the ATM's code on an English page: the entry message
    has no words, so the widget's language (sent as metadata) decides the alert's."""
    with page.expect_response(WEBHOOK):
        open_chat(page, widget_assistant, f"?lang=en&entry=atm&atm={ATM_ID}")
    assert sent[0]["metadata"] == {"language": "en"}
    card = page.locator(".fzw-card").first
    expect(card.locator(".fzw-card-band")).to_have_text(EN["atm_alert"]["band"])
    expect(page.locator(".fzw-msg-bot").last).to_contain_text("Tax refunds, social security payments")
