"""Reading /metrics in tests: one sample's value out of the Prometheus text exposition format."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient


def metric(text: str, name: str, labels: str = "") -> float | None:
    """The value of one sample in the exposition text, None when absent."""
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match[1]) if match else None


def metrics_of(app: FastAPI) -> str:
    """GET /metrics of `app`; after its lifespan has ended, every count is final."""
    response = TestClient(app).get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text
