"""Scaled count features: length no longer sets the size of the input."""

import numpy as np
import scipy.sparse

from components.featurizers import scale_counts


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
