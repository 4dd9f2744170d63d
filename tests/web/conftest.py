"""The web tests' settings: the sample knowledge base, a fresh SQLite store per test, framing allowed
for one outside site. The app, its client and the live server are the shared fixtures of
support/web_fixtures.py, built from these settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.web_app import web_settings

from config.settings import Settings


@pytest.fixture
def settings(kb_dir: Path, tmp_path: Path) -> Settings:
    return web_settings(
        kb_dir, tmp_path / "stdbot.db", allowed_frame_ancestors=["'self'", "https://example.org"]
    )
