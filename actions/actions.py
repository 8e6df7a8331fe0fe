"""Rasa custom actions. Each one reads the tracker, calls the rules, sends the reply."""

import asyncio
import logging
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from core import assessment_records as assessments
from core import handoff_records as handoff
from core import replies
from core.catalog import (
    RISK_LEVELS,
    SUSPECTED_FRAUD,
    ScamType,
    load_catalog,
    official_directory,
)
from core.links import check_link, official_domains
from core.numbers import assess_number
from core.risk import QUESTIONS, SKIP, assess_answers, match_option, score_risk
from core.settings import bank_domain_from_env, bank_from_env
from core.text import normalise

logger = logging.getLogger(__name__)

SCAM_INTENT_PREFIX = "scam_"
# A scam intent this sure, said during the questions, names the type the answers did not.
CONFIDENT_SCAM_INTENT = 0.8
# The widget checks the same pattern before sending /atm_entry.
ATM_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
# Slot values for the money_gone answers (text slots).
MONEY_GONE_SLOT_VALUES = {True: "yes", False: "no", SKIP: SKIP}
# Set afresh each session (configuration may have changed), or Rasa's own.
NOT_CARRIED_OVER = ("bank_name", "bank_hotline", "session_started_metadata")
DomainDict = Dict[Text, Any]


def _latest_text(tracker: Tracker) -> str:
    return normalise(tracker.latest_message.get("text") or "")


def _session_user_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    """The customer's messages of the current session, oldest first."""
    events = []
    for event in tracker.events:
        if event.get("event") == "session_started":
            events = []
        elif event.get("event") == "user":
            events.append(event)
    return events


def _scam_or_general(scam_id: Optional[str]) -> ScamType:
    catalog = load_catalog()
    return catalog.scam_types.get(scam_id or "", catalog.suspected_fraud)


