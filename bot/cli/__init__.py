"""The `stdbot` command line."""

from __future__ import annotations

from bot.cli.app import app
from bot.cli import ingest, kb, query, evaluate  # noqa: F401  (registers the commands)

__all__ = ["app"]
