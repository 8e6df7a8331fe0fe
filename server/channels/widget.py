"""Website chat widget: a demo page, the embeddable script and its CSS, and a webhook.

GET  /chat             a page for trying the widget
GET  /chat/widget.js   the script a website embeds with one <script src> tag; it adds its
                       own CSS link and DOM. The bank's name, hotline, the official
                       numbers and every word the widget shows (knowledge/replies.yml) are
                       injected here, so the widget knows them offline.
GET  /chat/widget.css
POST /chat/webhook     the REST channel's contract, input checks and guard, plus the
                       customer's message as stored when a secret was masked in it
POST /chat/image       a screenshot or photo (multipart `sender`, `image`): the same JSON
                       reply, what was read first (server/channels/image.py); a picture
                       that cannot be read gets a 4xx with {"error": "<why, in Chinese>"}
OPTIONS /chat/webhook, /chat/image   CORS preflight

The widget speaks the page's language (its `lang` attribute, or the script tag's
`data-lang`) until the customer writes: the webhook's answer carries the reply's
language in its Content-Language header (zh-CN, zh-TW or en), and the widget's own
labels follow it from then on. /chat?lang=en (or zh-TW) shows the demo page in that
language.

The widget keeps the transcript in the browser's localStorage. When the guard masked a
card number, ID number, password or code in the message, the reply says how the message
was stored, and the widget shows and keeps only that: the privacy warning message (the
guard's, always last when something was masked) also carries
    "custom": {"type": "masked_input", "text": "我的卡号是6222 **** **** 7894，验证码[验证码]"}
On the warning rather than as a message of its own, so the reply has the same messages as
REST's, each with its text (a widget that does not know the type just shows the warning).

Cross-origin use is limited to the configured origins (exact match): `allowed_origins`
in this channel's credentials section, else CHAT_ALLOWED_ORIGINS (comma-separated).
None by default, i.e. same-origin only.
"""

import html
import json
import re
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Optional, Text
from urllib.parse import urlsplit

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

from core.directory import official_directory
from core.language import HTML_LANG, LANGUAGES, SIMPLIFIED, from_tag
from core.settings import Bank, parse_origins, settings
from core.wording import LANGUAGE, say, say_all
from server.guard.rate_limit import shared_limits
from server.guard.turns import Ask, TurnGuard, privacy_warning
from server.channels.image import answer_image, problem_reply, refuse_bad_upload
from server.channels.rest import MAX_MESSAGE_CHARS, answer_checked_request, refuse_unanswerable
from server.ocr.client import start_with_server
from server.ocr.images import ImageProblem

