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
    """The bank that runs this assistant: BANK_NAME and BANK_HOTLINE, default ICBC."""
    name = os.environ.get("BANK_NAME", "").strip() or DEFAULT_BANK_NAME
    hotline = os.environ.get("BANK_HOTLINE", "").strip() or DEFAULT_BANK_HOTLINE
    if not re.fullmatch(r"\d{3,12}", hotline):
        raise ValueError(f"BANK_HOTLINE must be 3-12 digits, got {hotline!r}")
    return Bank(name=name, hotline=hotline)
