"""Whether it is a scam and what to do now: the assessment of a story, the clarifying
questions for a vague one, and the emergency when money has already gone."""

from dataclasses import replace
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    SCAM_INTENT_PREFIX, DomainDict, customer_language, latest_text, record_verdict,
    remember_language, scam_or_general, session_user_events, typed_text,
)
from core import replies
from core.catalog import RISK_LEVELS, SUSPECTED_FRAUD, load_catalog
from core.directory import official_directory
from core.language import as_typed
from core.numbers import assess_number, pattern_verdict
from core.reader import read_message
from core.risk import QUESTIONS, SKIP, assess_answers, match_option, reasons_in
from core.verdict import Verdict, judge
from core.settings import settings
from core.text import normalise

# A scam intent this sure, said during the questions, names the type the answers did not.
CONFIDENT_SCAM_INTENT = 0.8
# Slot values for the money_gone answers (text slots).
MONEY_GONE_SLOT_VALUES = {True: "yes", False: "no", SKIP: SKIP}


def read_latest(tracker: Tracker) -> Verdict:
    """The verdict on the customer's latest message: the reader's flags and genuine signs
    (core/reader.py) weighed with the classifier's intent ranking (core/verdict.py).
    The quotes are the customer's words as typed (a Traditional message's stay Traditional)."""
    message = tracker.latest_message
    ranking = message.get("intent_ranking") or [message.get("intent") or {}]
    config = settings()
    text = message.get("text") or ""
    verdict = judge(read_message(text, config.bank, config.bank_domain), ranking)
    typed = typed_text(tracker)
    if typed == text or not (verdict.reasons or verdict.genuine_signs):
        return verdict
    return replace(
        verdict,
        reasons=tuple(replace(r, quote=as_typed(r.quote, typed)) for r in verdict.reasons),
        genuine_signs=tuple(replace(s, quote=as_typed(s.quote, typed)) for s in verdict.genuine_signs),
    )


def say_verdict(
    dispatcher: CollectingDispatcher, verdict: Verdict, language: str = "zh-Hans"
) -> List[EventType]:
    """The number check a number question asks for, then the assessment, if any."""
    bank = settings().bank
    directory = official_directory(bank)
    question = verdict.number_question
    if question is not None:
        checked = (assess_number(question.number, directory) if question.number else
                   pattern_verdict(question.pattern, question.prefix, directory)
                   if question.pattern else None)
        dispatcher.utter_message(**(replies.number_check(checked, bank, language) if checked
                                    else replies.ask_for_number(language)))
    if verdict.level is None:
        return []
    dispatcher.utter_message(**replies.verdict(verdict, bank, directory, language))
    return [SlotSet("scam_type", verdict.scam_type), SlotSet("risk", verdict.level)]


class ActionAssessScam(Action):
    """Whether the message is a scam: high (with its type), medium (the reasons quoted
    from the message) or low (looks like a genuine notice); a number question first.
    Runs for the scam intents, genuine notices, and what the classifier could not place."""

    def name(self) -> Text:
        return "action_assess_scam"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        verdict = read_latest(tracker)
        language = customer_language(tracker)
        if verdict.level is not None or verdict.number_question is not None:
            events = say_verdict(dispatcher, verdict, language)
            record_verdict(tracker, dispatcher)
            return [*events, *remember_language(tracker, language)]
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        bank = settings().bank
        if intent == "out_of_scope":
            dispatcher.utter_message(**replies.plain("out_of_scope", bank, language))
        else:
            dispatcher.utter_message(**replies.not_understood(bank, language))
        return remember_language(tracker, language)


class ActionMoneyLost(Action):
    """Money or a code has already gone: the next minutes matter most."""

    def name(self) -> Text:
        return "action_money_lost"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        bank = settings().bank
        language = customer_language(tracker)
        guidance = load_catalog().money_lost
        code_given = replies.code_was_given(guidance, latest_text(tracker))
        dispatcher.utter_message(
            **replies.money_lost(guidance, bank, official_directory(bank), code_given, language)
        )
        record_verdict(tracker, dispatcher)
        return [SlotSet("risk", "high"), *remember_language(tracker, language)]


