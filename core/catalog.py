"""Loads what the assistant knows: catalog.yml (scam types) and official_numbers.yml."""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

import yaml

from core import KNOWLEDGE
from core.settings import Bank
CATALOG_FILE = KNOWLEDGE / "catalog.yml"
NUMBERS_FILE = KNOWLEDGE / "official_numbers.yml"

# In a catalog `hotlines` list, this word stands for the configured bank's hotline.
BANK_HOTLINE_REF = "bank"
RISK_LEVELS = ("low", "medium", "high")
# The payload's scam_type when the story shows warning signs but fits no catalog type.
SUSPECTED_FRAUD = "suspected_fraud"

# YAML's folded style joins lines with a space; Chinese text has none between sentences.
_SPACE_BY_CHINESE = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])\s+|\s+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")


def _tidy(text: str) -> str:
    return _SPACE_BY_CHINESE.sub("", text.strip())


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
class OfficialNumber:
    number: str
    owner: str
    purpose: str


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


@lru_cache(maxsize=1)
def load_official_numbers() -> Tuple[OfficialNumber, ...]:
    raw = yaml.safe_load(NUMBERS_FILE.read_text(encoding="utf-8"))
    return tuple(
        OfficialNumber(number=str(n["number"]), owner=n["owner"], purpose=n["purpose"])
        for n in raw["numbers"]
    )


def official_directory(bank: Bank) -> Dict[str, OfficialNumber]:
    """Every number the assistant may say: the official list plus the bank's hotline."""
    directory = {entry.number: entry for entry in load_official_numbers()}
    if bank.hotline not in directory:
        directory[bank.hotline] = OfficialNumber(
            number=bank.hotline,
            owner=f"{bank.name}客服热线",
            purpose="冻结银行卡、紧急止付、核实自称本行的来电；本行从不索要密码或验证码",
        )
    return directory


def resolve_hotlines(hotlines: Tuple[str, ...], bank: Bank) -> List[str]:
    """Catalog hotline references to the numbers to dial, `bank` replaced, order kept."""
    resolved = [bank.hotline if ref == BANK_HOTLINE_REF else ref for ref in hotlines]
    return list(dict.fromkeys(resolved))
