"""server.nlu.chinese: jieba tokens without whitespace, with a cheap but faithful fingerprint."""

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from server.nlu.chinese import ChineseTokenizer, FastFingerprintToken


@pytest.fixture
def tokenizer(tmp_path):
    return ChineseTokenizer.create(
        {**ChineseTokenizer.get_default_config(), "dictionary_path": "data/jieba_userdict"},
        LocalModelStorage(tmp_path), Resource("tokenizer"), ExecutionContext(GraphSchema({}), "test"),
    )


def test_tokens_are_words_without_spaces(tokenizer):
    tokens = tokenizer.tokenize(Message(data={"text": "公安说 安全账户 tax refund"}), "text")
    assert [t.text for t in tokens] == ["公安", "说", "安全账户", "tax", "refund"]
    assert all(isinstance(t, FastFingerprintToken) for t in tokens)


def test_the_fingerprint_changes_with_every_field():
    base = FastFingerprintToken("验证码", 3, 6, {"pattern": {"kw_credentials": True}}, "验证码")
    twin = FastFingerprintToken("验证码", 3, 6, {"pattern": {"kw_credentials": True}}, "验证码")
    changed = [
        FastFingerprintToken("验正码", 3, 6, {"pattern": {"kw_credentials": True}}, "验证码"),
        FastFingerprintToken("验证码", 4, 6, {"pattern": {"kw_credentials": True}}, "验证码"),
        FastFingerprintToken("验证码", 3, 7, {"pattern": {"kw_credentials": True}}, "验证码"),
        FastFingerprintToken("验证码", 3, 6, {"pattern": {"kw_credentials": False}}, "验证码"),
        FastFingerprintToken("验证码", 3, 6, {"pattern": {"kw_credentials": True}}, "验正码"),
    ]
    assert base.fingerprint() == twin.fingerprint()
    assert len({base.fingerprint(), *(token.fingerprint() for token in changed)}) == 1 + len(changed)
