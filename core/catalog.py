"""The scam-type catalog (knowledge/catalog.yml): what each type is and what to do.

`load_catalog(language)` gives it in the reply's language: English words from
knowledge/catalog.en.yml (the same ids; risks and hotlines stay in catalog.yml), the
Traditional words through OpenCC.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Optional, Tuple

import yaml

from core import KNOWLEDGE
from core.language import ENGLISH, SIMPLIFIED, TRADITIONAL, to_traditional
from core.wording import english_file, tidy as _tidy

CATALOG_FILE = KNOWLEDGE / "catalog.yml"

RISK_LEVELS = ("low", "medium", "high")
# The payload's scam_type when the story shows warning signs but fits no catalog type.
SUSPECTED_FRAUD = "suspected_fraud"

@dataclass(frozen=True)
class ScamType:
    id: str
    name: str
    risk: str
    verdict: str
    how_it_goes: str
    red_flags: Tuple[str, ...]
    steps: Tuple[str, ...]
    hotlines: Tuple[str, ...]
    seed_case: Optional[str] = None


@dataclass(frozen=True)
class Guidance:
    """A fixed piece of advice that is not a scam type (e.g. money already gone)."""

    verdict: str
    steps: Tuple[str, ...]
    hotlines: Tuple[str, ...]


@dataclass(frozen=True)
class MoneyLostGuidance(Guidance):
    """Money gone; when the customer's words show a code or password went too, the
    code steps come first."""

    code_given_words: Tuple[str, ...] = ()
    code_given_steps: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    scam_types: Dict[str, ScamType]
    money_lost: MoneyLostGuidance
    # A story with warning signs but no type to name; its id is SUSPECTED_FRAUD.
    suspected_fraud: ScamType
    risk_signals: Tuple[str, ...]


def _scam_type(scam_id: str, entry: dict) -> ScamType:
    return ScamType(
        id=scam_id,
        name=entry["name"],
        risk=entry["risk"],
        verdict=_tidy(entry["verdict"]),
        how_it_goes=_tidy(entry["how_it_goes"]),
        red_flags=tuple(entry["red_flags"]),
        steps=tuple(entry["steps"]),
        hotlines=tuple(str(n) for n in entry["hotlines"]),
        seed_case=_tidy(entry["seed_case"]) if entry.get("seed_case") else None,
    )


def _money_lost(raw: dict) -> MoneyLostGuidance:
    return MoneyLostGuidance(
        verdict=_tidy(raw["verdict"]),
        steps=tuple(raw["steps"]),
        hotlines=tuple(str(n) for n in raw["hotlines"]),
        code_given_words=tuple(raw["code_given_words"]),
        code_given_steps=tuple(raw["code_given_steps"]),
    )


# The words of an entry (the rest is data: risk, hotlines, matching words).
WORDS = ("name", "verdict", "how_it_goes", "red_flags", "steps", "seed_case", "code_given_steps")


def _in_language(entry: dict, english: Optional[dict], language: str) -> dict:
    """`entry` with its words in `language`: English from `english`, Traditional converted."""
    if language == ENGLISH:
        entry = {**entry, **{key: value for key, value in (english or {}).items() if key in WORDS}}
    elif language == TRADITIONAL:
        entry = {key: (_traditional(value) if key in WORDS else value) for key, value in entry.items()}
    return entry


def _traditional(value):
    if isinstance(value, list):
        return [to_traditional(_tidy(str(item))) for item in value]
    return to_traditional(_tidy(str(value)))


@lru_cache(maxsize=1)
def load_english_catalog() -> dict:
    return yaml.safe_load(english_file(CATALOG_FILE).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def load_catalog(language: str = SIMPLIFIED) -> Catalog:
    raw = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    english = load_english_catalog()
    scam_types = {
        scam_id: _scam_type(scam_id, _in_language(entry, english["scam_types"].get(scam_id), language))
        for scam_id, entry in raw["scam_types"].items()
    }
    # Words that show a code went too are looked for in both languages, whatever the reply's.
    money_lost = {**raw["money_lost"], "code_given_words": [
        *raw["money_lost"]["code_given_words"], *english["money_lost"]["code_given_words"]]}
    return Catalog(
        scam_types=scam_types,
        money_lost=_money_lost(_in_language(money_lost, english["money_lost"], language)),
        suspected_fraud=_scam_type(
            SUSPECTED_FRAUD, _in_language(raw["suspected_fraud"], english["suspected_fraud"], language)),
        risk_signals=tuple(raw["risk_signals"]),
    )
