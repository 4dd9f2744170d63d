"""Personal numbers in what users write — mobile phone numbers and resident ID card numbers — are masked
wherever stdbot shows or logs text beyond the conversation itself (logs, analytics), keeping enough to
tell two apart: 138****5678, 110101********1234."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")


def mask_personal(text: str) -> str:
    """`text` with resident ID card numbers and mainland mobile numbers masked."""
    text = _ID_CARD.sub(lambda m: f"{m[1]}********{m[2]}", text)
    return _MOBILE.sub(lambda m: f"{m[1]}****{m[2]}", text)


def mask_log_records() -> None:
    """From now on every log record's message and string arguments are masked (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_personal", False):
        return

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = mask_personal(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_personal(a) if isinstance(a, str) else a for a in record.args)
        return record

    marked: Callable[..., logging.LogRecord] = masked
    marked.masks_personal = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(marked)
