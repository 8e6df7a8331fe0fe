"""The verdict: the classifier's intents and the reader's flags, weighed together.

`judge(reading, intent_ranking)` gives the level (high / medium / low, or None when the
message is not something to judge), the scam type, the reasons quoted from the message,
the genuine signs, and the number question that comes first. The rules, in order, with
the figures they were tuned on: docs/reader.md.
"""

from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from core.catalog import SUSPECTED_FRAUD, load_catalog
from core.reader import IMPERSONATION, Flag, NumberQuestion, Reading, Sign

HIGH, MEDIUM, LOW = "high", "medium", "low"
SCAM_PREFIX = "scam_"
GENUINE_INTENT = "genuine_notice"
# The classifier's scam type is used as it is from this confidence on.
CONFIDENT = 0.5
# Below CONFIDENT, a scam intent still names the type if it has this much confidence
# and the reader's hints point to the same type.
PLAUSIBLE = 0.2
# Flag scores (weights added up, see Reading.score).
FLAGS_MEDIUM = 3
FLAGS_HIGH = 6
# A type the flags "clearly point to": this score, and this lead over the next type.
HINT_MIN, HINT_LEAD = 2, 1
# Kinds of genuine signs that make a message look like a real notice (see _genuine_evidence).
CLEAR_GENUINE = 2
# The reply quotes at most this many reasons.
MAX_REASONS = 4
# Intents that say "I could not tell what this is": the flags alone decide.
UNSURE_INTENTS = ("nlu_fallback", "out_of_scope", "report_vague", "verify_number", "")
# Another intent the classifier is sure of (bank_question, greet…) yields to the flags
# only in a pasted message this long, or when they clearly show a scam (FLAGS_HIGH):
# "我要转账给我妈，手机银行怎么操作" is a bank question, not a scam.
PASTED_LENGTH = 100
# Intents with their own, more urgent answer: no verdict replaces it.
OWN_ANSWER_INTENTS = ("money_lost", "human_handoff")
# The classifier names credential_request for any text that mentions a code or an
# account. Without a code, screen or ID flag, a type the hints point to this
# clearly (score, lead) names the scam instead.
VAGUE_TYPES = ("credential_request",)
CREDENTIAL_FLAGS = ("code_or_password", "remote_control", "personal_info", "link", "guided_operation")
OVERRIDE_MIN, OVERRIDE_LEAD = 3, 2


@dataclass(frozen=True)
class Reason:
    flag: str
    label: str
    quote: str


@dataclass(frozen=True)
class Verdict:
    """`level` is high (这是诈骗, with a type), medium (很可能是诈骗/有风险), low (looks like a
    genuine notice — never "safe"), or None: nothing to judge, follow the intent.
    `scam_type` is a catalog id, SUSPECTED_FRAUD, or None (low, or no verdict).
    `reasons` are the red flags to quote, strongest first; `genuine_signs` the signs of a
    genuine notice (said with the low level). When `number_question` is set, the number
    check comes first, and the assessment (if `level`) follows it. `rule` names the rule
    that decided, for logs and the bench."""

    level: Optional[str]
    scam_type: Optional[str]
    reasons: Tuple[Reason, ...]
    genuine_signs: Tuple[Sign, ...]
    number_question: Optional[NumberQuestion]
    rule: str

    def payload_reasons(self) -> List[Dict[str, str]]:
        """The reply payload's `reasons`: [{"flag": id, "quote": words from the message}]."""
        return [{"flag": reason.flag, "quote": reason.quote} for reason in self.reasons]


def top_intent(intent_ranking: Optional[Sequence[Mapping]]) -> Tuple[str, float]:
    """The first (name, confidence) of a Rasa intent ranking, ("", 0.0) if empty."""
    for entry in intent_ranking or ():
        return str(entry.get("name") or ""), float(entry.get("confidence") or 0.0)
    return "", 0.0


