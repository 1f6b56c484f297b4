"""Learn corrections and patterns from imported sessions (same as `claude-memory signals`)."""

import sys

from claude_memory.cli import main

if __name__ == "__main__":
    sys.exit(main(["signals", *sys.argv[1:]]))
