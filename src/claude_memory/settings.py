"""The one Settings object: every environment variable of SPEC §2, validated at the entry points."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, options: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
    return raw


def _projects_dir(env: Mapping[str, str]) -> Path:
    if env.get("CLAUDE_PROJECTS_DIR"):
        return Path(env["CLAUDE_PROJECTS_DIR"]).expanduser()
    if env.get("CLAUDE_CONFIG_DIR"):
        return Path(env["CLAUDE_CONFIG_DIR"]).expanduser() / "projects"
    return Path("~/.claude/projects").expanduser()


@dataclass(frozen=True)
class Settings:
    """Validated configuration; built once per process by `Settings.from_env`."""

    database_url: str | None
    data_dir: Path
    host: str
    port: int
    api_token: str | None
    embedding_model: str
    ollama_url: str
    distill_model: str
    distill_workers: int
    distill_context_chars: int
    distill_timeout: float
    distill_min_messages: int
    guard_noop_threshold: float
    guard_update_threshold: float
    cache_max_size: int
    cache_ttl_seconds: int
    claude_projects_dir: Path
    claude_config_dir: Path
    startup_context_bytes: int
    torch_threads: int
    backup_keep: int = 14
    embedding_backend: str = "auto"
    model_cache_dir: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting; a bad value raises ConfigError naming the variable."""
        env = os.environ if env is None else env
        noop = _float(env, "GUARD_NOOP_THRESHOLD", 0.92, 0.0, 1.0)
        update = _float(env, "GUARD_UPDATE_THRESHOLD", 0.75, 0.0, 1.0)
        if update > noop:
            raise ConfigError(
                f"GUARD_UPDATE_THRESHOLD ({update}) must not exceed GUARD_NOOP_THRESHOLD ({noop})"
            )
        url = env.get("DATABASE_URL", "").strip() or None
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("DATABASE_URL must start with postgresql:// or postgres://")
        host = env.get("MEMORY_HOST", "").strip() or "127.0.0.1"
        data_dir = Path(env.get("MEMORY_DATA_DIR", "") or "~/.local/share/claude-memory").expanduser()
        return cls(
            database_url=url,
            data_dir=data_dir,
            host=host,
            port=_int(env, "MEMORY_PORT", 3333, 1, 65535),
            api_token=env.get("MEMORY_API_TOKEN", "").strip() or None,
            embedding_model=env.get("EMBEDDING_MODEL", "").strip() or DEFAULT_MODEL,
            ollama_url=env.get("OLLAMA_URL", "").strip() or "http://localhost:11434/v1",
            distill_model=env.get("DISTILL_MODEL", "").strip() or "qwen2.5:7b",
            distill_workers=_int(env, "DISTILL_WORKERS", 4, 1, 64),
            distill_context_chars=_int(env, "DISTILL_CONTEXT_CHARS", 24_000, 1_000, 2_000_000),
            distill_timeout=_float(env, "DISTILL_TIMEOUT", 300.0, 1.0, 3600.0),
            distill_min_messages=_int(env, "DISTILL_MIN_MESSAGES", 4, 1, 100_000),
            guard_noop_threshold=noop,
            guard_update_threshold=update,
            cache_max_size=_int(env, "CACHE_MAX_SIZE", 500, 0, 1_000_000),
            cache_ttl_seconds=_int(env, "CACHE_TTL_SECONDS", 600, 0, 86_400 * 7),
            claude_projects_dir=_projects_dir(env),
            claude_config_dir=Path(env.get("CLAUDE_CONFIG_DIR") or "~/.claude").expanduser(),
            startup_context_bytes=_int(env, "STARTUP_CONTEXT_BYTES", 2048, 256, 1_000_000),
            torch_threads=_int(env, "TORCH_THREADS", min(os.cpu_count() or 1, 4), 1, 256),
            backup_keep=_int(env, "BACKUP_KEEP", 14, 1, 10_000),
            embedding_backend=_choice(env, "EMBEDDING_BACKEND", ("auto", "onnx", "torch"), "auto"),
            model_cache_dir=Path(env["MODEL_CACHE_DIR"]).expanduser() if env.get("MODEL_CACHE_DIR", "").strip()
            else data_dir / "models",
        )
