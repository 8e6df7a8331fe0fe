"""The scam-type catalog (knowledge/catalog.yml): what each type is and what to do."""

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Optional, Tuple

import yaml

from core import KNOWLEDGE
from core.wording import tidy as _tidy

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


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    raw = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8"))
    scam_types = {
        scam_id: _scam_type(scam_id, entry) for scam_id, entry in raw["scam_types"].items()
    }
    return Catalog(
        scam_types=scam_types,
        money_lost=_money_lost(raw["money_lost"]),
        suspected_fraud=_scam_type(SUSPECTED_FRAUD, raw["suspected_fraud"]),
        risk_signals=tuple(raw["risk_signals"]),
    )
