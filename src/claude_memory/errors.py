"""Domain errors, translated at the edges (MCP tool errors, HTTP 4xx, CLI exit codes)."""


class ClaudeMemoryError(Exception):
    """Base class for errors whose message is meant for the user."""


class InvalidInput(ClaudeMemoryError):
    """A parameter was missing, malformed or out of range."""


class NotFound(ClaudeMemoryError):
    """The referenced memory does not exist."""


class Conflict(ClaudeMemoryError):
    """The operation is not allowed in the memory's current state."""


class ConfigError(ClaudeMemoryError):
    """A setting has a bad value; the message names the variable."""


class DimensionMismatch(ClaudeMemoryError):
    """The configured embedding model does not match the vectors in the database."""


class Unavailable(ClaudeMemoryError):
    """A dependency (database, model) is not ready or unreachable."""
