"""Rasa graph components: normalise Chinese text, then tokenise it with jieba."""

from hashlib import md5
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from core.text import normalise


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class ChineseNormalizer(GraphComponent):
    """Rewrites the message text before tokenising (see core.text.normalise)."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ChineseNormalizer":
        return cls()

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return ["zh"]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                message.set(TEXT, normalise(text))
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=True
)
class ChineseTokenizer(JiebaTokenizer):
    """Rasa's JiebaTokenizer without whitespace tokens.

    Rasa 3.6 emits " " as a token for every space (English words, pasted SMS), which
    adds noise features and breaks entity boundaries.
    """

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        return [
            FastFingerprintToken(token.text, token.start, token.end, token.data, token.lemma)
            for token in super().tokenize(message, attribute)
            if token.text.strip()
        ]


class FastFingerprintToken(Token):
    """A token with a cheaper fingerprint of the same fields.

    Rasa fingerprints every token of the training data before and after each training
    step (for its training cache). Its generic fingerprint, a JSON dump and seven md5s
    per token, was a third of the Python time of `rasa train`.
    """

    def fingerprint(self) -> Text:
        fields = (self.text, self.start, self.end, self.lemma, sorted(self.data.items()))
        return md5(repr(fields).encode("utf-8")).hexdigest()
