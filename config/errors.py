"""The one exception tree of stdbot. Every error the project raises on purpose is a StdbotError."""

from __future__ import annotations


class StdbotError(Exception):
    """Base of every error stdbot raises on purpose; its message is meant for people."""


class SettingsError(StdbotError):
    """A setting is missing or wrong; the message names it."""


class IngestError(StdbotError):
    """A source could not be read or split."""


class LoaderError(IngestError):
    """One file could not be loaded: unreadable, corrupt or of the wrong shape."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StandardNumberError(StdbotError):
    """Text that should be a standard number is not one."""


class KnowledgeBaseError(StdbotError):
    """The versioned knowledge base is missing, empty or inconsistent."""


class ReloadRefused(KnowledgeBaseError):
    """A build, activation or rollback refused: another one is running, or the release gate holds it back."""


class UploadRejected(IngestError):
    """An uploaded file was not accepted (name, type or size)."""


class QuestionError(StdbotError):
    """A question that cannot be answered as given (empty, too long)."""


class LLMError(StdbotError):
    """The language-model endpoint failed or answered out of protocol."""


class StoreError(StdbotError):
    """The conversation store refused an operation (missing row, wrong state, duplicate name)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or used right now (server down, bad URL, locked)."""


class ChannelError(StdbotError):
    """A messaging platform refused a call or answered out of protocol."""


class EdgeRejected(ChannelError):
    """A platform callback refused at the edge: bad signature, stale timestamp, replay, malformed or
    oversized body. `status` is the HTTP status to answer with; the message is for the log."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ActionRefused(StdbotError):
    """A staff action on a conversation that cannot be done (the message is for staff). `kind`:
    not_found (no such conversation or message), conflict (its state forbids it), invalid (empty), or
    too_large."""

    def __init__(self, message: str, kind: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
