"""Run the claude-memory server (same as `claude-memory serve`)."""

import sys

from claude_memory.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
