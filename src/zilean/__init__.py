"""Groovy Zilean: a self-hosted Discord music bot with a web dashboard."""

# The one place the version is written; pyproject.toml reads it from here (no importlib.metadata
# at start-up: `zilean version` stays as quick as a bare `python -c pass`).
__version__ = "0.1.0"
