"""Risk scoring: deterministic rules, no model.

`score_risk` raises a classified scam type's risk on a red-flag word. `assess_answers`
judges the clarifying form's answers plus what the messages show, by the rules written
as data in risk_rules.yml; `match_option` maps a free-text answer to a form option.
risk_rules.en.yml adds English words for the options, the skip words and the signals
(so "police", "I don't know" and "no" are answers too), and says each rule's reason in
English (`reasons_in`). Words in Latin letters match only as whole words.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple, Union

import yaml

from core import RULES
from core.catalog import RISK_LEVELS, load_catalog

RISK_RULES_FILE = RULES / "risk_rules.yml"
ENGLISH_RISK_RULES_FILE = RULES / "risk_rules.en.yml"
QUESTIONS = ("claimed_identity", "requested_action", "money_gone")
CONDITION_KEYS = (*QUESTIONS, "signal", "entity")
# The answer recorded when the customer cannot or will not answer ("不知道", "跳过").
SKIP = "skip"

Option = Union[str, bool]  # money_gone's options are True and False
# One condition: each key's value must be one of the listed ones, for every key.
Condition = Mapping[str, FrozenSet[Option]]


def score_risk(base_risk: str, message: str, high_risk_signals: Iterable[str]) -> str:
    """The scam type's own risk, raised to high when the message shows a red-flag signal.

    A signal is a word such as 安全账户 or 验证码: the scam has reached the point of asking
    for money, a code or control of a device.
    """
    if base_risk not in RISK_LEVELS:
        raise ValueError(f"unknown risk level {base_risk!r}")
    text = (message or "").lower()
    if any(signal.lower() in text for signal in high_risk_signals):
        return "high"
    return base_risk


# --- the rules as data ------------------------------------------------------------


@dataclass(frozen=True)
class RiskRule:
    when: Tuple[Condition, ...]  # any one of these
    risk: str
    reason: str
    id: str = ""


@dataclass(frozen=True)
class ScamTypeRule:
    when: Tuple[Condition, ...]
    scam_type: str


@dataclass(frozen=True)
class RiskRules:
    # question -> option -> the words that mean it (lower case, the option's own name first)
    options: Dict[str, Dict[Option, Tuple[str, ...]]]
    skip_words: Tuple[str, ...]
    signals: Dict[str, Tuple[str, ...]]
    entities: Tuple[str, ...]
    risk_rules: Tuple[RiskRule, ...]
    scam_type_rules: Tuple[ScamTypeRule, ...]


@dataclass(frozen=True)
class RiskAssessment:
    """The verdict on a reported contact.

    `risk` is low, medium or high; `reasons` are short Chinese sentences in rule order;
    `scam_type` is a catalog id, or None when no type fits (reply as suspected fraud);
    `signals` are the names of the signals found in the text (risk_rules.yml).
    """

    risk: str
    reasons: Tuple[str, ...]
    scam_type: Optional[str]
    signals: Tuple[str, ...]
    # The ids of the rules whose reasons these are, in the same order.
    reason_ids: Tuple[str, ...] = ()


@lru_cache(maxsize=1)
def load_english_risk_rules() -> Mapping:
    return yaml.safe_load(ENGLISH_RISK_RULES_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_risk_rules() -> RiskRules:
    raw = yaml.safe_load(RISK_RULES_FILE.read_text(encoding="utf-8"))
    return parse_risk_rules(raw, load_catalog().scam_types, load_english_risk_rules())


def reasons_in(assessment: "RiskAssessment", language: str) -> Tuple[str, ...]:
    """The assessment's reasons in `language`: English from risk_rules.en.yml (by rule
    id); Chinese as written (a Traditional reply converts them with the rest)."""
    if language != "en":
        return assessment.reasons
    english = load_english_risk_rules()["reasons"]
    return tuple(english[rule_id] for rule_id in assessment.reason_ids)


def _with_english(raw: Mapping, english: Optional[Mapping]) -> Mapping:
    """risk_rules.yml's words with risk_rules.en.yml's added (options, skips, signals)."""
    if not english:
        return raw
    extra = english["questions"]
    unknown = [(q, o) for q in extra for o in extra[q] if o not in (raw["questions"].get(q) or {})]
    if unknown:
        raise ValueError(f"risk_rules.en.yml: {unknown} are not options of risk_rules.yml")
    unknown_signals = set(english.get("signals") or {}) - set(raw["signals"])
    if unknown_signals:
        raise ValueError(f"risk_rules.en.yml: unknown signals {sorted(unknown_signals)}")
    return {
        **raw,
        "questions": {
            question: {option: [*words, *(extra.get(question, {}).get(option) or [])]
                       for option, words in options.items()}
            for question, options in raw["questions"].items()
        },
        "skip_words": [*raw["skip_words"], *english["skip_words"]],
        "signals": {name: [*words, *((english.get("signals") or {}).get(name) or [])]
                    for name, words in raw["signals"].items()},
    }


def parse_risk_rules(
    raw: Mapping, scam_type_ids: Iterable[str], english: Optional[Mapping] = None
) -> RiskRules:
    """Checks and reads risk_rules.yml's content (and risk_rules.en.yml's words, when
    given); a ValueError names the first mistake."""
    if set(raw["questions"]) != set(QUESTIONS):
        raise ValueError(f"risk_rules.yml: questions must be exactly {QUESTIONS}")
    raw = _with_english(raw, english)
    options = {question: _options(question, raw["questions"][question]) for question in QUESTIONS}
    if set(options["money_gone"]) != {True, False}:
        raise ValueError("risk_rules.yml: money_gone's options must be true and false")
    skip_words = _words("skip_words", raw["skip_words"])
    for question, words_by_option in options.items():
        _refuse_shared_words(question, [*words_by_option.values(), skip_words])
    signals = {str(name): _words(f"signal {name}", words) for name, words in raw["signals"].items()}
    entities = tuple(str(entity) for entity in raw["entities"])
    known = {**{q: set(options[q]) for q in QUESTIONS}, "signal": set(signals), "entity": set(entities)}

    risk_rules = []
    for i, entry in enumerate(raw["risk_rules"]):
        where = f"risk_rules[{i}]"
        _refuse_other_keys(where, entry, {"id", "when", "risk", "reason"})
        if entry["risk"] not in RISK_LEVELS:
            raise ValueError(f"risk_rules.yml: {where}: risk must be one of {RISK_LEVELS}")
        if not str(entry["reason"]).strip():
            raise ValueError(f"risk_rules.yml: {where}: empty reason")
        if english and entry["id"] not in english["reasons"]:
            raise ValueError(f"risk_rules.en.yml: no reason for {entry['id']!r}")
        when = _conditions(where, entry["when"], known)
        risk_rules.append(RiskRule(when=when, risk=entry["risk"], reason=str(entry["reason"]),
                                   id=str(entry["id"])))

    scam_type_ids = set(scam_type_ids)
    scam_type_rules = []
    for i, entry in enumerate(raw["scam_type_rules"]):
        where = f"scam_type_rules[{i}]"
        _refuse_other_keys(where, entry, {"when", "type"})
        if entry["type"] not in scam_type_ids:
            raise ValueError(f"risk_rules.yml: {where}: {entry['type']!r} is not a catalog scam type")
        when = _conditions(where, entry["when"], known)
        scam_type_rules.append(ScamTypeRule(when=when, scam_type=entry["type"]))

    return RiskRules(
        options=options,
        skip_words=skip_words,
        signals=signals,
        entities=entities,
        risk_rules=tuple(risk_rules),
        scam_type_rules=tuple(scam_type_rules),
    )


def _options(question: str, raw: Optional[Mapping]) -> Dict[Option, Tuple[str, ...]]:
    if not raw:
        raise ValueError(f"risk_rules.yml: question {question} has no options")
    options = {}
    for option, words in raw.items():
        # A button's title is the option's name, so the name itself is one of its words.
        own_name = (_normalise(option),) if isinstance(option, str) else ()
        options[option] = tuple(dict.fromkeys(own_name + _words(f"{question} {option}", words)))
    return options


def _words(where: str, raw) -> Tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(w, str) and w.strip() for w in raw):
        raise ValueError(f"risk_rules.yml: {where} must be a non-empty list of words")
    return tuple(_normalise(word) for word in raw)


def _refuse_shared_words(question: str, word_lists: List[Tuple[str, ...]]) -> None:
    seen = set()
    for words in word_lists:
        shared = seen & set(words)
        if shared:
            raise ValueError(f"risk_rules.yml: {question}: {sorted(shared)} mean two answers")
        seen |= set(words)


def _refuse_other_keys(where: str, entry: Mapping, allowed: set) -> None:
    if set(entry) != allowed:
        raise ValueError(f"risk_rules.yml: {where} must have exactly the keys {sorted(allowed)}")


def _conditions(where: str, raw, known: Dict[str, set]) -> Tuple[Condition, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"risk_rules.yml: {where}: when must be a non-empty list")
    conditions = []
    for condition in raw:
        if not isinstance(condition, dict) or not condition:
            raise ValueError(f"risk_rules.yml: {where}: a condition must be a non-empty mapping")
        parsed = {}
        for key, value in condition.items():
            if key not in CONDITION_KEYS:
                raise ValueError(f"risk_rules.yml: {where}: unknown condition key {key!r}")
            values = frozenset(value if isinstance(value, list) else [value])
            unknown = values - known[key]
            if unknown:
                raise ValueError(f"risk_rules.yml: {where}: unknown {key} {sorted(map(str, unknown))}")
            parsed[key] = values
        conditions.append(parsed)
    return tuple(conditions)


# --- applying them ----------------------------------------------------------------


def _normalise(text: str) -> str:
    """Full-width to ASCII and lower case, so ＡＴＭ, atm and ATM are one word; a typographic
    apostrophe is the ASCII one (don’t = don't)."""
    return unicodedata.normalize("NFKC", text or "").lower().replace("’", "'")


def _word_pattern(word: str) -> str:
    """`word` as a regex: a Latin-letter end matches only at a word boundary ("no" is not
    found in "know"); Chinese needs no boundary."""
    pattern = re.escape(word)
    if word[:1].isascii() and word[:1].isalpha():
        pattern = r"(?<![a-z'])" + pattern
    if word[-1:].isascii() and word[-1:].isalpha():
        pattern += r"(?![a-z'])"
    return pattern


@lru_cache(maxsize=256)
def _any_word(words: Tuple[str, ...]):
    return re.compile("|".join(_word_pattern(word) for word in sorted(words, key=len, reverse=True)))


def find_signals(text: str) -> Tuple[str, ...]:
    """The names of the risk_rules.yml signals whose words occur in `text`, in file order."""
    text = _normalise(text)
    signals = load_risk_rules().signals
    return tuple(name for name, words in signals.items() if _any_word(words).search(text))


def match_option(question: str, text: str) -> Union[Option, None]:
    """The form option a free-text answer means, SKIP for "不知道", or None if unclear.

    Every word of every option is looked for; a word found inside a longer found word
    does not count ("没转" in "转没转"). An option beats a skip word; among options the
    longest word wins, then the option listed first in risk_rules.yml.
    """
    if question not in QUESTIONS:
        raise ValueError(f"unknown question {question!r}; expected one of {QUESTIONS}")
    rules = load_risk_rules()
    text = _normalise(text)
    candidates = [*rules.options[question].items(), (SKIP, rules.skip_words)]
    hits = [
        (match.start(), match.end(), rank)
        for rank, (_, words) in enumerate(candidates)
        for word in words
        for match in re.finditer(_word_pattern(word), text)
    ]
    hits = _outermost(hits)
    if not hits:
        return None
    skip_rank = len(candidates) - 1
    _, _, rank = min(hits, key=lambda hit: (hit[2] == skip_rank, hit[0] - hit[1], hit[2]))
    return candidates[rank][0]


def _outermost(hits: List[Tuple[int, int, int]]) -> List[Tuple[int, int, int]]:
    """The (start, end, rank) hits that lie inside no longer hit.

    No two words are equal (parse_risk_rules refuses it), so no two spans are either.
    """
    kept, furthest_end = [], -1
    for hit in sorted(hits, key=lambda hit: (hit[0], -hit[1])):
        if hit[1] > furthest_end:
            kept.append(hit)
            furthest_end = hit[1]
    return kept


def assess_answers(
    answers: Mapping[str, Union[Option, None]], text: str = "", entities: Iterable[str] = ()
) -> RiskAssessment:
    """Risk, reasons and scam type from the form's answers and what the messages show.

    `answers` maps each of QUESTIONS (any may be missing) to an option, SKIP or None;
    `text` is the customer's messages; `entities` the NLU entity names found in them
    (url, phone_number, amount). The risk is the highest of the matching risk rules and
    of the scam type's own catalog risk, "low" when nothing matches.
    """
    rules = load_risk_rules()
    facts = _facts(answers, rules)
    signals = find_signals(text)
    facts["signal"] = set(signals)
    facts["entity"] = set(entities)

    fired = [rule for rule in rules.risk_rules if _holds(rule.when, facts)]
    scam_type = next((rule.scam_type for rule in rules.scam_type_rules if _holds(rule.when, facts)), None)
    levels = [rule.risk for rule in fired]
    if scam_type:
        levels.append(load_catalog().scam_types[scam_type].risk)
    rule_of_reason: Dict[str, str] = {}  # each reason once, with the first rule saying it
    for rule in fired:
        rule_of_reason.setdefault(rule.reason, rule.id)
    return RiskAssessment(
        risk=max(levels, key=RISK_LEVELS.index, default="low"),
        reasons=tuple(rule_of_reason),
        scam_type=scam_type,
        signals=signals,
        reason_ids=tuple(rule_of_reason.values()),
    )


def _facts(answers: Mapping[str, Union[Option, None]], rules: RiskRules) -> Dict[str, set]:
    unknown = set(answers) - set(QUESTIONS)
    if unknown:
        raise ValueError(f"unknown questions {sorted(unknown)}; expected {QUESTIONS}")
    facts = {}
    for question in QUESTIONS:
        answer = answers.get(question)
        if answer is None or answer == SKIP:
            facts[question] = set()
        elif _is_option(question, answer, rules):
            facts[question] = {answer}
        else:
            raise ValueError(f"{answer!r} is not an option of {question}")
    return facts


def _is_option(question: str, answer, rules: RiskRules) -> bool:
    # True == 1 in Python: only real booleans answer money_gone, only strings the others.
    expected_type = bool if question == "money_gone" else str
    return isinstance(answer, expected_type) and answer in rules.options[question]


def _holds(when: Tuple[Condition, ...], facts: Dict[str, set]) -> bool:
    return any(all(facts[key] & values for key, values in condition.items()) for condition in when)
