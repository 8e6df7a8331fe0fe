"""The customer's language, from the script of what they type, and Traditional output.

    detect("Someone called saying they are police")  -> "en"
    detect("有人說是警察，叫我轉賬")                    -> "zh-Hant"
    detect("有人说是警察，叫我转账")                    -> "zh-Hans"
    detect("ok"), detect("1"), detect("/money_lost")  -> None (keep the previous one)

Cheap and deterministic: one pass over the characters, no model. Chinese is told apart
by the characters only one script has (这 / 這), from OpenCC's own character tables; a
Chinese message with none of them ("是的", "好") keeps a previous Chinese language and is
otherwise Simplified. English needs enough Latin letters once links, e-mail addresses
and numbers are taken out, and clearly more of them than Chinese characters (a foreign
resident's story may name 公安局).

Traditional replies are the Simplified texts through OpenCC's s2tw: Taiwan's standard
characters, no phrase substitutions. bench/traditional_variants.py scores 485 uses of 27
words in the replies where the conversions differ (2026-12-04): a form both Taiwan and
Hong Kong readers use for 365 with s2tw, 349 with s2twp (which also turns a video call
into a film, 视频 -> 影片, and 注销 into "log out", 登出), 251 with s2t (archaic 覈實, 爲,
羣), 142 with s2hk (説, 税, 賬户 read oddly in Taiwan).
"""

import re
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, Optional, Tuple

SIMPLIFIED = "zh-Hans"
TRADITIONAL = "zh-Hant"
ENGLISH = "en"
LANGUAGES = (SIMPLIFIED, TRADITIONAL, ENGLISH)
DEFAULT = SIMPLIFIED
# What HTML's lang attribute says for each (the widget's page and its texts).
HTML_LANG = {SIMPLIFIED: "zh-CN", TRADITIONAL: "zh-TW", ENGLISH: "en"}
# The OpenCC configuration for Traditional replies (see the module doc).
TRADITIONAL_CONFIG = "s2tw"

# A message needs this many Latin letters to be English ("ok", "hi", "ATM" are not)...
MIN_ENGLISH_LETTERS = 4
# ... and this many for each Chinese character in it.
LETTERS_PER_CHINESE_CHARACTER = 3

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Not words of a language: links, e-mail addresses, Rasa payloads (/intent{...}).
_NOT_WORDS = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|www\.)[!-~]*|[!-~]+@[!-~]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[!-~]*)?"
    r"|^\s*/\w+(?:\{.*\})?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _dictionary(name: str) -> Path:
    import opencc

    return Path(opencc.__file__).resolve().parent / "dictionary" / name


def _one_script_only(table: str) -> FrozenSet[str]:
    """The characters of an OpenCC character table that the other script never writes:
    those that convert and are not among their own conversions (这 -> 這; not 台 -> 臺 台)."""
    only = set()
    for line in _dictionary(table).read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        if len(source) == 1 and targets and source not in targets.split():
            only.add(source)
    return frozenset(only)


@lru_cache(maxsize=1)
def _scripts() -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """(Simplified-only characters, Traditional-only characters)."""
    simplified = _one_script_only("STCharacters.txt")
    traditional = _one_script_only("TSCharacters.txt") | _one_script_only("TWVariantsRev.txt")
    # A character both tables claim says nothing either way.
    both = simplified & traditional
    return simplified - both, traditional - both


def simplified_only(text: str) -> str:
    """The characters of `text` that only Simplified Chinese writes (for tests)."""
    simplified, _ = _scripts()
    return "".join(dict.fromkeys(char for char in text if char in simplified))


def script(text: str) -> Optional[str]:
    """"en", "zh-Hant", "zh-Hans", "zh" (Chinese, either script) or None (no telling)."""
    text = text or ""
    chinese = _CJK.findall(text)
    if len(_LATIN.findall(text)) >= MIN_ENGLISH_LETTERS:
        letters = len(_LATIN.findall(_NOT_WORDS.sub(" ", text)))
        if letters >= MIN_ENGLISH_LETTERS and letters > LETTERS_PER_CHINESE_CHARACTER * len(chinese):
            return ENGLISH
    if not chinese:
        return None
    simplified, traditional = _scripts()
    hans = sum(char in simplified for char in chinese)
    hant = sum(char in traditional for char in chinese)
    if hant > hans:
        return TRADITIONAL
    if hans > hant:
        return SIMPLIFIED
    return "zh"


def detect(text: str, previous: Optional[str] = None) -> Optional[str]:
    """The language to answer `text` in: its own script, else `previous` (None when
    neither tells). A Chinese message of either script keeps a previous Chinese language."""
    previous = previous if previous in LANGUAGES else None
    found = script(text)
    if found == "zh":
        return previous if previous in (SIMPLIFIED, TRADITIONAL) else SIMPLIFIED
    return found or previous


