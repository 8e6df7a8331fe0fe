"""The baseline of bench/perf.py: bare Rasa 3.6.21 with the same NLU model.

A scratch project with our config.yml (the same NLU pipeline and policies) and our NLU
data, and a domain of plain responses: every intent is answered by a rule with one
fixed text. No custom actions, no forms, no slots, the in-memory tracker store and
Rasa's own REST channel.
"""

import os
import shutil
from pathlib import Path
from typing import Dict, List

import yaml

REPO = Path(__file__).resolve().parents[1]


def _our_domain() -> Dict:
    return yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))


def bare_domain(intents: List[str], entities: List[str]) -> Dict:
    responses = {f"utter_{intent}": [{"text": f"（{intent}）收到。"}] for intent in intents}
    responses["utter_default"] = [{"text": "抱歉，我没太明白。"}]
    return {
        "version": "3.1",
        "intents": intents,
        "entities": entities,
        "responses": responses,
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }


def bare_rules(intents: List[str]) -> Dict:
    rules = [
        {"rule": f"answer {intent}", "steps": [{"intent": intent}, {"action": f"utter_{intent}"}]}
        for intent in intents
    ]
    rules.append({
        "rule": "answer what the NLU is unsure of",
        "steps": [{"intent": "nlu_fallback"}, {"action": "utter_default"}],
    })
    return {"version": "3.1", "rules": rules}


def write_bare_project(directory: Path) -> Path:
    """The bare project in `directory` (made afresh); returns it."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "data").mkdir(parents=True)
    domain = _our_domain()
    intents = list(domain["intents"])
    entities = list(domain["entities"])
    (directory / "domain.yml").write_text(
        yaml.safe_dump(bare_domain(intents, entities), allow_unicode=True), encoding="utf-8"
    )
    (directory / "data" / "rules.yml").write_text(
        yaml.safe_dump(bare_rules(intents), allow_unicode=True), encoding="utf-8"
    )
    # The same NLU: our pipeline's components, user dictionary and examples, unchanged.
    # …and the same policies, falling back to Rasa's own action (ours is a custom one).
    config = yaml.safe_load((REPO / "config.yml").read_text(encoding="utf-8"))
    for policy in config["policies"]:
        if "core_fallback_action_name" in policy:
            policy["core_fallback_action_name"] = "action_default_fallback"
    (directory / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    # The pipeline's components are server.nlu.* (which read core/): the same packages.
    for package in ("server", "core", "knowledge"):
        os.symlink(REPO / package, directory / package)
    os.symlink(REPO / "data" / "nlu", directory / "data" / "nlu")
    os.symlink(REPO / "data" / "jieba_userdict", directory / "data" / "jieba_userdict")
    return directory
