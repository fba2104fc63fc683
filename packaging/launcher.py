"""Entry point of the frozen app: the same as the `attnviz` console script."""

import sys

from attnviz.cli import main

if __name__ == "__main__":
    sys.exit(main())
