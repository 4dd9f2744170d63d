"""The fixtures every test package shares come as plugins from tests/support (tests name them, never
import them): the stores, the app under test with the sample knowledge base, the local LLM endpoint."""

from __future__ import annotations

import os
import tempfile

pytest_plugins = ["support.store_fixtures", "support.web_fixtures", "support.llm_fixtures"]

# Knowledge bases built by the tests share one embedding cache per run, so the sample is embedded once.
os.environ.setdefault("STDBOT_EMBEDDING__CACHE_DIR", tempfile.mkdtemp(prefix="stdbot-test-embeddings-"))
