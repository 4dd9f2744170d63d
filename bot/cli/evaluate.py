"""`stdbot eval`: measure the active knowledge base on a golden question set."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bot.cli.app import Context, DataDirOption, app, console, fail
from knowledge.errors import StdbotError
from knowledge.evaluation import EvalReport, evaluate, load_golden
from knowledge.kb import open_knowledge_base
from knowledge.types import Answer

if TYPE_CHECKING:
    pass


def _parse_thresholds(items: list[str]) -> dict[str, float]:
    thresholds: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            thresholds[name.strip()] = float(value)
        except ValueError:
            fail(f"--fail-under 应写成 指标=数值，例如 hit@5=0.9 / expected METRIC=VALUE, got {item!r}")
    return thresholds


@app.command("eval")
def evaluate_command(
    ctx: typer.Context,
    golden: Annotated[Path, typer.Argument(help="评测集 JSONL / golden set")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
    fail_under: Annotated[
        list[str] | None, typer.Option("--fail-under", help="指标下限，如 hit@5=0.9 / METRIC=VALUE")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """在评测集上测量检索与回答 / measure retrieval and answers on a golden set."""
    from knowledge.chain import Answerer  # imported here: the answer chain pulls in LangChain

    thresholds = _parse_thresholds(fail_under or [])
    settings = ctx.ensure_object(Context).settings(data_dir)
    try:
        questions = load_golden(golden)
        answerer = Answerer(open_knowledge_base(settings), settings)
    except StdbotError as exc:
        fail(str(exc))
    unknown = set(thresholds) - {
        "hit@1",
        "hit@5",
        "mrr",
        "escalation_precision",
        "escalation_recall",
        "answer_contains",
    }
    if unknown:
        fail(f"未知指标 / unknown metric: {', '.join(sorted(unknown))}")

    def ask(question: str, conversation: str | None) -> tuple[Answer, float]:
        started = time.perf_counter()
        answer = answerer.ask(question, conversation=conversation)
        return answer, (time.perf_counter() - started) * 1000

    retriever = answerer.kb.retriever
    titles = frozenset(c.source for c in retriever.chunks)
    report = evaluate(questions, lambda q, k: retriever.search(q, k), ask, titles=titles)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    below = {name: report.metrics[name] for name, floor in thresholds.items() if report.metrics[name] < floor}
    if below:
        listed = ", ".join(f"{k}={v:.3f}<{thresholds[k]}" for k, v in below.items())
        console.print(f"[red]未达标 / below threshold: {listed}[/]")
        raise typer.Exit(1)


def _print_report(report: EvalReport) -> None:
    table = Table(title="评测结果 / evaluation")
    table.add_column("指标 / metric")
    table.add_column("数值 / value", justify="right")
    for name, value in report.metrics.items():
        table.add_row(
            name, f"{value:.3f}" if not name.endswith("_ms") and name != "questions" else f"{value:.1f}"
        )
    console.print(table)
    misses = report.to_json()["misses"]
    for miss in misses[:15]:
        console.print(f"[yellow]{miss['id']}[/] rank={miss['rank']} {miss['question']}", highlight=False)
