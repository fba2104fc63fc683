"""`python -m attnviz` does what the `attnviz` command does."""

import sys

from attnviz.cli import main

sys.exit(main())
