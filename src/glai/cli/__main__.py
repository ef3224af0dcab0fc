"""``python -m glai.cli``: the ``glai`` command."""

import sys

from glai.cli.main import main

sys.exit(main())
