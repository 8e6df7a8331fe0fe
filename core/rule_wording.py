"""What the rules say to the customer, in the reply's language.

The reader's flag and sign labels (red_flags.yml, genuine_signs.yml), the reasons of a
number check (number_rules.yml) and a link check (link_rules.yml), and the owners of the
official domains are written in Chinese beside the rules; their English lives beside
them in the same file name with .en.yml, keyed the same way. The checks themselves stay
language-blind: they give ids and fields, and these functions say them. Chinese comes
back as the rules wrote it (a Traditional reply converts it with everything else).
"""

from functools import lru_cache
from typing import Dict, Mapping, Tuple

import yaml

from core import KNOWLEDGE, RULES
from core.language import ENGLISH
from core.links import LinkVerdict
from core.numbers import NumberVerdict
from core.settings import Bank

RED_FLAGS_EN = RULES / "red_flags.en.yml"
GENUINE_SIGNS_EN = RULES / "genuine_signs.en.yml"
NUMBER_RULES_EN = RULES / "number_rules.en.yml"
LINK_RULES_EN = RULES / "link_rules.en.yml"
OFFICIAL_DOMAINS_EN = KNOWLEDGE / "official_domains.en.yml"


@lru_cache(maxsize=None)
def _english(path) -> Mapping:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def flag_label(flag_id: str, label: str, language: str) -> str:
    """A red flag's label (`label` is the Chinese one the reader found)."""
    return _english(RED_FLAGS_EN)["flags"][flag_id] if language == ENGLISH else label


def sign_label(sign_id: str, label: str, language: str, quote: str = "") -> str:
    """A genuine sign's label (`label` is the Chinese one; the sender's signature, which
    the official_sender label names, is `quote`)."""
    if language != ENGLISH:
        return label
    return _english(GENUINE_SIGNS_EN)["signs"][sign_id].format(sender=quote)


def number_reasons(verdict: NumberVerdict, language: str) -> Tuple[str, ...]:
    """Why a number is suspicious (or, official, that caller ID can be faked)."""
    if language != ENGLISH:
        return verdict.reasons
    texts = _english(NUMBER_RULES_EN)["reasons"]
    official = verdict.official_number or verdict.imitates
    return tuple(texts[pattern].format(official=official) for pattern in verdict.patterns)


def domain_owner(domain: str, owner: str, bank: Bank, language: str) -> str:
    """Who runs an official domain: the list's owner, or the bank (its own domain)."""
    if language != ENGLISH:
        return owner
    english = _english(OFFICIAL_DOMAINS_EN)["domains"]
    return english.get(domain) or (bank.name_in(ENGLISH) if owner == bank.name else owner)


def link_reasons(verdict: LinkVerdict, bank: Bank, language: str) -> Tuple[str, ...]:
    """Why a link is or is not an official site; a suspicious address is never repeated."""
    if language != ENGLISH or not verdict.findings:
        return verdict.reasons
    texts = _english(LINK_RULES_EN)["reasons"]
    said = []
    for pattern, field_items in verdict.findings:
        fields: Dict[str, str] = dict(field_items)
        if "owner" in fields:
            fields["owner"] = domain_owner(fields.get("domain", ""), fields["owner"], bank, language)
        said.append(texts[pattern].format(**fields))
    return tuple(said)


def link_owner(verdict: LinkVerdict, bank: Bank, language: str) -> str:
    """The owner of an official link's site in `language`."""
    domain = dict(dict(verdict.findings).get("official", ())).get("domain", "")
    return domain_owner(domain, verdict.owner, bank, language)
