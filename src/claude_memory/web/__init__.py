"""The edges: MCP tool adapters, REST, the one Starlette app."""
