"""Multi-turn golden dialogues: each runs in its own conversation, and every turn is checked for the
phrases it must (or must not) contain, its escalation, its mode, and that it does not repeat the
previous reply word for word."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.errors import StdbotError
from knowledge.types import Answer

Ask = Callable[[str, str | None], tuple[Answer, float]]


@dataclass(frozen=True)
class DialogueTurn:
    """One user message and what its reply must satisfy (None / empty: not checked)."""

    user: str
    contains: tuple[str, ...] = ()
    contains_any: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    escalate: bool | None = None
    mode: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dialogue:
    id: str
    note: str
    turns: tuple[DialogueTurn, ...]


@dataclass(frozen=True)
class TurnResult:
    """How one turn went: the reply and every check it failed (empty: passed)."""

    dialogue: str
    index: int
    turn: DialogueTurn
    answer: Answer
    latency_ms: float
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "dialogue": self.dialogue,
            "turn": self.index,
            "user": self.turn.user,
            "mode": self.answer.mode,
            "escalate": self.answer.escalate,
            "reasons": list(self.failures),
            "reply": self.answer.text[:200],
        }


def is_dialogue_line(raw: object) -> bool:
    """Whether one parsed JSONL line is a dialogue (it has "turns")."""
    return isinstance(raw, dict) and "turns" in raw


def parse_dialogues(path: Path, lines: Sequence[tuple[int, dict[str, Any]]]) -> list[Dialogue]:
    """Dialogues from parsed lines (line number, object); a malformed one is an error naming its line."""
    dialogues: list[Dialogue] = []
    for number, raw in lines:
        try:
            turns = tuple(_turn(t) for t in raw["turns"])
            if not turns:
                raise ValueError("no turns")
            dialogues.append(Dialogue(str(raw["id"]), str(raw.get("note", "")), turns))
        except (ValueError, KeyError, TypeError) as exc:
            raise StdbotError(
                f"对话评测集第 {number} 行格式错误 / dialogue set {path} line {number}: {exc}"
            ) from None
    return dialogues


def load_dialogues(path: Path) -> list[Dialogue]:
    """Parse a dialogue JSONL file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        parsed = [(n, json.loads(line)) for n, line in enumerate(lines, start=1) if line.strip()]
    except OSError as exc:
        raise StdbotError(f"无法读取评测集 / cannot read golden set {path}: {exc}") from None
    except ValueError as exc:
        raise StdbotError(f"评测集不是 JSONL / golden set {path} is not JSONL: {exc}") from None
    return parse_dialogues(path, parsed)


def check_turn(turn: DialogueTurn, answer: Answer, previous_reply: str | None) -> tuple[str, ...]:
    """Every check of `turn` the reply fails, as short reasons ("missing:…", "repeat", …)."""
    text = answer.text
    failures = [f"missing:{p}" for p in turn.contains if p not in text]
    if turn.contains_any and not any(p in text for p in turn.contains_any):
        failures.append(f"missing_any:{'|'.join(turn.contains_any)}")
    failures += [f"excluded:{p}" for p in turn.excludes if p in text]
    if turn.escalate is not None and answer.escalate != turn.escalate:
        failures.append(f"escalate:{answer.escalate}")
    if turn.mode and answer.mode not in turn.mode:
        failures.append(f"mode:{answer.mode}")
    if previous_reply is not None and text.strip() == previous_reply.strip():
        failures.append("repeat")
    return tuple(failures)


def run_dialogues(dialogues: Sequence[Dialogue], ask: Ask) -> list[TurnResult]:
    """Run each dialogue in a conversation of its own (a key no earlier run used) and check every turn."""
    run = secrets.token_hex(4)
    results: list[TurnResult] = []
    for dialogue in dialogues:
        conversation = f"eval:{run}:{dialogue.id}"
        previous: str | None = None
        for index, turn in enumerate(dialogue.turns, start=1):
            answer, latency = ask(turn.user, conversation)
            failures = check_turn(turn, answer, previous)
            results.append(TurnResult(dialogue.id, index, turn, answer, latency, failures))
            previous = answer.text
    return results


def dialogue_metrics(results: Sequence[TurnResult]) -> dict[str, float]:
    """Dialogue pass rate (every turn passes), turn pass rate and the count of repeated replies."""
    by_dialogue: dict[str, bool] = {}
    for result in results:
        by_dialogue[result.dialogue] = by_dialogue.get(result.dialogue, True) and result.passed
    turns = len(results) or 1
    return {
        "dialogues": float(len(by_dialogue)),
        "turns": float(len(results)),
        "dialogue_pass": sum(by_dialogue.values()) / (len(by_dialogue) or 1),
        "turn_pass": sum(1 for r in results if r.passed) / turns,
        "repeats": float(sum(1 for r in results if "repeat" in r.failures)),
    }


def _turn(raw: dict[str, Any]) -> DialogueTurn:
    escalate = raw.get("escalate")
    if escalate is not None and not isinstance(escalate, bool):
        raise ValueError(f"escalate must be true or false, got {escalate!r}")
    return DialogueTurn(
        user=str(raw["user"]),
        contains=_strings(raw.get("contains")),
        contains_any=_strings(raw.get("contains_any")),
        excludes=_strings(raw.get("excludes")),
        escalate=escalate,
        mode=_strings(raw.get("mode")),
    )


def _strings(value: object) -> tuple[str, ...]:
    """A phrase list given as a list or a single string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise ValueError(f"expected a string or a list, got {value!r}")
