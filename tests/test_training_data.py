"""The training data and the hold-out set: enough, varied, and kept apart."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from core.catalog import load_catalog
from core.text import normalise

REPO = Path(__file__).resolve().parents[1]
SEED_TYPES = {"tax_refund", "impersonate_police", "impersonate_social_security", "credential_request"}


def _examples(*files: Path) -> list:
    """(intent, text) pairs with entity annotations reduced to their text."""
    pairs = []
    for path in files:
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                if line.strip():
                    text = line.strip()[2:]
                    pairs.append((block["intent"], _strip_annotations(text)))
    return pairs


def _strip_annotations(text: str) -> str:
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)


TRAINING = _examples(*sorted((REPO / "data" / "nlu").glob("*.yml")))
# Two hold-outs, each written apart from the training data: customers' own stories, and
# pasted messages (SMS, chat logs, notices) with genuine notices among them.
HOLDOUT = _examples(REPO / "tests" / "nlu_holdout.yml", REPO / "tests" / "pasted_holdout.yml")
DOMAIN_INTENTS = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))["intents"]


@pytest.mark.parametrize("scam_id", sorted(load_catalog().scam_types))
def test_each_scam_type_has_enough_examples(scam_id):
    count = Counter(intent for intent, _ in TRAINING)[f"scam_{scam_id}"]
    assert count >= (60 if scam_id in SEED_TYPES else 30)


@pytest.mark.parametrize("intent", [f"scam_{scam_id}" for scam_id in sorted(load_catalog().scam_types)])
def test_each_scam_type_has_pasted_messages_long_ones_among_them(intent):
    texts = [text for label, text in TRAINING if label == intent]
    pasted = [text for text in texts if len(text) >= 60]
    long = [text for text in texts if 300 <= len(text) <= 1500]
    assert len(pasted) >= 25 and len(long) >= 8


def test_genuine_notices_are_trained_in_the_forms_people_paste():
    texts = [text for label, text in TRAINING if label == "genuine_notice"]
    assert len(texts) >= 150 and len([t for t in texts if len(t) >= 300]) >= 20


def test_every_domain_intent_is_trained_and_held_out():
    trained = {intent for intent, _ in TRAINING}
    held_out = {intent for intent, _ in HOLDOUT}
    assert set(DOMAIN_INTENTS) == trained == held_out


def test_scam_intents_are_the_catalog_types():
    scam_intents = {i[len("scam_"):] for i in DOMAIN_INTENTS if i.startswith("scam_")}
    assert scam_intents == set(load_catalog().scam_types)


def test_hold_out_never_appears_in_training():
    trained = {normalise(text) for _, text in TRAINING}
    leaked = [text for _, text in HOLDOUT if normalise(text) in trained]
    assert leaked == []


def test_no_example_is_labelled_twice():
    labels = {}
    for intent, text in TRAINING:
        labels.setdefault(normalise(text), set()).add(intent)
    assert {text: i for text, i in labels.items() if len(i) > 1} == {}


def test_data_is_not_stamped_from_a_template():
    """No two examples of one intent differ only in a few characters."""
    from difflib import SequenceMatcher

    by_intent = {}
    for intent, text in TRAINING:
        by_intent.setdefault(intent, []).append(normalise(text))
    near_twins = []
    for intent, texts in by_intent.items():
        long_texts = sorted((t for t in texts if len(t) >= 12), key=len)
        for i, a in enumerate(long_texts):
            matcher = SequenceMatcher(None, b=a, autojunk=False)
            for b in long_texts[i + 1:]:
                # Sorted by length: past 1.22x a's length the ratio cannot pass 0.9.
                if len(b) * 0.9 > len(a) * 1.1:
                    break
                matcher.set_seq1(b)
                if matcher.real_quick_ratio() > 0.9 and matcher.quick_ratio() > 0.9 \
                        and matcher.ratio() > 0.9:
                    near_twins.append((intent, a, b))
    assert near_twins == []


def test_training_data_speaks_like_customers():
    texts = [text for _, text in TRAINING]
    traditional = [t for t in texts if any(c in t for c in "說稅務帳錢詐騙資戶電話們這銀險")]
    english = [t for t in texts if sum(c.isascii() and c.isalpha() for c in t) > len(t) * 0.6]
    pasted = [t for t in texts if len(t) >= 100]
    assert len(traditional) >= 30 and len(english) >= 40 and len(pasted) >= 40
