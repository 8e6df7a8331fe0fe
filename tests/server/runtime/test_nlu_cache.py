"""The remembered NLU result is the model's result, whoever sends the text, and a copy."""

import pytest
from rasa.core.channels.channel import UserMessage

from server.runtime import nlu_cache

SHORT_TEXTS = ["不知道", "公检法", "为什么说是诈骗", "核实一下 02112345678", "轉人工", "thanks", "/greet"]


def model_result(processor, text, **message):
    return nlu_cache._parse_with_graph(processor, UserMessage(text, **message), None)


def cached_result(processor, text, **message):
    return nlu_cache.parse_with_cache(processor, UserMessage(text, **message), None)


@pytest.mark.parametrize("text", SHORT_TEXTS)
def test_a_remembered_result_is_the_models_result_for_any_sender(processor, text):
    first = cached_result(processor, text, sender_id="alice", message_id="1")
    again = cached_result(processor, text, sender_id="bob", message_id="2", metadata={"x": 1})
    assert first == again == model_result(processor, text, sender_id="carol", message_id="3")


def test_a_remembered_result_is_a_copy(processor):
    first = cached_result(processor, "还没有")
    first["intent"]["name"] = "changed"
    first["entities"].append({"entity": "x"})
    assert cached_result(processor, "还没有") == model_result(processor, "还没有")


@pytest.fixture
def model_runs(monkeypatch):
    """Counts the times the model itself runs."""
    runs = []
    original = nlu_cache._parse_with_graph
    monkeypatch.setattr(nlu_cache, "_parse_with_graph",
                        lambda *args: runs.append(1) or original(*args))
    return runs


def test_long_texts_always_run_the_model(processor, model_runs):
    story = "税务局打电话说我有购房退税，让我现在去ATM上按他说的操作，这是真的吗"
    assert len(story) > nlu_cache.LONGEST_CACHED_TEXT
    cached_result(processor, story)
    cached_result(processor, story)
    cached_result(processor, "谢谢你")
    cached_result(processor, "谢谢你")
    assert len(model_runs) == 3  # the story twice, the thanks once


def test_another_model_does_not_reuse_results(processor, monkeypatch, model_runs):
    cached_result(processor, "你好")
    model_runs.clear()
    monkeypatch.setattr(processor.model_metadata, "model_id", "another-model")
    cached_result(processor, "你好")
    assert model_runs == [1]


def test_the_cache_is_bounded(processor, monkeypatch):
    monkeypatch.setattr(nlu_cache, "ENTRIES", 3)
    for text in ["一", "二", "三", "四", "五"]:
        cached_result(processor, text)
    assert len(nlu_cache._results) == 3
