"""A linear intent classifier on DIET's own input, blended with DIET's ranking.

DIET squeezes the count features and the sentence vector through one 64-unit layer and
scores intents by similarity in a 20-dimension space. On this data a linear support
vector machine over the same features reads the types apart better, `relative_emergency`
from `impersonate_acquaintance` above all; the two make different mistakes, so the blend
of both rankings is better than either (docs/nlu.md gives the figures).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple, Union

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE, INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

# Softmax sharpness tried for the machine's scores; the one whose held-out
# probabilities fit best (log-loss) is kept.
TEMPERATURES = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


def _sentence_features(message: Message) -> Dict[Text, scipy.sparse.spmatrix]:
    """The message's sparse sentence features of TEXT, by the featurizer that made them."""
    return {
        _origin(f.origin): f.features for f in message.features
        if f.attribute == TEXT and f.is_sparse() and f.type == FEATURE_TYPE_SENTENCE
    }


def _origin(origin: Union[Text, List[Text]]) -> Text:
    return origin if isinstance(origin, str) else "+".join(origin)


def sentence_layout(messages: List[Message]) -> List[Tuple[Text, int]]:
    """(featurizer, width) of every sparse sentence feature the messages carry, in the
    order first met: the columns of the machine's input."""
    layout: Dict[Text, int] = {}
    for message in messages:
        for origin, features in _sentence_features(message).items():
            layout.setdefault(origin, features.shape[-1])
    return list(layout.items())


