"""The assistant's sentences (knowledge/replies.yml), looked up by key and filled in.

    say("handoff.call", bank=bank, branch_hours="…")  ->  "请拨打工商银行客服热线 95588，…"

Keys are dotted paths into the file. Every text may use {bank_name} and {bank_hotline}
(from `bank`) besides the fields passed by name; a field the text needs and nobody gave
is a KeyError, so a typo in the file fails a test rather than a customer's reply.
A sentence said in two places is written once: a YAML anchor (&name) where it stands and
an alias (*name) in a list of sentences elsewhere, said one after the other.

Each function takes the reply's `language` (core/language.py): English sentences come
from knowledge/replies.en.yml (the same keys), Traditional ones are the Simplified
sentences through OpenCC, converted before the fields are filled in, so what the caller
passes (a quote of the customer's words) stays as it is. A caller that passes Chinese
fields for a Traditional reply converts them itself (the catalog and directory loaders
do, given the language).
"""

import re
from functools import lru_cache
from typing import Any, Dict, List, Optional

import yaml

from core import KNOWLEDGE
from core.language import ENGLISH, SIMPLIFIED, TRADITIONAL, to_traditional
from core.settings import Bank

REPLIES_FILE = KNOWLEDGE / "replies.yml"
# The language knowledge/replies.yml is written in (a BCP 47 tag, as HTML's lang).
LANGUAGE = "zh-CN"
# YAML's folded style joins lines with a space; Chinese text has none between sentences.
_SPACE_BY_CHINESE = re.compile(
    r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])\s+|\s+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])"
)


def tidy(text: str) -> str:
    """`text` without the spaces YAML's folding put between Chinese sentences."""
    return _SPACE_BY_CHINESE.sub("", text.strip())


def english_file(path):
    """The English texts beside a knowledge file: replies.yml -> replies.en.yml."""
    return path.with_name(path.name.replace(".yml", ".en.yml"))


@lru_cache(maxsize=1)
def load_wording() -> Dict[str, Any]:
    return yaml.safe_load(REPLIES_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_english_wording() -> Dict[str, Any]:
    return yaml.safe_load(english_file(REPLIES_FILE).read_text(encoding="utf-8"))


def entry(key: str, language: str = SIMPLIFIED) -> Any:
    """The raw value at `key` (a string, a list or a section), as written: English from
    replies.en.yml, both Chinese scripts from replies.yml."""
    value: Any = load_english_wording() if language == ENGLISH else load_wording()
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"knowledge/replies{'.en' if language == ENGLISH else ''}.yml has no {key!r}")
        value = value[part]
    return value


def _fill(text: str, bank: Optional[Bank], fields: Dict[str, Any], language: str = SIMPLIFIED) -> str:
    if language == TRADITIONAL:
        text = to_traditional(text)
    if bank is not None:
        name = bank.name_in(language)
        fields = {"bank_name": to_traditional(name) if language == TRADITIONAL else name,
                  "bank_hotline": bank.hotline, **fields}
    # Literal "\n" in a plain YAML scalar is a line break the writer meant.
    return text.replace("\\n", "\n").format(**fields)


def say(key: str, bank: Optional[Bank] = None, language: str = SIMPLIFIED, **fields: Any) -> str:
    """The sentence at `key` in `language`, its {fields} filled in; a list of sentences,
    one after the other (with a space between English ones)."""
    value = entry(key, language)
    if isinstance(value, list):
        joiner = " " if language == ENGLISH else ""
        return joiner.join(say_each(key, bank, language, **fields))
    if not isinstance(value, str):
        raise TypeError(f"knowledge/replies.yml: {key!r} is not a sentence")
    return _fill(value, bank, fields, language)


def say_each(key: str, bank: Optional[Bank] = None, language: str = SIMPLIFIED, **fields: Any) -> List[str]:
    """The list of sentences at `key`, each filled in."""
    value = entry(key, language)
    if not isinstance(value, list):
        raise TypeError(f"knowledge/replies.yml: {key!r} is not a list")
    return [_fill(str(item), bank, fields, language) for item in value]


def say_all(key: str, bank: Optional[Bank] = None, language: str = SIMPLIFIED, **fields: Any) -> Any:
    """The section at `key` as it is, every sentence in it filled in (for a client that
    shows them itself, e.g. the website widget)."""

    def filled(value: Any) -> Any:
        if isinstance(value, dict):
            return {name: filled(item) for name, item in value.items()}
        if isinstance(value, list):
            return [filled(item) for item in value]
        return _fill(str(value), bank, fields, language)

    return filled(entry(key, language))


def button(intent: str, language: str = SIMPLIFIED) -> Dict[str, str]:
    """A button whose title is buttons.<intent> and whose payload triggers that intent."""
    return {"title": say(f"buttons.{intent}", language=language), "payload": f"/{intent}"}
