import os
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


@pytest.fixture(scope="module")
def run(request, tmp_path_factory):
    """(stdout, figure folder) of one --quick run of the example its test module names.

    A tests/test_example_<stem>.py sets ``STEM = "<stem>"``; its tests share one run.
    """
    from example_run import run_example

    stem = request.module.STEM
    figures = tmp_path_factory.mktemp(stem)
    return run_example(stem, figures), figures


# -- hypothesis profiles: `make test` runs "default", `make test-long` sets
# HYPOTHESIS_PROFILE=long. "default" is fixed (derandomized: the same examples on every
# run, no database) and keeps the property tests within about a minute; "long" draws
# fresh examples, 10 times as many, and remembers failures in .hypothesis/.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