class ActionReadVagueStory(Action):
    """A story the classifier found vague: when its words show clear warning signs (a
    pasted message often does), the assessment now; otherwise the clarifying questions,
    with the answers of an earlier story cleared."""

    def name(self) -> Text:
        return "action_read_vague_story"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        verdict = read_latest(tracker)
        language = customer_language(tracker)
        if verdict.level in ("high", "medium"):
            events = say_verdict(dispatcher, verdict, language)
            record_verdict(tracker, dispatcher)
            # Answered: listen instead of the questions the rule would ask next.
            return [*events, *remember_language(tracker, language), FollowupAction("action_listen")]
        return [*(SlotSet(question, None) for question in QUESTIONS), *remember_language(tracker, language)]


class AskQuestion(Action):
    """Asks one of clarify_form's questions (Rasa calls action_ask_<slot>)."""

    slot = ""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        language = customer_language(tracker)
        dispatcher.utter_message(**replies.clarify_question(self.slot, language))
        return remember_language(tracker, language)


class ActionAskClaimedIdentity(AskQuestion):
    slot = "claimed_identity"


class ActionAskRequestedAction(AskQuestion):
    slot = "requested_action"


class ActionAskMoneyGone(AskQuestion):
    slot = "money_gone"


class ValidateClarifyForm(FormValidationAction):
    """Maps each free-text or button answer to an option of knowledge/rules/risk_rules.yml.

    An answer that names no option still counts (as 其他, or as skipped for money):
    the questions never loop, and the words still reach the assessment as signals.
    """

    def name(self) -> Text:
        return "validate_clarify_form"

    @staticmethod
    def _option(question: str, value: Any, unclear: Any) -> Dict[Text, Any]:
        # None: the slot was cleared (action_read_vague_story), not answered.
        if value is None:
            return {question: None}
        option = match_option(question, normalise(str(value)))
        return {question: unclear if option is None else option}

    def validate_claimed_identity(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._option("claimed_identity", value, "其他")

    def validate_requested_action(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return self._option("requested_action", value, "其他")

    def validate_money_gone(self, value: Any, dispatcher, tracker, domain) -> Dict[Text, Any]:
        answer = self._option("money_gone", value, SKIP)["money_gone"]
        return {"money_gone": MONEY_GONE_SLOT_VALUES.get(answer, answer)}


class ActionAssessAnswers(Action):
    """The assessment after the questions: rules on the answers and on every message."""

    def name(self) -> Text:
        return "action_assess_answers"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        bank = settings().bank
        directory = official_directory(bank)
        language = customer_language(tracker)
        forget = [*(SlotSet(question, None) for question in QUESTIONS), *remember_language(tracker, language)]
        user_events = session_user_events(tracker)
        text = "\n".join(normalise(e.get("text") or "") for e in user_events)
        if tracker.get_slot("money_gone") == "yes":
            guidance = load_catalog().money_lost
            code_given = replies.code_was_given(guidance, text)
            dispatcher.utter_message(**replies.money_lost(guidance, bank, directory, code_given, language))
            record_verdict(tracker, dispatcher)
            return [SlotSet("risk", "high"), *forget]
        answers = {q: tracker.get_slot(q) for q in ("claimed_identity", "requested_action")}
        answers["money_gone"] = {"no": False}.get(tracker.get_slot("money_gone"), SKIP)
        entities = {
            entity.get("entity")
            for event in user_events
            for entity in (event.get("parse_data") or {}).get("entities") or []
        }
        judged = assess_answers(answers, text, entities)
        scam = scam_or_general(judged.scam_type or _confident_scam_intent(user_events))
        # A type named by the NLU rather than the rules keeps at least its own risk.
        risk = judged.risk if scam.id == SUSPECTED_FRAUD else max(
            judged.risk, scam.risk, key=RISK_LEVELS.index)
        dispatcher.utter_message(**replies.assessment(
            scam, risk, bank, directory, reasons=reasons_in(judged, language), language=language))
        record_verdict(tracker, dispatcher)
        return [SlotSet("scam_type", scam.id), SlotSet("risk", risk), *forget]


def _confident_scam_intent(user_events: List[Dict[Text, Any]]) -> Optional[str]:
    for event in reversed(user_events):
        intent = (event.get("parse_data") or {}).get("intent") or {}
        name = intent.get("name") or ""
        if name.startswith(SCAM_INTENT_PREFIX) and (intent.get("confidence") or 0) >= CONFIDENT_SCAM_INTENT:
            return name[len(SCAM_INTENT_PREFIX):]
    return None
