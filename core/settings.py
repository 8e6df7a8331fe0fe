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


DEFAULT_BANK_DOMAIN = "icbc.com.cn"
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}")


def bank_domain_from_env() -> str:
    """The bank's own web domain (its subdomains count too): BANK_DOMAIN, lower-cased.

    Default icbc.com.cn while the bank is ICBC. Another bank without BANK_DOMAIN gets "",
    no bank site vouched for: ICBC's domain under another bank's name would be wrong.
    BANK_DOMAIN without BANK_NAME is refused for the same reason.
    """
    domain = os.environ.get("BANK_DOMAIN", "").strip().lower()
    if domain and not os.environ.get("BANK_NAME", "").strip():
        raise ValueError("BANK_DOMAIN needs BANK_NAME and BANK_HOTLINE set with it")
    if domain and not _DOMAIN.fullmatch(domain):
        raise ValueError(f"BANK_DOMAIN must be a bare domain such as icbc.com.cn, got {domain!r}")
    if domain:
        return domain
    return DEFAULT_BANK_DOMAIN if bank_from_env().name == DEFAULT_BANK_NAME else ""