def judge(reading: Reading, intent_ranking: Optional[Sequence[Mapping]] = None) -> Verdict:
    """Weigh the intent ranking ([{name, confidence}], best first) and the reading."""
    intent, confidence = top_intent(intent_ranking)
    score = reading.score
    strong = reading.strong
    reasons = _reasons(reading)
    question = reading.number_question
    genuine = _genuine_evidence(reading)

    def verdict(level, scam_type, rule):
        said_reasons = reasons if level in (HIGH, MEDIUM) else ()
        signs = reading.signs if level == LOW else ()
        return Verdict(level, scam_type, said_reasons, signs, question, rule)

    # 1. Money gone or a person asked for: those answers come first, not a verdict.
    if intent in OWN_ANSWER_INTENTS:
        return verdict(None, None, "intent_has_its_own_answer")
    # 2. A question about a number, without a scam story: the number check answers it.
    if question is not None and not question.story:
        return verdict(None, None, "number_question")

    catalog = load_catalog().scam_types
    scam_intent = intent.startswith(SCAM_PREFIX) and intent[len(SCAM_PREFIX):] in catalog
    # 3. The classifier is sure it is a scam.
    if scam_intent and confidence >= CONFIDENT:
        scam_type = _checked_type(intent[len(SCAM_PREFIX):], reading)
        if score == 0 and genuine >= CLEAR_GENUINE:
            return verdict(LOW, None, "classifier_scam_but_genuine_notice")
        if not strong and score < FLAGS_MEDIUM and genuine >= 1:
            return verdict(MEDIUM, scam_type, "classifier_scam_weak_flags_genuine_signs")
        if not strong and catalog[scam_type].risk == MEDIUM:
            # A type that is not always a scam (a cheap game item, a cheap ticket) is
            # "very likely" until the message shows the money or the code being asked for.
            return verdict(MEDIUM, scam_type, "classifier_scam_of_a_medium_type")
        return verdict(HIGH, scam_type, "classifier_scam")

    # 4. The classifier says it is a genuine notice: only clear flags overrule it.
    if intent == GENUINE_INTENT and confidence >= CONFIDENT:
        if strong and score >= FLAGS_HIGH:
            return verdict(MEDIUM, _flag_type(reading, intent_ranking), "genuine_intent_but_flags")
        if strong and score >= FLAGS_MEDIUM and genuine == 0:
            return verdict(MEDIUM, _flag_type(reading, intent_ranking), "genuine_intent_but_flags")
        return verdict(LOW, None, "genuine_intent")

    # 5. Anything else (unsure scam intent, nlu_fallback, out_of_scope, report_vague…):
    #    the flags decide. High needs a type; without one it is medium, suspected fraud.
    scam_type = _flag_type(reading, intent_ranking)
    sure_of_something_else = (
        confidence >= CONFIDENT and intent not in UNSURE_INTENTS and not scam_intent and intent != GENUINE_INTENT
    )
    if sure_of_something_else and len(reading.text) < PASTED_LENGTH and not (strong and score >= FLAGS_HIGH):
        return verdict(None, None, "another_intent_short_message")
    if strong and score >= FLAGS_HIGH:
        if scam_type != SUSPECTED_FRAUD:
            return verdict(HIGH, scam_type, "flags_high")
        return verdict(MEDIUM, scam_type, "flags_high_no_type")
    if score >= FLAGS_MEDIUM:
        return verdict(MEDIUM, scam_type, "flags_medium")
    if scam_intent and score > 0 and not genuine:
        return verdict(MEDIUM, scam_type, "unsure_scam_intent_with_flags")
    if reading.sender and genuine and not strong:
        return verdict(LOW, None, "looks_like_a_notice")
    if intent == GENUINE_INTENT and not strong:
        return verdict(LOW, None, "genuine_intent_unsure")
    return verdict(None, None, "nothing_to_judge")


def _checked_type(scam_type: str, reading: Reading) -> str:
    """The classifier's type, unless it is a vague one the flags do not back and the
    hints clearly point to another type."""
    if scam_type not in VAGUE_TYPES or any(reading.flag(flag_id) for flag_id in CREDENTIAL_FLAGS):
        return scam_type
    ranked = reading.type_hints
    if ranked and ranked[0][0] != scam_type and ranked[0][1] >= OVERRIDE_MIN:
        if len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= OVERRIDE_LEAD:
            return ranked[0][0]
    return scam_type


def _genuine_evidence(reading: Reading) -> int:
    """How much looks genuine: the number of kinds of genuine signs. A signature alone
    (1) can be forged; with a pointer to the official channel, a safety warning or
    nothing asked (2+) it looks like a real notice."""
    return len(reading.signs)


def _flag_type(reading: Reading, intent_ranking: Optional[Sequence[Mapping]]) -> str:
    """The classifier's type when it is confident; else a scam intent with some
    confidence that the hints agree with; else the type the hints clearly point to;
    else the first of two scam types the classifier is torn between; else suspected
    fraud."""
    hints = dict(reading.type_hints)
    scams: List[Tuple[str, float]] = []  # the scam intents, best first
    for entry in intent_ranking or ():
        name = str(entry.get("name") or "")
        conf = float(entry.get("confidence") or 0.0)
        if not name.startswith(SCAM_PREFIX):
            continue
        scam_type = name[len(SCAM_PREFIX):]
        if conf >= CONFIDENT or (conf >= PLAUSIBLE and hints.get(scam_type, 0) >= HINT_MIN):
            return scam_type
        scams.append((scam_type, conf))
    ranked = reading.type_hints
    if ranked and ranked[0][1] >= HINT_MIN and (len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= HINT_LEAD):
        return ranked[0][0]
    # Sure it is a scam, torn between two types (征信 and 客服 in one message): the first.
    if len(scams) >= 2 and scams[0][1] >= PLAUSIBLE and scams[0][1] + scams[1][1] >= CONFIDENT:
        return scams[0][0]
    return SUSPECTED_FRAUD


def _reasons(reading: Reading) -> Tuple[Reason, ...]:
    """The flags to quote, strongest first; an impersonation only beside another flag."""
    flags: Iterable[Flag] = reading.flags
    if all(flag.id == IMPERSONATION for flag in reading.flags):
        flags = ()
    chosen = sorted(flags, key=lambda flag: (-flag.weight, flag.start))[:MAX_REASONS]
    return tuple(Reason(flag.id, flag.label, flag.quote) for flag in chosen)
