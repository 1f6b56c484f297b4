"""Import sessions, exports and notes (same as `claude-memory import`)."""

import sys

from claude_memory.cli import main

if __name__ == "__main__":
    sys.exit(main(["import", *sys.argv[1:]]))
