"""The model graph run without dask gives what dask gives: parses and predictions."""

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from server.runtime import graph_runner

DASK_RUN = DaskGraphRunner.run if DaskGraphRunner.run is not graph_runner.run else None
TEXTS = ["税务局打电话说我有购房退税，让我去ATM操作", "刚才接了个奇怪的电话", "轉人工",
         "核实 02112345678", "/greet", "", "😀😀😀"]


def both(processor, inputs, targets):
    runner = processor.graph_runner
    return DASK_RUN(runner, inputs, targets), graph_runner.run(runner, inputs, targets)


@pytest.mark.skipif(DASK_RUN is None, reason="dask's run was replaced before this module")
@pytest.mark.parametrize("text", TEXTS)
def test_a_parse_is_the_same(processor, text):
    target = processor.model_metadata.nlu_target
    tracker = DialogueStateTracker.from_events("x", [])
    dask_result, ours = both(processor, {"__message__": [UserMessage(text)],
                                         "__tracker__": tracker}, [target])
    assert ours[target][0].as_dict() == dask_result[target][0].as_dict()


@pytest.mark.skipif(DASK_RUN is None, reason="dask's run was replaced before this module")
@pytest.mark.parametrize("intent, expected", [
    ("scam_tax_refund", "action_assess_scam"),
    ("report_vague", "action_read_vague_story"),
    ("greet", "action_greet"),
])
def test_a_prediction_is_the_same(processor, intent, expected):
    tracker = DialogueStateTracker.from_events("x", [
        ActionExecuted("action_session_start"), SessionStarted(),
        SlotSet("bank_name", "工商银行"), ActionExecuted("action_listen"),
        UserUttered("…", intent={"name": intent, "confidence": 0.99}),
    ], processor.domain.slots)
    target = processor.model_metadata.core_target
    dask_result, ours = both(processor, {"__tracker__": tracker}, [target])
    dask_prediction, our_prediction = dask_result[target], ours[target]
    assert our_prediction == dask_prediction
    assert processor.domain.action_names_or_texts[
        our_prediction.max_confidence_index] == expected


def test_an_input_named_like_a_node_is_refused_as_rasa_does(processor):
    target = processor.model_metadata.nlu_target
    with pytest.raises(Exception, match="clashes with a node name"):
        graph_runner.run(processor.graph_runner, {"__message__": target}, [target])
