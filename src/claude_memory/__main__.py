"""`python -m claude_memory …` (what the installed Claude Code hooks run)."""

import sys

from .cli import main

sys.exit(main())