class ActionSessionStart(Action):
    """Starts a session with the configured bank's name and hotline in slots."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        bank = bank_from_env()
        carried = [
            SlotSet(key, value)
            for key, value in tracker.slots.items()
            if value is not None and key not in NOT_CARRIED_OVER
        ]
        return [
            SessionStarted(),
            *carried,
            SlotSet("bank_name", bank.name),
            SlotSet("bank_hotline", bank.hotline),
            ActionExecuted("action_listen"),
        ]


class ActionAssessScam(Action):
    """Names the scam type of the classified intent and says what to do now."""

    def name(self) -> Text:
        return "action_assess_scam"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        catalog = load_catalog()
        scam = None
        if intent.startswith(SCAM_INTENT_PREFIX):
            scam = catalog.scam_types.get(intent[len(SCAM_INTENT_PREFIX):])
        if scam is None:
            dispatcher.utter_message(response="utter_default")
            return []
        bank = bank_from_env()
        risk = score_risk(scam.risk, _latest_text(tracker), catalog.risk_signals)
        dispatcher.utter_message(**replies.assessment(scam, risk, bank, official_directory(bank)))
        await assessments.record_reply(handoff.handoff_db_url, tracker, dispatcher.messages)
        return [SlotSet("scam_type", scam.id), SlotSet("risk", risk)]


class ActionMoneyLost(Action):
    """Money or a code has already gone: the next minutes matter most."""

    def name(self) -> Text:
        return "action_money_lost"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        bank = bank_from_env()
        guidance = load_catalog().money_lost
        code_given = replies.code_was_given(guidance, _latest_text(tracker))
        dispatcher.utter_message(
            **replies.money_lost(guidance, bank, official_directory(bank), code_given)
        )
        await assessments.record_reply(handoff.handoff_db_url, tracker, dispatcher.messages)
        return [SlotSet("risk", "high")]


class ActionCheckNumber(Action):
    """Looks a phone number up in the official directory, or asks for one."""

    def name(self) -> Text:
        return "action_check_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        said = [
            str(entity["value"])
            for entity in tracker.latest_message.get("entities") or []
            if entity.get("entity") == "phone_number"
        ]
        bank = bank_from_env()
        verdict = assess_number(said[0] if said else _latest_text(tracker), official_directory(bank))
        if verdict is None:
            dispatcher.utter_message(**replies.ask_for_number())
            return []
        dispatcher.utter_message(**replies.number_check(verdict, bank))
        return []


class ActionForgetAnswers(Action):
    """Clears the clarifying answers so a new vague story gets its own questions."""

    def name(self) -> Text:
        return "action_forget_answers"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        return [SlotSet(question, None) for question in QUESTIONS]


class ValidateClarifyForm(FormValidationAction):
    """Maps each free-text or button answer to an option of risk_rules.yml.

    An answer that names no option still counts (as 其他, or as skipped for money):
    the questions never loop, and the words still reach the assessment as signals.
    """

    def name(self) -> Text:
        return "validate_clarify_form"

    @staticmethod
    def _option(question: str, value: Any, unclear: Any) -> Dict[Text, Any]:
        # None: the slot was cleared (action_forget_answers), not answered.
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
        bank = bank_from_env()
        directory = official_directory(bank)
        forget = [SlotSet(question, None) for question in QUESTIONS]
        user_events = _session_user_events(tracker)
        text = "\n".join(normalise(e.get("text") or "") for e in user_events)
        if tracker.get_slot("money_gone") == "yes":
            guidance = load_catalog().money_lost
            code_given = replies.code_was_given(guidance, text)
            dispatcher.utter_message(**replies.money_lost(guidance, bank, directory, code_given))
            await assessments.record_reply(handoff.handoff_db_url, tracker, dispatcher.messages)
            return [SlotSet("risk", "high"), *forget]
        answers = {q: tracker.get_slot(q) for q in ("claimed_identity", "requested_action")}
        answers["money_gone"] = {"no": False}.get(tracker.get_slot("money_gone"), SKIP)
        entities = {
            entity.get("entity")
            for event in user_events
            for entity in (event.get("parse_data") or {}).get("entities") or []
        }
        judged = assess_answers(answers, text, entities)
        scam = _scam_or_general(judged.scam_type or _confident_scam_intent(user_events))
        # A type named by the NLU rather than the rules keeps at least its own risk.
        risk = judged.risk if scam.id == SUSPECTED_FRAUD else max(
            judged.risk, scam.risk, key=RISK_LEVELS.index)
        dispatcher.utter_message(
            **replies.assessment(scam, risk, bank, directory, reasons=judged.reasons)
        )
        await assessments.record_reply(handoff.handoff_db_url, tracker, dispatcher.messages)
        return [SlotSet("scam_type", scam.id), SlotSet("risk", risk), *forget]


def _confident_scam_intent(user_events: List[Dict[Text, Any]]) -> Optional[str]:
    for event in reversed(user_events):
        intent = (event.get("parse_data") or {}).get("intent") or {}
        name = intent.get("name") or ""
        if name.startswith(SCAM_INTENT_PREFIX) and (intent.get("confidence") or 0) >= CONFIDENT_SCAM_INTENT:
            return name[len(SCAM_INTENT_PREFIX):]
    return None


class ActionFollowUp(Action):
    """Why, what now, how to verify, a real case, a warning to share: for the type named."""

    def name(self) -> Text:
        return "action_follow_up"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        asked_for = next(
            (e.get("value") for e in tracker.latest_message.get("entities") or []
             if e.get("entity") == "scam_type"),
            None,
        )
        scam = _scam_or_general(asked_for or tracker.get_slot("scam_type"))
        bank = bank_from_env()
        catalog = load_catalog()
        if intent == "ask_why_scam":
            message = replies.why_scam(scam)
        elif intent == "ask_how_to_verify":
            message = replies.how_to_verify(scam, bank, official_directory(bank))
        elif intent == "ask_real_case":
            seeds = [s for s in catalog.scam_types.values() if s.seed_case]
            message = replies.real_case(scam, seeds)
        elif intent == "share_warning":
            message = replies.share_warning(scam, bank)
        else:
            message = replies.next_steps(scam, bank, official_directory(bank))
        dispatcher.utter_message(**message)
        return []


class ActionCheckLink(Action):
    """Official domain, look-alike, raw IP, short link or odd TLD: a verdict on a link."""

    def name(self) -> Text:
        return "action_check_link"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        bank = bank_from_env()
        verdict = check_link(tracker.latest_message.get("text") or "",
                             official_domains(bank, bank_domain_from_env()))
        if verdict is None:
            dispatcher.utter_message(**replies.ask_for_link())
        else:
            dispatcher.utter_message(**replies.link_check(verdict, bank))
        return []


class ActionHumanHandoff(Action):
    """The hotline and branch hours, and a record staff can follow up by reference."""

    def name(self) -> Text:
        return "action_human_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        request = handoff.HandoffRequest(
            conversation_id=tracker.sender_id,
            scam_type=tracker.get_slot("scam_type"),
            risk=tracker.get_slot("risk"),
            atm_id=tracker.get_slot("atm_id"),
            requested_at=handoff.now(),
        )
        try:
            reference = await asyncio.to_thread(
                handoff.record_handoff, handoff.handoff_db_url(), request
            )
        except Exception:  # the customer still gets the hotline; staff see the log
            logger.exception("handoff record for %s not written", tracker.sender_id)
            reference = None
        dispatcher.utter_message(
            **replies.handoff(bank_from_env(), handoff.branch_hours_from_env(), reference)
        )
        return [SlotSet("handoff_reference", reference)]


class ActionAtmEntry(Action):
    """Opened from an ATM's QR code, or says they are at an ATM: stop, card, hang up."""

    def name(self) -> Text:
        return "action_atm_entry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        atm_id = tracker.get_slot("atm_id")
        if not (isinstance(atm_id, str) and ATM_ID.fullmatch(atm_id)):
            atm_id = None
        dispatcher.utter_message(**replies.atm_alert(bank_from_env(), atm_id))
        return [SlotSet("atm_id", atm_id)]
