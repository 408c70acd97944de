"""``python -m tasklife`` runs the command line."""

import sys

from tasklife.cli import main

if __name__ == "__main__":
    sys.exit(main())
