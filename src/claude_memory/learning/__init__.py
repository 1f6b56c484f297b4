"""How claude-memory learns the user: corrections, mined patterns, the preferences read model and the
session-start context built from them."""
