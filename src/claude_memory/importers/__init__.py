"""Importers: one pure parser per source format (file → sessions and messages) and the import job."""
