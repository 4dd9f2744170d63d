"""`stdbot search`, `stdbot ask` and `stdbot chat`: questions to the active knowledge base."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table

from bot.cli.app import Context, DataDirOption, app, console, fail
from config.errors import StdbotError
from knowledge.kb import open_knowledge_base
from knowledge.types import Answer, Citation

if TYPE_CHECKING:
    from knowledge.chain import Answerer

BatchOption = Annotated[
    Path | None, typer.Option("--batch", help="JSONL 文件，每行一个 question / one question per line")
]
JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")]


def _answerer(ctx: typer.Context, data_dir: Path | None) -> Answerer:
    from knowledge.chain import Answerer  # imported here: the answer chain pulls in LangChain

    settings = ctx.ensure_object(Context).settings(data_dir)
    try:
        return Answerer(open_knowledge_base(settings), settings)
    except StdbotError as exc:
        fail(str(exc))


def _batch(path: Path) -> Iterator[tuple[str, str | None] | str]:
    """(question, conversation) per line, or an error message for a malformed line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"无法读取批量文件 / cannot read batch file {path}: {exc}")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            yield str(raw["question"]), (str(raw["conversation"]) if raw.get("conversation") else None)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            yield f"第 {number} 行不是含 question 的 JSON / line {number}: not JSON with a question: {exc}"


def _emit(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False))


@app.command()
def search(
    ctx: typer.Context,
    question: Annotated[str | None, typer.Argument(help="问题 / question")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="返回条数 / hits")] = 5,
    as_json: JsonOption = False,
    batch: BatchOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """检索知识库 / show the passages retrieved for a question."""
    answerer = _answerer(ctx, data_dir)
    if batch is not None:
        for item in _batch(batch):
            if isinstance(item, str):
                _emit({"error": item})
                continue
            hits = answerer.kb.retriever.search(answerer.resolve(item[0], item[1]), k)
            _emit([Citation.from_hit(h).to_json() for h in hits])
        return
    if not question or not question.strip():
        fail("请输入问题 / please give a question")
    hits = answerer.kb.retriever.search(question, k)
    citations = [Citation.from_hit(h) for h in hits]
    if as_json:
        _emit([c.to_json() for c in citations])
        return
    table = Table(title=f"检索结果 / hits for: {question}")
    for column in ("#", "出处 / source", "得分 / score", "内容 / text"):
        table.add_column(column)
    for i, c in enumerate(citations, start=1):
        table.add_row(str(i), c.label, f"{c.score:.4f}", c.text[:160])
    console.print(table)


def _timed_ask(answerer: Answerer, question: str, conversation: str | None) -> tuple[Answer, float]:
    started = time.perf_counter()
    answer = answerer.ask(question, conversation=conversation)
    return answer, (time.perf_counter() - started) * 1000


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str | None, typer.Argument(help="问题 / question")] = None,
    as_json: JsonOption = False,
    batch: BatchOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """回答一个问题并给出依据 / answer a question with citations."""
    answerer = _answerer(ctx, data_dir)
    if batch is not None:
        for item in _batch(batch):
            if isinstance(item, str):
                _emit({"error": item})
                continue
            try:
                answer, latency = _timed_ask(answerer, *item)
            except StdbotError as exc:
                _emit({"error": str(exc)})
                continue
            _emit(answer.to_json(latency))
        return
    if question is None:
        fail("请输入问题 / please give a question")
    try:
        answer, latency = _timed_ask(answerer, question, None)
    except StdbotError as exc:
        fail(str(exc))
    if as_json:
        _emit(answer.to_json(latency))
    else:
        _print_answer(answer)


@app.command()
def chat(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """终端对话 / chat in the terminal (输入 /exit 退出，/new 开始新对话)."""
    answerer = _answerer(ctx, data_dir)
    console.print("[bold]stdbot 标准化咨询[/] —— 请输入您的问题（/new 新对话，/exit 退出）")
    conversation = 1
    while True:
        try:
            question = console.input("[bold cyan]您：[/]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        command = question.strip().lower()
        if command in ("/exit", "/quit", "exit", "quit"):
            return
        if command == "/new":
            conversation += 1
            console.print("[dim]已开始新对话 / new conversation[/]")
            continue
        if not command:
            continue
        try:
            _print_answer(answerer.ask(question, conversation=f"terminal-{conversation}"))
        except StdbotError as exc:
            console.print(f"[red]{exc}[/]")


def _print_answer(answer: Answer) -> None:
    console.print(Markdown(answer.text))
    if answer.citations:
        console.print("[bold]依据 / sources:[/]")
        for i, c in enumerate(answer.citations, start=1):
            console.print(f"  [{i}] {c.label}", highlight=False)
    flag = "，[yellow]建议转人工 / handed to staff[/]" if answer.escalate else ""
    console.print(f"[dim]模式 {answer.mode}，置信度 {answer.confidence:.2f}[/]{flag}")
