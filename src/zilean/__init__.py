"""Groovy Zilean: a self-hosted Discord music bot with a web dashboard."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("groovy-zilean")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
