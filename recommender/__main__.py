"""``python -m recommender ...`` is the same as the ``recsys`` command."""

import sys

from recommender.cli import main

sys.exit(main())
