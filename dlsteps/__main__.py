"""`python -m dlsteps` runs the command line."""

import sys

from dlsteps.launch import main

sys.exit(main())
