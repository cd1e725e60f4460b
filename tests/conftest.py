import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def frozen(*arrays):
    """Read-only copies of `arrays`, with the originals kept to compare against later."""
    out = []
    for a in arrays:
        a = np.array(a, copy=True)
        a.setflags(write=False)
        out.append(a)
    return out
