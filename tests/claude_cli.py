"""The real Claude Code CLI for the end-to-end suite: a pinned version installed with npm into a test-tools
folder (cached between runs), run offline against the scripted Anthropic server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VERSION = os.environ.get("CLAUDE_CODE_VERSION", "").strip() or "2.1.332"  # the version this suite proves
TOOLS = ROOT / ".test-tools" / f"claude-code-{VERSION}"
PACKAGE = TOOLS / "node_modules" / "@anthropic-ai" / "claude-code"


def binary() -> Path:
    """Install the pinned CLI once (npm, then the package's install.cjs, which puts the native binary in
    bin/ when npm skipped the postinstall); later runs reuse it."""
    exe = TOOLS / "node_modules" / ".bin" / "claude"
    if exe.exists() and _version(exe) == VERSION:
        return exe
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install the Claude Code CLI for the end-to-end tests")
    TOOLS.mkdir(parents=True, exist_ok=True)
    (TOOLS / "package.json").write_text(json.dumps({"name": "claude-memory-test-tools", "private": True}))
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--save-exact",
                    f"@anthropic-ai/claude-code@{VERSION}"], cwd=TOOLS, check=True, timeout=900,
                   capture_output=True)
    subprocess.run(["node", "install.cjs"], cwd=PACKAGE, check=True, timeout=300, capture_output=True)
    got = _version(exe)
    if got != VERSION:
        raise RuntimeError(f"installed Claude Code reports {got!r}, expected {VERSION}")
    return exe


def _version(exe: Path) -> str | None:
    try:
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60,
                             env={"PATH": os.environ.get("PATH", ""), "DISABLE_AUTOUPDATER": "1",
                                  "HOME": str(TOOLS)})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.split()[0] if out.returncode == 0 and out.stdout.strip() else None


class Claude:
    """One user's Claude Code: its own HOME and config folder, talking only to `api_url`."""

    def __init__(self, exe: Path, home: Path, api_url: str, **extra_env: str) -> None:
        self.exe, self.home = exe, home
        self.config = home / ".claude"
        self.config.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", ""), "HOME": str(home), "CLAUDE_CONFIG_DIR": str(self.config),
            "ANTHROPIC_API_KEY": "sk-ant-test-dummy", "ANTHROPIC_BASE_URL": api_url,
            "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "NO_PROXY": "127.0.0.1,localhost",
            "LANG": "C.UTF-8", **extra_env,
        }

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.exe), *args], env=self.env, cwd=cwd or self.home, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def ask(self, prompt: str, cwd: Path, *extra: str, timeout: float = 240) -> dict[str, Any]:
        """`claude -p PROMPT --output-format json` in `cwd`; its JSON result."""
        out = self.run("-p", prompt, "--output-format", "json", *extra, cwd=cwd, timeout=timeout)
        assert out.returncode == 0, f"claude -p failed ({out.returncode}): {out.stderr[-2000:]} {out.stdout[-2000:]}"
        return dict(json.loads(out.stdout))

    def transcripts(self) -> list[Path]:
        return sorted((self.config / "projects").rglob("*.jsonl"))
