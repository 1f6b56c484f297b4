"""Parsing of the `since` / `before` parameters."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import InvalidInput

MAX_WHEN_CHARS = 64


def parse_when(value: str | None, name: str) -> datetime | None:
    """ISO date or datetime → aware UTC datetime; naive values are taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be an ISO date or datetime string")
    text = value.strip()
    if not text:
        return None
    example = "such as 2026-01-01 or 2026-01-01T12:00:00"
    if len(text) > MAX_WHEN_CHARS or "\x00" in text:
        raise InvalidInput(f"{name} must be an ISO date or datetime {example}")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO date or datetime {example}, got {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-05:00 and 0001-01-01T00:00+05:00 fall outside the calendar in UTC
        raise InvalidInput(f"{name} is outside the supported range of dates (years 1 to 9999 in UTC)") from None
