"""The `stdbot` command line."""

from __future__ import annotations

from bot.cli import evaluate, ingest, kb, query, serve, user  # noqa: F401  (registers the commands)
from bot.cli.app import app

__all__ = ["app"]