STATIC = Path(__file__).resolve().parent / "widget_static"
CONFIG_PLACEHOLDER = "__WIDGET_CONFIG__"
# __NAME__ in index.html: the language, or widget.page.<name> of knowledge/replies.yml.
PAGE_PLACEHOLDER = re.compile(r"__([A-Z]+)__")
# Left in the widget's texts for the widget to fill in as it shows them.
FILLED_BY_THE_WIDGET = {
    field: "{" + field + "}" for field in ("number", "atm_id", "host", "label", "quote")
}
MASKED_INPUT = "masked_input"

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
HTML = "text/html; charset=utf-8"
# Served with the bank's configuration baked in: revalidate rather than keep a stale copy.
NO_CACHE = {"Cache-Control": "no-cache"}
PREFLIGHT = {
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


def widget_texts(bank: Bank, language: str = SIMPLIFIED) -> Dict[str, Any]:
    """Every word the widget shows, in `language` (knowledge/replies.yml, or its English
    file): its own (the `widget` section) and the sentences it shares with the other
    channels, under their keys there. The bank is filled in; {number}, {atm_id} and
    {host} are left for the widget."""
    texts = say_all("widget", bank, language, **FILLED_BY_THE_WIDGET)
    for part in ("page", "greeting_more", "problem"):  # the demo page's; parts of those below
        del texts[part]
    return {
        **texts,
        "greeting": say("greet", bank, language) + "\n" + say("widget.greeting_more", bank, language),
        "offline": say("widget.problem", language=language) + "\n" + say("money_gone_now", bank, language),
        "do_now": say("do_now", language=language),
        "dial_yourself": say("dial_yourself", language=language),
        "atm_number": say("atm_sign.footer_atm", language=language, **FILLED_BY_THE_WIDGET),
        "quoted": say("reading.quoted", language=language, **FILLED_BY_THE_WIDGET),
        "image_read": say("image.read_heading", language=language),
    }


def widget_config() -> Dict[str, Any]:
    """What the script needs before its first request: who runs it, numbers to link, and
    what it says, by language (HTML lang tags: zh-CN, zh-TW, en). The widget starts in
    the page's language, else `language`, and follows the reply's (Content-Language)."""
    bank = settings().bank
    return {
        "bankName": bank.name,
        "bankHotline": bank.hotline,
        "officialNumbers": {
            number: entry.owner for number, entry in official_directory(bank).items()
        },
        "officialNumbersByLanguage": {
            HTML_LANG[language]: {number: entry.owner
                                  for number, entry in official_directory(bank, language).items()}
            for language in LANGUAGES
        },
        "maxMessageChars": MAX_MESSAGE_CHARS,
        "language": LANGUAGE,
        "texts": {HTML_LANG[language]: widget_texts(bank, language) for language in LANGUAGES},
    }


def widget_script() -> str:
    template = (STATIC / "widget.js").read_text(encoding="utf-8")
    if CONFIG_PLACEHOLDER not in template:
        raise RuntimeError(f"widget.js lost its {CONFIG_PLACEHOLDER} placeholder")
    config = json.dumps(widget_config(), ensure_ascii=False)
    return template.replace(CONFIG_PLACEHOLDER, config, 1)


def page_language(tag: Optional[str]) -> str:
    """The language an HTML lang tag (or ?lang=) asks for: en…, zh-TW/HK/MO/Hant…, else
    Simplified."""
    return from_tag(tag) or SIMPLIFIED


def demo_page_html(language: str = SIMPLIFIED) -> str:
    """index.html in `language`, its words from widget.page of knowledge/replies.yml."""
    bank = settings().bank

    def word(name: str) -> str:
        if name == "LANGUAGE":
            return HTML_LANG[language]
        return say(f"widget.page.{name.lower()}", bank, language)

    template = (STATIC / "index.html").read_text(encoding="utf-8")
    return PAGE_PLACEHOLDER.sub(lambda found: html.escape(word(found.group(1))), template)


def is_cross_origin(request: Request) -> bool:
    """A browser request from a page on another host:port (no Origin: not a browser's CORS).

    The scheme is not compared: behind a TLS-terminating proxy the page is https and the
    request reaching us is http, yet it is the same site.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return False
    try:
        return urlsplit(origin).netloc != request.host
    except ValueError:  # "http://[": no page of ours sends that
        return True


def with_masked_input(
    messages: List[Dict[str, Any]], stored_text: str, recipient_id: str,
    language: str = SIMPLIFIED,
) -> List[Dict[str, Any]]:
    """`messages` telling the widget that the customer's message was stored as
    `stored_text`: on the privacy warning, or (were there none) as a message of its own."""
    note = {"type": MASKED_INPUT, "text": stored_text}
    warning = privacy_warning(language)
    for at in range(len(messages) - 1, -1, -1):
        message = messages[at]
        if message.get("text") == warning and "custom" not in message:
            return [*messages[:at], {**message, "custom": note}, *messages[at + 1:]]
    return [*messages, {"recipient_id": recipient_id, "custom": note}]


class WidgetTurnGuard(TurnGuard):
    """The guard, and when it masked something in the customer's text, the masked text
    in the answer (see the module doc): the browser must not keep the original."""

    async def answer(
        self,
        ask: Ask,
        text: str,
        metadata: Optional[Dict[str, Any]],
        replies: List[Dict[str, Any]],
        recipient_id: str,
    ) -> List[Dict[str, Any]]:
        given: List[str] = []

        def note_and_ask(
            masked_text: str, masked_metadata: Optional[Dict[str, Any]]
        ) -> Awaitable[Any]:
            given.append(masked_text)  # called at once: the turn runs in the coroutine
            return ask(masked_text, masked_metadata)

        messages = await super().answer(note_and_ask, text, metadata, replies, recipient_id)
        if given and given[0] != text:
            return with_masked_input(messages, given[0], recipient_id,
                                     self.languages.last(recipient_id))
        return messages


class WidgetInput(InputChannel):
    """The website widget, served by the Rasa server itself under /chat."""

    def __init__(self, allowed_origins: FrozenSet[str] = frozenset()) -> None:
        self.allowed_origins = allowed_origins

    @classmethod
    def name(cls) -> Text:
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "InputChannel":
        configured = (credentials or {}).get("allowed_origins")
        if configured is None:
            return cls(settings().chat_allowed_origins)
        return cls(parse_origins(configured))

    def url_prefix(self) -> Text:
        # Rasa mounts blueprints at urljoin("/webhooks/", prefix): absolute means /chat.
        return "/chat"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        # Read at startup: a bad BANK_* setting stops the server instead of one page.
        pages = {language: demo_page_html(language) for language in LANGUAGES}
        script = widget_script()
        stylesheet = (STATIC / "widget.css").read_text(encoding="utf-8")
        guard = WidgetTurnGuard.from_settings()
        # A picture's text is shown in its own card, never as the customer's bubble.
        image_guard = TurnGuard.from_settings()
        bank = settings().bank
        limits = shared_limits()
        widget = Blueprint("widget")

        @widget.route("", methods=["GET"])
        async def demo_page(request: Request) -> response.HTTPResponse:
            page = pages[page_language(request.args.get("lang"))]
            return response.text(page, content_type=HTML)

        @widget.route("/widget.js", methods=["GET"])
        async def widget_js(request: Request) -> response.HTTPResponse:
            return response.text(script, content_type=JS, headers=NO_CACHE)

        @widget.route("/widget.css", methods=["GET"])
        async def widget_css(request: Request) -> response.HTTPResponse:
            return response.text(stylesheet, content_type=CSS, headers=NO_CACHE)

        @widget.route("/webhook", methods=["OPTIONS"])
        async def preflight(request: Request) -> response.HTTPResponse:
            # Rasa's app-wide CORS handler usually answers OPTIONS first; the
            # response middleware below sets the headers either way.
            return response.empty()

        @widget.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            answer = await answer_checked_request(request, on_new_message, guard, self.name())
            # The reply's language, for the widget's own labels (a safelisted CORS header).
            language = guard.languages.last(request.json["sender"])
            answer.headers["Content-Language"] = HTML_LANG[language]
            return answer

        @widget.route("/image", methods=["OPTIONS"])
        async def image_preflight(request: Request) -> response.HTTPResponse:
            return response.empty()

        @widget.route("/image", methods=["POST"])
        async def receive_image(request: Request) -> response.HTTPResponse:
            sender = request.form.get("sender")
            collector = CollectingOutputChannel()

            async def ask(text: str, metadata: Optional[Dict[str, Any]]) -> None:
                await on_new_message(UserMessage(
                    text, collector, sender, input_channel=self.name(), metadata=metadata))

            try:
                messages = await answer_image(
                    request.files.get("image").body, ask, image_guard, collector.messages, sender)
            except ImageProblem as problem:
                status, reason = problem_reply(problem, bank)
                return response.json({"error": reason}, status=status)
            return response.json(messages)

        start_with_server(widget)

        @widget.middleware("request")
        async def refuse_other_sites_and_bad_input(
            request: Request,
        ) -> Optional[response.HTTPResponse]:
            if request.method != "POST":
                return None
            if is_cross_origin(request) and request.headers["origin"] not in self.allowed_origins:
                return response.json({"error": "此网站未获准使用反诈助手。"}, status=403)
            if request.path.rstrip("/").endswith("/image"):
                return refuse_bad_upload(request, limits, bank)
            return refuse_unanswerable(request, limits)

        @widget.middleware("response")
        async def cors_for_allowed_origins(
            request: Request, reply: response.HTTPResponse
        ) -> None:
            # This channel's list decides for its routes, whatever `rasa run --cors` says.
            for header in {h for h in reply.headers if h.lower().startswith("access-control-")}:
                reply.headers.popall(header, None)
            reply.headers["Vary"] = "Origin"
            origin = request.headers.get("origin")
            if origin in self.allowed_origins:
                reply.headers["Access-Control-Allow-Origin"] = origin
                if request.method == "OPTIONS":
                    reply.headers.update(PREFLIGHT)

        return widget
