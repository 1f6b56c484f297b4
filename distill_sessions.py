"""Same as `claude-memory distill`."""

import sys

from claude_memory.cli import main

if __name__ == "__main__":
    sys.exit(main(["distill", *sys.argv[1:]]))
