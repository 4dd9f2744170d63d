"""Record ids as routes accept them: positive and within a 64-bit signed integer (what the database
stores), so an id like 2^63 is a 422 with a message, never an overflow deep in the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**63 - 1

RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="last message id already shown")]


def event_id(header: str | None) -> int:
    """The Last-Event-ID an EventSource sent back, or 0 when it is absent or not an id we gave."""
    if header and header.isdigit() and int(header) <= MAX_ID:
        return int(header)
    return 0
