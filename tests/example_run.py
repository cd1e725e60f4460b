"""Running an example script as the Makefile does, for the tests of its printed claims.

Each tests/test_example_<stem>.py runs its script once (a module-scoped fixture) with
`run_example` and reads the numbers it printed with `grab`.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"
PNG = b"\x89PNG\r\n\x1a\n"  # the first eight bytes of every PNG file


def run_example(stem: str, figures: Path, quick: bool = True) -> str:
    """Run examples/<stem>.py (with --quick) in `figures`, its figures written there.

    A non-interactive matplotlib, the working directory and NUMLOSS_FIGURES both set to
    `figures` (as tests/test_examples.py does); returns the script's stdout, and fails
    with its stderr if it did not exit with 0 or printed a warning there.
    """
    env = {**os.environ, "NUMLOSS_FIGURES": str(figures), "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{stem}.py"), *(["--quick"] if quick else [])],
        capture_output=True,
        text=True,
        env=env,
        cwd=figures,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    # a warning an example provokes on purpose is printed on stdout, labelled deliberate;
    # anything on stderr would read as a fault to whoever runs `make examples`
    assert "Warning" not in proc.stderr, proc.stderr
    return proc.stdout


def grab(pattern: str, text: str) -> tuple[str, ...]:
    """The groups of `pattern`'s first match in `text`; the test fails if there is none."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in the output:\n{text}"
    return match.groups()


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG
