"""Database access: connection pool, migrations and every SQL statement."""
