"""``python -m kdtutor`` runs the ``kdtutor`` command line."""

import sys

from kdtutor.cli import main

sys.exit(main())
