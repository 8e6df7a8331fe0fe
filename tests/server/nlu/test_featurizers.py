"""Scaled count features: length no longer sets the size of the input; the same features
as Rasa's own featurizer, in one pass; pinyin features."""

import copy

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from server.nlu.chinese import ChineseTokenizer
from server.nlu.featurizers import (
    PinyinCountVectorsFeaturizer,
    ScaledCountVectorsFeaturizer,
    SentenceRegexFeaturizer,
    scale_counts,
)


def test_rows_have_unit_length():
    counts = scipy.sparse.coo_matrix(np.array([[3, 0, 4], [0, 0, 1]]))
    scaled = scale_counts(counts).toarray()
    assert np.allclose(np.linalg.norm(scaled, axis=1), 1.0)


def test_a_message_repeated_ten_times_looks_like_the_message():
    once = scipy.sparse.coo_matrix(np.array([[1, 2, 0, 1]]))
    ten_times = scipy.sparse.coo_matrix(np.array([[10, 20, 0, 10]]))
    assert np.allclose(scale_counts(once).toarray(), scale_counts(ten_times).toarray(), atol=0.12)


def test_empty_row_stays_empty():
    assert scale_counts(scipy.sparse.coo_matrix((1, 5))).nnz == 0


# The components on real tokenised messages, against Rasa's own CountVectorsFeaturizer.
STORIES = [
    ("公安说我涉嫌洗钱，要把钱转到安全账户", "scam_impersonate_police"),
    ("税务局打电话说购房可以退税，让我去ATM确认", "scam_tax_refund"),
    ("银行客服要我的短信验证码和U盾密码", "scam_credential_request"),
    ("社保中心说养老金要调整，让我回电话", "scam_impersonate_social_security"),
    ("对方说要逮捕我，还说了通缉令", "scam_impersonate_police"),
    ("my son called from a new number asking for money", "scam_relative_emergency"),
]


def _build(cls, path, **config):
    path.mkdir(parents=True, exist_ok=True)
    return cls.create(
        {**cls.get_default_config(), **config},
        LocalModelStorage(path),
        Resource(cls.__name__),
        ExecutionContext(GraphSchema({}), "test"),
    )


def _tokenised(tmp_path, texts):
    tokenizer = _build(ChineseTokenizer, tmp_path / "tokenizer")
    messages = [Message(data={"text": text, "intent": intent}) for text, intent in texts]
    return tokenizer.process_training_data(TrainingData(messages))


def _text_features(message):
    sequence, sentence = message.get_sparse_features("text")
    return (None if sequence is None else sequence.features.toarray(),
            None if sentence is None else sentence.features.toarray())


@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_training_features_are_rasas_own_with_the_sentence_scaled(tmp_path, analyzer):
    data = _tokenised(tmp_path, STORIES)
    theirs_data = copy.deepcopy(data)
    ours = _build(ScaledCountVectorsFeaturizer, tmp_path / "ours", analyzer=analyzer)
    theirs = _build(CountVectorsFeaturizer, tmp_path / "theirs", analyzer=analyzer)
    ours.train(data)
    theirs.train(theirs_data)
    ours.process_training_data(data)
    theirs.process_training_data(theirs_data)
    for our_message, their_message in zip(data.training_examples, theirs_data.training_examples):
        our_sequence, our_sentence = _text_features(our_message)
        their_sequence, their_sentence = _text_features(their_message)
        assert np.array_equal(our_sequence, their_sequence)
        assert np.allclose(our_sentence, scale_counts(scipy.sparse.csr_matrix(their_sentence)).toarray())


def test_a_message_at_run_time_gets_the_features_it_had_in_training(tmp_path):
    data = _tokenised(tmp_path, STORIES)
    featurizer = _build(ScaledCountVectorsFeaturizer, tmp_path / "f", analyzer="char", min_ngram=1, max_ngram=3)
    featurizer.train(data)
    featurizer.process_training_data(data)
    for trained in data.training_examples:
        fresh = _tokenised(tmp_path, [(trained.get("text"), None)]).training_examples[0]
        featurizer.process([fresh])
        for ours, expected in zip(_text_features(fresh), _text_features(trained)):
            assert np.allclose(ours, expected)


def test_sentence_features_only_leaves_out_the_per_token_features(tmp_path):
    data = _tokenised(tmp_path, STORIES)
    featurizer = _build(ScaledCountVectorsFeaturizer, tmp_path / "f", analyzer="char", sentence_features_only=True)
    featurizer.train(data)
    featurizer.process_training_data(data)
    for message in data.training_examples:
        sequence, sentence = _text_features(message)
        assert sequence is None and sentence.any()


def test_pinyin_features_make_a_homophone_typo_look_like_the_word(tmp_path):
    data = _tokenised(tmp_path, STORIES)
    featurizer = _build(PinyinCountVectorsFeaturizer, tmp_path / "f", min_ngram=1, max_ngram=3, min_df=1)
    featurizer.train(data)
    typed, meant = _tokenised(tmp_path, [("对方说要逮补我", None), ("对方说要逮捕我", None)]).training_examples
    featurizer.process([typed, meant])
    (typed_sequence, typed_sentence), (_, meant_sentence) = _text_features(typed), _text_features(meant)
    assert typed_sequence is None
    assert typed_sentence.any() and np.array_equal(typed_sentence, meant_sentence)


def test_regex_features_are_one_sequence_step_the_sentences_own(tmp_path):
    data = _tokenised(tmp_path, [("公安说要转到安全账户", "scam"), ("你好", "greet")])
    data.regex_features = [{"name": "safe_account", "pattern": "安全账户"},
                           {"name": "police", "pattern": "公安|警察"}]
    featurizer = _build(SentenceRegexFeaturizer, tmp_path / "f")
    featurizer.train(data)
    featurizer.process_training_data(data)
    story, greeting = (_text_features(m) for m in data.training_examples)
    assert np.array_equal(story[0], [[1.0, 1.0]]) and np.array_equal(story[1], [[1.0, 1.0]])
    assert np.array_equal(greeting[0], [[0.0, 0.0]]) and np.array_equal(greeting[1], [[0.0, 0.0]])
