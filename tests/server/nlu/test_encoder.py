"""The sentence-encoder featurizer: one dense sentence vector for the text, the same for
the same text whether alone or in a batch, bounded work for long texts. No model is
trained: the component runs on messages made here."""

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from server.nlu.chinese import ChineseNormalizer
from server.nlu.encoder import DIMENSION, SentenceEncoderFeaturizer, encode

TEXTS = [
    "公安说我涉嫌洗钱，要把钱转到安全账户",
    "税务局打电话说购房可以退税，让我去ATM确认",
    "银行客服要我的短信验证码和U盾密码",
    "my son called from a new number asking for money",
    "你好",
]


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory):
    cls = SentenceEncoderFeaturizer
    return cls.create(
        cls.get_default_config(),
        LocalModelStorage(tmp_path_factory.mktemp("storage")),
        Resource(cls.__name__),
        ExecutionContext(GraphSchema({}), node_name="encoder"),
    )


def sentence_vector(featurizer, text):
    message = Message(data={TEXT: text})
    featurizer.process([message])
    sequence, sentence = message.get_dense_features(TEXT, [])
    assert sequence is None
    return None if sentence is None else sentence.features


def test_one_dense_sentence_feature_of_512_float32(featurizer):
    message = Message(data={TEXT: TEXTS[0]})
    featurizer.process([message])
    assert message.features_present(TEXT, [])
    assert not message.get_sparse_features(TEXT, [])[1]
    sequence, sentence = message.get_dense_features(TEXT, [])
    assert sequence is None
    assert sentence.features.shape == (1, DIMENSION)
    assert sentence.features.dtype == np.float32
    assert [f.origin for f in message.features] == ["encoder"]
    assert np.isclose(np.linalg.norm(sentence.features), 1.0, atol=1e-4)


def test_only_the_text_attribute_is_featurised(featurizer):
    message = Message(data={TEXT: TEXTS[0], "intent": "scam_impersonate_police"})
    featurizer.process([message])
    assert [f.attribute for f in message.features] == [TEXT]


def test_same_text_same_vector(featurizer):
    first = sentence_vector(featurizer, TEXTS[1])
    again = sentence_vector(featurizer, TEXTS[1])
    assert np.array_equal(first, again)


def test_batch_equals_one_by_one(featurizer):
    one_by_one = np.vstack([sentence_vector(featurizer, t) for t in TEXTS])
    messages = [Message(data={TEXT: t}) for t in TEXTS]
    featurizer.process_training_data(TrainingData(messages))
    batched = np.vstack([m.get_dense_features(TEXT, [])[1].features for m in messages])
    # The same up to float rounding (the matrix products differ in shape).
    assert np.allclose(batched, one_by_one, atol=1e-5)
    small_batches = encode(TEXTS, max_chars=512, batch_size=2)
    assert np.allclose(small_batches, one_by_one, atol=1e-5)


def test_empty_text_gets_no_feature_and_does_not_stop_the_others(featurizer):
    messages = [Message(data={TEXT: ""}), Message(data={TEXT: "  "}), Message(data={TEXT: TEXTS[2]})]
    featurizer.process(messages)
    assert not messages[0].features and not messages[1].features
    assert messages[2].get_dense_features(TEXT, [])[1].features.shape == (1, DIMENSION)
    assert featurizer.process([Message(data={TEXT: ""})])[0].features == []


def test_message_without_text_is_left_alone(featurizer):
    message = Message(data={"intent": "greet"})
    featurizer.process([message])
    assert message.features == []


def test_very_long_text_reads_only_its_head(featurizer):
    head = "公安说我涉嫌洗钱要转到安全账户" * 40  # 600 characters
    long = head + "请点击链接领取奖品" * 300  # 3,300 characters
    vector = sentence_vector(featurizer, long)
    assert vector.shape == (1, DIMENSION) and np.isfinite(vector).all()
    assert np.array_equal(vector, sentence_vector(featurizer, head[:512]))


