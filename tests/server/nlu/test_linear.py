"""The linear blender: trained on the sparse sentence features the featurizers left, it
blends its probabilities with DIET's ranking, and survives a save and a load."""

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from server.nlu.linear import LinearIntentBlender

WIDTH = 6
# Three intents, each lighting up its own two columns (with noise in the others).
INTENTS = ("scam_relative_emergency", "scam_impersonate_acquaintance", "greet")


def message(column_weights, intent=None, ranking=None):
    data = {TEXT: "text"}
    if intent:
        data[INTENT] = intent
    result = Message(data=data)
    row = scipy.sparse.coo_matrix(np.asarray([column_weights], dtype=np.float32))
    result.add_features(Features(row, "sentence", TEXT, "counts"))
    if ranking:
        result.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
        result.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]})
    return result


def example(index, rng):
    weights = rng.uniform(0, 0.2, WIDTH)
    weights[2 * index: 2 * index + 2] += 1
    return weights


# Six features: all weights kept (the default keeps a tenth of a real model's 137,000).
CONFIG = {**LinearIntentBlender.get_default_config(), "kept_weights": 1.0}


def blender(storage, **config):
    return LinearIntentBlender.create({**CONFIG, **config}, storage, Resource("blender"),
                                      ExecutionContext(GraphSchema({}), node_name="blender"))


def load(storage):
    return LinearIntentBlender.load(CONFIG, storage, Resource("blender"),
                                    ExecutionContext(GraphSchema({}), node_name="blender"))


@pytest.fixture
def trained(tmp_path):
    rng = np.random.default_rng(0)
    data = TrainingData([message(example(i, rng), intent) for i, intent in enumerate(INTENTS) for _ in range(12)])
    storage = LocalModelStorage(tmp_path)
    component = blender(storage)
    component.train(data)
    return storage


def test_the_blend_of_two_confident_rankings_keeps_their_intent(trained):
    loaded = load(trained)
    rng = np.random.default_rng(1)
    text = message(example(0, rng), ranking=[("scam_relative_emergency", 0.9), ("greet", 0.1)])
    loaded.process([text])
    ranking = text.get(INTENT_RANKING_KEY)
    assert text.get(INTENT)["name"] == "scam_relative_emergency" == ranking[0]["name"]
    assert abs(sum(entry["confidence"] for entry in ranking) - 1) < 1e-6
    assert [entry["confidence"] for entry in ranking] == sorted((e["confidence"] for e in ranking), reverse=True)


def test_where_diet_is_torn_the_linear_machine_decides(trained):
    loaded = load(trained)
    rng = np.random.default_rng(2)
    torn = [("scam_relative_emergency", 0.5), ("scam_impersonate_acquaintance", 0.45), ("greet", 0.05)]
    text = message(example(1, rng), ranking=torn)
    loaded.process([text])
    assert text.get(INTENT)["name"] == "scam_impersonate_acquaintance"
    assert text.get(INTENT)["confidence"] > 0.6


def test_share_zero_leaves_diets_order_and_share_one_its_own(tmp_path):
    rng = np.random.default_rng(0)
    data = TrainingData([message(example(i, rng), intent) for i, intent in enumerate(INTENTS) for _ in range(12)])
    for share, expected in ((0.0, "greet"), (1.0, "scam_relative_emergency")):
        (tmp_path / str(share)).mkdir()
        component = blender(LocalModelStorage(tmp_path / str(share)), share=share)
        component.train(data)
        text = message(example(0, rng), ranking=[("greet", 0.8), ("scam_relative_emergency", 0.2)])
        component.process([text])
        assert text.get(INTENT)["name"] == expected


def test_only_the_largest_weights_are_kept(tmp_path):
    rng = np.random.default_rng(0)
    data = TrainingData([message(example(i, rng), intent) for i, intent in enumerate(INTENTS) for _ in range(12)])
    whole = blender(LocalModelStorage(tmp_path), kept_weights=1.0)
    whole.train(data)
    (tmp_path / "pruned").mkdir()
    pruned = blender(LocalModelStorage(tmp_path / "pruned"), kept_weights=0.5)
    pruned.train(data)
    all_weights, kept = whole._machine.coef.toarray(), pruned._machine.coef.toarray()
    assert np.count_nonzero(kept) <= all_weights.size // 2
    assert np.abs(kept).max() == pytest.approx(np.abs(all_weights).max())
    assert np.abs(kept[kept != 0]).min() >= np.median(np.abs(all_weights)) - 1e-6


def test_a_message_without_features_keeps_diets_answer(trained):
    loaded = load(trained)
    empty = Message(data={TEXT: ""})
    empty.set(INTENT, {"name": None, "confidence": 0.0})
    loaded.process([empty])
    assert empty.get(INTENT) == {"name": None, "confidence": 0.0}


def test_untrained_on_one_intent_it_leaves_the_ranking_alone(tmp_path):
    storage = LocalModelStorage(tmp_path)
    component = blender(storage)
    component.train(TrainingData([message([1, 0, 0, 0, 0, 0], "greet")]))
    loaded = load(storage)
    text = message([1, 0, 0, 0, 0, 0], ranking=[("greet", 0.7), ("goodbye", 0.3)])
    loaded.process([text])
    assert text.get(INTENT) == {"name": "greet", "confidence": 0.7}


def test_a_message_one_featurizer_left_nothing_for_is_still_read(tmp_path):
    # Only emoji: no words to count, but the encoder's vector. The columns of the
    # missing featurizer are zeros, not a narrower row that no weight fits.
    rng = np.random.default_rng(0)
    examples = []
    for i, intent in enumerate(INTENTS):
        for _ in range(12):
            example_message = message(example(i, rng), intent)
            meaning = np.zeros((1, 3), dtype=np.float32)
            meaning[0, i] = 1
            example_message.add_features(Features(scipy.sparse.coo_matrix(meaning), "sentence", TEXT, "encoder"))
            examples.append(example_message)
    storage = LocalModelStorage(tmp_path)
    blender(storage).train(TrainingData(examples))
    only_meaning = Message(data={TEXT: "😀😱🙏"})
    only_meaning.add_features(Features(scipy.sparse.coo_matrix(np.asarray([[0, 1, 0]], dtype=np.float32)),
                                       "sentence", TEXT, "encoder"))
    only_meaning.set(INTENT_RANKING_KEY, [{"name": "greet", "confidence": 0.5},
                                          {"name": "scam_impersonate_acquaintance", "confidence": 0.4}])
    load(storage).process([only_meaning])
    assert only_meaning.get(INTENT)["name"] == "scam_impersonate_acquaintance"


@pytest.mark.parametrize("change", [{"share": 1.5}, {"C": 0}, {"C": "x"}, {"ranking_length": -1},
                                    {"calibration_folds": 2.5}, {"kept_weights": 0}, {"kept_weights": 1.5}])
def test_a_bad_setting_is_refused_at_start_up(tmp_path, change):
    with pytest.raises(InvalidConfigException):
        blender(LocalModelStorage(tmp_path), **change)
