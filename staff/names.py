"""The Chinese names staff read for the ids stored in the records."""

from functools import lru_cache
from typing import Dict, Optional

import yaml

from core import KNOWLEDGE
from core.assessment_records import GENUINE_NOTICE
from core.catalog import load_catalog
from core.handoff_records import STATUS_NAMES

RISK_NAMES = {"high": "高", "medium": "中", "low": "低"}
CHANNEL_NAMES = {"widget": "网页/扫码", "rest": "REST 接口", "wechat": "微信公众号"}
UNKNOWN = "未知"
# Issue 12's red flags: id -> name, when that file exists; otherwise the id is shown.
RED_FLAGS_FILE = KNOWLEDGE / "rules" / "red_flags.yml"


@lru_cache(maxsize=1)
def scam_names() -> Dict[str, str]:
    catalog = load_catalog()
    names = {scam_id: scam.name for scam_id, scam in catalog.scam_types.items()}
    names[catalog.suspected_fraud.id] = catalog.suspected_fraud.name
    names[GENUINE_NOTICE] = "像是真实通知（低风险）"
    return names


def scam_name(scam_id: Optional[str]) -> str:
    if not scam_id:
        return UNKNOWN
    return scam_names().get(scam_id, scam_id)


def risk_name(risk: Optional[str]) -> str:
    return RISK_NAMES.get(risk or "", UNKNOWN)


def channel_name(channel: Optional[str]) -> str:
    if not channel:
        return UNKNOWN
    return CHANNEL_NAMES.get(channel, channel)


def status_name(status: Optional[str]) -> str:
    return STATUS_NAMES.get(status or "", status or UNKNOWN)


@lru_cache(maxsize=1)
def flag_names() -> Dict[str, str]:
    """Flag id -> a short name: the part of the flag's label before its first "：" (the
    rest of the label explains it to the customer)."""
    try:
        raw = yaml.safe_load(RED_FLAGS_FILE.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    entries = raw.get("flags") if isinstance(raw, dict) else None
    names = {}
    for flag, entry in entries.items() if isinstance(entries, dict) else ():
        label = entry.get("name") or entry.get("label") if isinstance(entry, dict) else None
        if isinstance(label, str) and label.strip():
            names[str(flag)] = label.split("：", 1)[0].strip()
    return names


def flag_name(flag: str) -> str:
    return flag_names().get(flag, flag)
