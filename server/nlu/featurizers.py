"""Count features scaled so that a long pasted message weighs the same as a short one,
and the same over toneless pinyin, so that a homophone typo counts as the word meant."""

from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.preprocessing import normalize

from server.nlu.pinyin import syllables

Rows = List[Optional[scipy.sparse.spmatrix]]


def scale_counts(counts: scipy.sparse.spmatrix) -> scipy.sparse.csr_matrix:
    """log(1 + count), then unit length per row."""
    scaled = counts.tocsr().astype(np.float32)
    scaled.data = np.log1p(scaled.data)
    return normalize(scaled, norm="l2")


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class ScaledCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's CountVectorsFeaturizer with sentence features from `scale_counts`.

    Raw counts grow with length, so a 300-character SMS reached the classifier with
    features ten times larger than a short message and got confident, wrong intents.

    `sentence_features_only: true` leaves out the per-token features of the message
    text. DIET without transformer layers classifies from the sentence features alone,
    so the per-token ones only cost training time (character n-grams most of all).
    Training data is featurised in one vectoriser call per attribute, not one per
    message: the same features, 2-3x faster (3,794 messages: 0.95 s against 2.70 s).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**CountVectorsFeaturizer.get_default_config(), "sentence_features_only": False}

    def _sentence_features_only(self) -> bool:
        return self._config["sentence_features_only"]

    def _create_features(self, attribute: Text, all_tokens: List[List[Text]]) -> Tuple[Rows, Rows]:
        sequence: Rows = [None] * len(all_tokens)
        sentence: Rows = [None] * len(all_tokens)
        vectorizer = self.vectorizers.get(attribute)
        present = [i for i, tokens in enumerate(all_tokens) if tokens]
        if not vectorizer or not present:
            return sequence, sentence

        if attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            counts = vectorizer.transform([" ".join(all_tokens[i]) for i in present])
            for row, i in zip(scale_counts(counts), present):
                sentence[i] = row.tocoo()

        if not (attribute == TEXT and self._sentence_features_only()):
            counts = vectorizer.transform([token for i in present for token in all_tokens[i]])
            counts = counts.tocsr()
            counts.sort_indices()
            start = 0
            for i in present:
                end = start + len(all_tokens[i])
                sequence[i] = counts[start:end].tocoo()
                start = end
        return sequence, sentence

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        if self.vectorizers is None:
            return super().process_training_data(training_data)
        messages = training_data.training_examples
        for attribute in self._attributes:
            all_tokens = [
                self._get_processed_message_tokens_by_attribute(message, attribute)
                for message in messages
            ]
            sequence, sentence = self._create_features(attribute, all_tokens)
            for message, message_sequence, message_sentence in zip(messages, sequence, sentence):
                self.add_features_to_message(message_sequence, message_sentence, attribute, message)
        return training_data


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class PinyinCountVectorsFeaturizer(ScaledCountVectorsFeaturizer):
    """Scaled counts of pinyin syllable n-grams of the message text (server.nlu.pinyin).

    Sentence features only, whatever the configuration: a message has more syllables
    than tokens, and per-token features must line up with the tokens.
    """

    def _sentence_features_only(self) -> bool:
        return True

    def _get_processed_message_tokens_by_attribute(
        self, message: Message, attribute: Text = TEXT
    ) -> List[Text]:
        tokens = super()._get_processed_message_tokens_by_attribute(message, attribute)
        return syllables(tokens) if attribute == TEXT else tokens


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class SentenceRegexFeaturizer(RegexFeaturizer):
    """Rasa's RegexFeaturizer whose per-token features of the message text are one step,
    the sentence's own row.

    DIET needs some sequence features, but without transformer layers it classifies
    from the sentence features alone, and every other featurizer here gives sentence
    features only. One row per token made DIET carry a (batch, longest message, 64)
    tensor through every step for nothing: pasted messages run to ~1,000 tokens. Together
    with sentence-only word counts, an epoch about a tenth faster.
    """

    def _features_for_patterns(
        self, message: Message, attribute: Text
    ) -> Tuple[Optional[scipy.sparse.coo_matrix], Optional[scipy.sparse.coo_matrix]]:
        sequence, sentence = super()._features_for_patterns(message, attribute)
        if attribute == TEXT and sentence is not None:
            return sentence.copy(), sentence
        return sequence, sentence
