"""Count features scaled so that a long pasted message weighs the same as a short one."""

from typing import List, Optional, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from sklearn.preprocessing import normalize


def scale_counts(counts: scipy.sparse.spmatrix) -> scipy.sparse.coo_matrix:
    """log(1 + count), then unit length per row."""
    scaled = counts.tocsr().astype(np.float32)
    scaled.data = np.log1p(scaled.data)
    return normalize(scaled, norm="l2").tocoo()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class ScaledCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's CountVectorsFeaturizer with sentence features from `scale_counts`.

    Raw counts grow with length, so a 300-character SMS reached the classifier with
    features ten times larger than a short message and got confident, wrong intents.
    """

    def _create_features(
        self, attribute: Text, all_tokens: List[List[Text]]
    ) -> Tuple[List[Optional[scipy.sparse.spmatrix]], List[Optional[scipy.sparse.spmatrix]]]:
        sequence, sentence = super()._create_features(attribute, all_tokens)
        return sequence, [None if row is None else scale_counts(row) for row in sentence]