def reply_language(text: str, previous: Optional[str] = None) -> str:
    """detect(), falling back to Simplified: always a language to answer in."""
    return detect(text, previous) or DEFAULT


def from_tag(tag: object) -> Optional[str]:
    """The language an HTML lang tag or one of LANGUAGES names (en, zh-TW, zh-CN,
    zh-Hant…), else None: a channel's hint, e.g. the widget page's language."""
    if not isinstance(tag, str):
        return None
    lower = tag.strip().lower()
    if lower.startswith("en"):
        return ENGLISH
    if lower.startswith(("zh-tw", "zh-hk", "zh-mo", "zh-hant")):
        return TRADITIONAL
    return SIMPLIFIED if lower.startswith("zh") else None


def known(language: Optional[str]) -> str:
    """`language` if it is one of LANGUAGES, else the default (a bad slot value)."""
    return language if language in LANGUAGES else DEFAULT


@lru_cache(maxsize=1)
def _converter():
    from opencc import OpenCC

    return OpenCC(TRADITIONAL_CONFIG).convert


@lru_cache(maxsize=4096)
def to_traditional(text: str) -> str:
    """Simplified text in Traditional characters (cached: the same sentences recur)."""
    return _converter()(text) if _CJK.search(text) else text


def to_traditional_keeping(text: str, keep: Iterable[str]) -> str:
    """`text` in Traditional, except the passages in `keep` (the customer's own words,
    quoted), which stay as typed."""
    passages = sorted({k for k in keep if k and k in text}, key=len, reverse=True)
    if not passages:
        return to_traditional(text)
    pattern = re.compile("|".join(re.escape(p) for p in passages))
    parts, done = [], 0
    for match in pattern.finditer(text):
        parts += [to_traditional(text[done:match.start()]), match.group()]
        done = match.end()
    return "".join(parts) + to_traditional(text[done:])


@lru_cache(maxsize=1)
def _spellings() -> Dict[str, str]:
    """Simplified character -> a regex class of every character the NLU's normalisation
    turns into it (itself, its Traditional forms, its full-width form)."""
    forms: Dict[str, set] = {}
    for line in _dictionary("TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        first = targets.split(" ")[0] if targets else ""
        if len(source) == 1 and len(first) == 1:
            forms.setdefault(first, {first}).add(source)
    for code in range(0x21, 0x7F):
        forms.setdefault(chr(code), {chr(code)}).add(chr(code + 0xFEE0))
    forms.setdefault("账", {"账"}).update("帐帳")
    return {char: "[" + "".join(re.escape(f) for f in sorted(spelled)) + "]"
            for char, spelled in forms.items()}


# Marks the reader puts in a quote for what it does not repeat: a link, digits.
_QUOTE_MARKS = re.compile(r"(\[链接\]|×+)")


def as_typed(quote: str, typed: str) -> str:
    """`quote`, found in the normalised (Simplified, NFKC) text, in the customer's own
    characters from `typed`; the reader's marks for links and digits stay. `quote` as it
    is when it cannot be found (OpenCC rewrote a phrase)."""
    if not quote or quote in typed:
        return quote
    spellings = _spellings()
    parts = _QUOTE_MARKS.split(quote)
    pattern = "".join(
        r"[^\n]+?" if i % 2 else
        "(" + "".join(r"\s+" if c.isspace() else spellings.get(c, re.escape(c)) for c in part) + ")"
        for i, part in enumerate(parts)
    )
    found = re.search(pattern, typed)
    if not found:
        return quote
    literals = iter(found.groups())
    return "".join(part if i % 2 else next(literals) for i, part in enumerate(parts))


class LanguageMemory:
    """The last language of each conversation, for a channel that must answer by itself
    (the safe reply, the privacy warning, WeChat's own texts) when a message does not
    tell ("1", a button's payload). Bounded: the least recently heard are forgotten."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._last: "OrderedDict[str, str]" = OrderedDict()

    def hear(self, conversation: str, text: str, hint: Optional[str] = None) -> str:
        """The language to answer `text` in, remembered for the conversation; `hint` (a
        channel's, e.g. the widget page's) counts when nothing was heard before."""
        language = reply_language(text, self._last.get(conversation) or hint)
        self._last[conversation] = language
        self._last.move_to_end(conversation)
        while len(self._last) > self.size:
            self._last.popitem(last=False)
        return language

    def last(self, conversation: str) -> str:
        return self._last.get(conversation, DEFAULT)