def sentence_matrix(messages: List[Message], layout: List[Tuple[Text, int]]) -> scipy.sparse.csr_matrix:
    """One row per message, each featurizer's columns where `layout` puts them. A message
    one featurizer left nothing for (only emoji: no words, no characters to count) gets
    zeros there, as DIET reads it. Built from the blocks' entries in one go: scipy's
    hstack and vstack cost more than the product that follows."""
    starts = np.cumsum([0] + [width for _, width in layout])
    rows, columns, values = [], [], []
    for row, message in enumerate(messages):
        present = _sentence_features(message)
        for (origin, width), start in zip(layout, starts):
            features = present.get(origin)
            if features is None or features.shape != (1, width):
                continue
            block = scipy.sparse.coo_matrix(features)
            rows.append(np.full(block.nnz, row))
            columns.append(block.col + start)
            values.append(block.data)
    if not rows:
        return scipy.sparse.csr_matrix((len(messages), starts[-1]), dtype=np.float32)
    return scipy.sparse.csr_matrix(
        (np.concatenate(values).astype(np.float32), (np.concatenate(rows), np.concatenate(columns))),
        shape=(len(messages), starts[-1]),
    )


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def best_temperature(features: scipy.sparse.csr_matrix, labels: np.ndarray, c: float, folds: int) -> float:
    """The temperature whose softmax of held-out scores gives the lowest log-loss."""
    counts = np.unique(labels, return_counts=True)[1]
    if folds < 2 or counts.min() < folds:
        return TEMPERATURES[len(TEMPERATURES) // 2]
    loss = np.zeros(len(TEMPERATURES))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(labels, labels):
        machine = LinearSVC(C=c, random_state=0).fit(features[train], labels[train])
        truth = np.searchsorted(machine.classes_, labels[test])
        scores = machine.decision_function(features[test])
        for i, temperature in enumerate(TEMPERATURES):
            chosen = softmax(scores * temperature)[np.arange(len(test)), truth]
            loss[i] -= np.log(np.maximum(chosen, 1e-12)).sum()
    return TEMPERATURES[int(loss.argmin())]


@dataclass
class Machine:
    """The trained machine: sparse weights and intercepts with the temperature folded in,
    one row per intent of `classes`, over the columns of `layout`."""

    coef: scipy.sparse.csr_matrix
    intercept: np.ndarray
    classes: List[Text]
    layout: List[Tuple[Text, int]]
    temperature: float

    def __post_init__(self) -> None:
        # Features by intent, for products with a message's few non-zero features.
        self._by_feature = self.coef.T.tocsr()

    def probabilities(self, features: scipy.sparse.csr_matrix) -> np.ndarray:
        return softmax((features @ self._by_feature).toarray() + self.intercept)

    def save(self, directory: Path) -> None:
        scipy.sparse.save_npz(directory / "coef.npz", self.coef)
        np.save(directory / "intercept.npy", self.intercept, allow_pickle=False)
        (directory / "meta.json").write_text(json.dumps(
            {"classes": self.classes, "layout": self.layout, "temperature": self.temperature}), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "Machine":
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        return cls(
            coef=scipy.sparse.load_npz(directory / "coef.npz").tocsr(),
            intercept=np.load(directory / "intercept.npy", allow_pickle=False),
            classes=meta["classes"],
            layout=[(str(origin), int(width)) for origin, width in meta["layout"]],
            temperature=meta["temperature"],
        )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentBlender(IntentClassifier, GraphComponent):
    """Place it after DIETClassifier: it replaces the intent and the ranking with the
    blend of DIET's confidences and its own, `share` of them its own."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # The machine's regularisation (sklearn's C): 0.5 measured best of 0.25-1.
            "C": 0.5,
            # Weight of the linear machine's probabilities in the blend; DIET has the rest.
            "share": 0.5,
            # Held-out folds of the training data for choosing the temperature.
            "calibration_folds": 3,
            # Intents in the ranking a message carries, as DIET's default.
            "ranking_length": 10,
            # Share of the weights kept, the largest: the rest are near zero and cost the
            # server memory (39 intents x 137,000 features as float32 = 21 MB; a tenth
            # kept, 4 MB, gave the same cross-validation figures).
            "kept_weights": 0.1,
        }

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if not isinstance(config.get("C"), (int, float)) or not config["C"] > 0:
            raise InvalidConfigException(f"{cls.__name__}: C must be a number above 0.")
        if not isinstance(config.get("share"), (int, float)) or not 0 <= config["share"] <= 1:
            raise InvalidConfigException(f"{cls.__name__}: share must be between 0 and 1.")
        kept = config.get("kept_weights")
        if not isinstance(kept, (int, float)) or not 0 < kept <= 1:
            raise InvalidConfigException(f"{cls.__name__}: kept_weights must be above 0 and at most 1.")
        for key in ("calibration_folds", "ranking_length"):
            if not isinstance(config.get(key), int) or config[key] < 0:
                raise InvalidConfigException(f"{cls.__name__}: {key} must be a whole number, 0 or more.")

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        machine: Optional[Machine] = None,
    ) -> None:
        self.validate_config(config)
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._machine = machine

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LinearIntentBlender":
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples
                    if m.get(TEXT) and m.get(INTENT) and _sentence_features(m)]
        if len({m.get(INTENT) for m in examples}) < 2:
            return self._resource  # nothing to tell apart: DIET's ranking stands
        layout = sentence_layout(examples)
        features = sentence_matrix(examples, layout)
        labels = np.array([m.get(INTENT) for m in examples])
        temperature = best_temperature(features, labels, self._config["C"], self._config["calibration_folds"])
        svm = LinearSVC(C=self._config["C"], random_state=0).fit(features, labels)
        # The temperature folded into the weights, the largest of them kept.
        coef = svm.coef_ * temperature
        smallest_kept = np.quantile(np.abs(coef), 1 - self._config["kept_weights"])
        coef[np.abs(coef) < smallest_kept] = 0
        self._machine = Machine(
            coef=scipy.sparse.csr_matrix(coef.astype(np.float32)),
            intercept=(svm.intercept_ * temperature).astype(np.float32),
            classes=[str(c) for c in svm.classes_],
            layout=layout,
            temperature=temperature,
        )
        with self._storage.write_to(self._resource) as directory:
            self._machine.save(directory)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LinearIntentBlender":
        config = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                machine = Machine.load(directory)
        except (ValueError, FileNotFoundError):  # trained on nothing to tell apart
            machine = None
        return cls(config, model_storage, resource, machine)

    def process(self, messages: List[Message]) -> List[Message]:
        present = [m for m in messages if m.get(TEXT) and _sentence_features(m)]
        if self._machine is None or not present:
            return messages
        machine = self._machine
        features = sentence_matrix(present, machine.layout)
        own = machine.probabilities(features)
        share = self._config["share"]
        for message, probabilities in zip(present, own):
            blended = {name: share * float(p) for name, p in zip(machine.classes, probabilities)}
            for entry in message.get(INTENT_RANKING_KEY) or []:
                name = entry.get(INTENT_NAME_KEY)
                blended[name] = blended.get(name, 0.0) + (1 - share) * float(entry.get("confidence") or 0.0)
            ranking = sorted(({INTENT_NAME_KEY: n, "confidence": c} for n, c in blended.items()),
                             key=lambda entry: -entry["confidence"])
            message.set(INTENT, ranking[0], add_to_output=True)
            if self._config["ranking_length"]:
                ranking = ranking[: self._config["ranking_length"]]
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages
