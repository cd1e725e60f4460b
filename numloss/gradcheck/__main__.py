"""``python -m numloss.gradcheck``: run the gradient-check suite (see `suite`)."""

import sys

from .suite import main

sys.exit(main())
