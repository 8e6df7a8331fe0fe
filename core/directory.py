"""The official-number directory (knowledge/official_numbers.yml): every number the
assistant may say, plus the configured bank's hotline."""

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Tuple

import yaml

from core import KNOWLEDGE
from core.settings import Bank

NUMBERS_FILE = KNOWLEDGE / "official_numbers.yml"
# In a catalog `hotlines` list, this word stands for the configured bank's hotline.
BANK_HOTLINE_REF = "bank"


@dataclass(frozen=True)
class OfficialNumber:
    number: str
    owner: str
    purpose: str


@lru_cache(maxsize=1)
def _raw() -> dict:
    return yaml.safe_load(NUMBERS_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_official_numbers() -> Tuple[OfficialNumber, ...]:
    return tuple(
        OfficialNumber(number=str(n["number"]), owner=n["owner"], purpose=n["purpose"])
        for n in _raw()["numbers"]
    )


def official_directory(bank: Bank) -> Dict[str, OfficialNumber]:
    """Every number the assistant may say: the official list plus the bank's hotline."""
    directory = {entry.number: entry for entry in load_official_numbers()}
    if bank.hotline not in directory:
        template = _raw()["bank_hotline"]
        directory[bank.hotline] = OfficialNumber(
            number=bank.hotline,
            owner=template["owner"].format(bank_name=bank.name),
            purpose=template["purpose"],
        )
    return directory


def resolve_hotlines(hotlines: Iterable[str], bank: Bank) -> List[str]:
    """Catalog hotline references to the numbers to dial, `bank` replaced, order kept."""
    resolved = [bank.hotline if ref == BANK_HOTLINE_REF else ref for ref in hotlines]
    return list(dict.fromkeys(resolved))
