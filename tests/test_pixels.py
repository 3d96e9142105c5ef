import numpy as np
import pytest

from rootrepair.pixels import argwhere, nonzero


def test_nonzero_gives_rows_and_columns_in_row_major_order():
    m = np.zeros((3, 4), bool)
    m[2, 3] = m[0, 1] = m[2, 0] = True
    rows, cols = nonzero(m)
    assert rows.tolist() == [0, 2, 2] and cols.tolist() == [1, 0, 3]
    assert argwhere(m).tolist() == [[0, 1], [2, 0], [2, 3]]
    labels = np.array([[0, 5], [7, 0]], np.int32)  # any dtype: non-zero values, not only True
    assert [a.tolist() for a in nonzero(labels)] == [[0, 1], [1, 0]]


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (1, 1), (7, 3), (64, 65)])
def test_nonzero_and_argwhere_match_numpy(shape):
    rng = np.random.default_rng(0)
    for share in (0.0, 0.3, 1.0):
        m = rng.random(shape) < share
        for ours, theirs in zip(nonzero(m), np.nonzero(m)):
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
        assert argwhere(m).shape == np.argwhere(m).shape and np.array_equal(argwhere(m), np.argwhere(m))


def test_nonzero_refuses_other_than_two_dimensions():
    with pytest.raises(ValueError):
        nonzero(np.ones(3, bool))
