"""``python -m kdtutor`` runs the ``kdtutor`` command line."""

import sys

from kdtutor.series.cli import main

sys.exit(main())
