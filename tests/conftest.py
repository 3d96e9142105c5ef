import numpy as np
import pytest


@pytest.fixture
def line_mask():
    """A horizontal line of 101 px."""
    m = np.zeros((5, 110), bool)
    m[2, 3:104] = True
    return m


@pytest.fixture
def y_mask():
    """A Y: a 20-px stem and two 15-px diagonal arms."""
    m = np.zeros((50, 50), bool)
    m[0:20, 25] = True
    for i in range(15):
        m[20 + i, 25 - i] = True
        m[20 + i, 25 + i] = True
    return m
