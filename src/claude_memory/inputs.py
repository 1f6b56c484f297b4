"""The one rule for every parameter, on every surface (MCP tools, REST, CLI, importers).

- Text a person wrote (memory content, search queries) is cleaned, then checked: NUL characters are
  removed and lone surrogates replaced (PostgreSQL can store neither), surrounding space is trimmed, and
  only then is emptiness checked, so "\\u0000" is an empty query, not a query for "".
- Names (project, source, tag, ids) are refused when they hold NUL or lone surrogates or are too long:
  silently changing a name would match or create a different project than the one asked for.
- Numbers are integers or floats within stated bounds; booleans are not numbers."""

from __future__ import annotations

from typing import Any

from .errors import InvalidInput

MAX_NAME_CHARS = 500
MAX_TAG_CHARS = 100
MAX_TAGS = 50
MAX_ID = 2**63 - 1  # PostgreSQL bigint


def storable(text: str) -> str:
    """`text` without NUL and with lone surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def clean_text(value: Any, name: str, max_chars: int) -> str:
    """Free text: cleaned, trimmed, then required to be non-empty and at most `max_chars` long."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a non-empty string")
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is longer than {max_chars} characters")
    text = storable(value).strip()
    if not text:
        raise InvalidInput(f"{name} must be a non-empty string")
    return text


def _check_name(value: str, name: str, max_chars: int) -> str:
    if "\x00" in value:
        raise InvalidInput(f"{name} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{name} must be valid Unicode (it holds a lone surrogate)") from None
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is longer than {max_chars} characters")
    return value


def opt_name(value: Any, name: str, max_chars: int = MAX_NAME_CHARS) -> str | None:
    """An optional name (project, source, tag filter): trimmed, None when empty, refused when unstorable."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    value = _check_name(value.strip(), name, max_chars)
    return value or None


def clean_tags(tags: Any) -> list[str]:
    """A list of tags (or one comma-separated string): trimmed, deduplicated, each a valid name."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("tags must be a list of strings")
    out: list[str] = []
    for t in tags:
        t = _check_name(t.strip(), "a tag", MAX_TAG_CHARS)
        if t and t not in out:
            out.append(t)
    if len(out) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    return out


def bounded(value: Any, name: str, default: int, lo: int, hi: int) -> int:
    """An integer parameter within [lo, hi]; `default` when absent."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer")
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be between {lo} and {hi}")
    return value


def fraction(value: Any, name: str, default: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """A number parameter within [lo, hi]; `default` when absent."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise InvalidInput(f"{name} must be a number between {lo:g} and {hi:g}")
    return float(value)


def memory_id(value: Any, name: str = "memory_id") -> int:
    """A memory id: a positive integer that fits PostgreSQL's bigint (digits in a string are accepted)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"{name} must be a positive integer")
    return value