def test_max_chars_is_configurable(tmp_path):
    cls = SentenceEncoderFeaturizer
    short = cls.create(
        {**cls.get_default_config(), "max_chars": 4},
        LocalModelStorage(tmp_path),
        Resource(cls.__name__),
        ExecutionContext(GraphSchema({}), node_name="short"),
    )
    assert np.array_equal(sentence_vector(short, TEXTS[0]), sentence_vector(short, TEXTS[0][:4]))


def test_as_sparse_gives_the_same_vector_as_a_sparse_sentence_feature(featurizer, tmp_path):
    cls = SentenceEncoderFeaturizer
    sparse = cls.create(
        {**cls.get_default_config(), "as_sparse": True},
        LocalModelStorage(tmp_path),
        Resource(cls.__name__),
        ExecutionContext(GraphSchema({}), node_name="sparse"),
    )
    message = Message(data={TEXT: TEXTS[0]})
    sparse.process([message])
    assert message.get_dense_features(TEXT, []) == (None, None)
    sequence, sentence = message.get_sparse_features(TEXT, [])
    assert sequence is None and sentence.features.shape == (1, DIMENSION)
    assert np.allclose(sentence.features.toarray(), sentence_vector(featurizer, TEXTS[0]))


def test_weight_lengthens_the_vector(featurizer, tmp_path):
    cls = SentenceEncoderFeaturizer
    doubled = cls.create(
        {**cls.get_default_config(), "as_sparse": True, "weight": 2},
        LocalModelStorage(tmp_path),
        Resource(cls.__name__),
        ExecutionContext(GraphSchema({}), node_name="doubled"),
    )
    message = Message(data={TEXT: TEXTS[1]})
    doubled.process([message])
    vector = message.get_sparse_features(TEXT, [])[1].features.toarray()
    assert np.allclose(vector, 2 * sentence_vector(featurizer, TEXTS[1]))
    assert np.isclose(np.linalg.norm(vector), 2.0, atol=1e-3)


@pytest.mark.parametrize(
    "config", [{"max_chars": 0}, {"batch_size": -1}, {"max_chars": "512"}, {"as_sparse": "yes"},
               {"weight": 0}, {"weight": "2"}, {"weight": True}, {"weight": 1000}]
)
def test_bad_config_is_refused(config):
    with pytest.raises(InvalidConfigException):
        SentenceEncoderFeaturizer.validate_config({**SentenceEncoderFeaturizer.get_default_config(), **config})


def cosine(a, b):
    return float(a.ravel() @ b.ravel() / np.linalg.norm(a) / np.linalg.norm(b))


def test_traditional_reads_like_simplified(featurizer):
    simplified = sentence_vector(featurizer, "警察说我涉嫌洗钱，要把钱转到安全账户")
    traditional = sentence_vector(featurizer, "警察說我涉嫌洗錢，要把錢轉到安全帳戶")
    unrelated = sentence_vector(featurizer, "今天天气怎么样")
    # The encoder alone already puts them close (it was trained on zh and zh-TW)...
    assert cosine(simplified, traditional) > 0.6
    assert cosine(simplified, traditional) > cosine(simplified, unrelated) + 0.3
    # ...and after the pipeline's normaliser they are the same text.
    messages = [Message(data={TEXT: "警察說我涉嫌洗錢，要把錢轉到安全帳戶"})]
    ChineseNormalizer().process(messages)
    assert np.allclose(sentence_vector(featurizer, messages[0].get(TEXT)), simplified, atol=1e-6)


def test_paraphrases_are_closer_than_other_intents(featurizer):
    asked = sentence_vector(featurizer, "怎么确认对方是不是真警察")
    paraphrase = sentence_vector(featurizer, "如何核实他的警察身份")
    other = sentence_vector(featurizer, "我被骗了五千块钱怎么办")
    assert cosine(asked, paraphrase) > cosine(asked, other)
