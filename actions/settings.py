"""Deployment configuration read from the environment (one place, with defaults)."""

import os
import re
from dataclasses import dataclass

DEFAULT_BANK_NAME = "工商银行"
DEFAULT_BANK_HOTLINE = "95588"


@dataclass(frozen=True)
class Bank:
    name: str
    hotline: str


def bank_from_env() -> Bank:
    """The bank that runs this assistant: BANK_NAME and BANK_HOTLINE, default ICBC.

    Both or neither: another bank's name with ICBC's hotline would send customers wrong.
    """
    name = os.environ.get("BANK_NAME", "").strip()
    hotline = os.environ.get("BANK_HOTLINE", "").strip()
    if bool(name) != bool(hotline):
        raise ValueError("BANK_NAME and BANK_HOTLINE must be set together (or neither)")
    if hotline and not re.fullmatch(r"[0-9]{3,12}", hotline):
        raise ValueError(f"BANK_HOTLINE must be 3-12 ASCII digits, got {hotline!r}")
    return Bank(name=name or DEFAULT_BANK_NAME, hotline=hotline or DEFAULT_BANK_HOTLINE)
