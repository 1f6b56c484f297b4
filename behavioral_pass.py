"""Same as `claude-memory behavior`."""

import sys

from claude_memory.cli import main

if __name__ == "__main__":
    sys.exit(main(["behavior", *sys.argv[1:]]))
