"""`python -m dlsteps` runs the command line."""

import sys

from dlsteps.cli import main

sys.exit(main())
