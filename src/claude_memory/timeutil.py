"""Parsing of the `since` / `before` parameters."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import InvalidInput


def parse_when(value: str | None, name: str) -> datetime | None:
    """ISO date or datetime → aware UTC datetime; naive values are taken as UTC."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO date or datetime such as 2026-01-01 or 2026-01-01T12:00:00, got {text!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
