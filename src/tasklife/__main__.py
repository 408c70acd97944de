"""``python -m tasklife`` runs the command line."""

import sys

from tasklife.cli import main

sys.exit(main())
