"""Repositories: the only code that writes SQL; each returns frozen dataclasses from db/records.py."""
