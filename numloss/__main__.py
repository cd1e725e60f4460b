"""``python -m numloss``: the ``numloss`` command (see `numloss.cli`)."""

import sys

from .cli import main

sys.exit(main())
