"""`stdbot eval`: measure the active knowledge base on golden files: question sets (retrieval and
answers), dialogue files (multi-turn, per-turn checks) and FAQ-pair files (FAQ precision and recall)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli.app import Context, DataDirOption, app, console, fail
from config.errors import StdbotError
from knowledge.evaluation import EvalReport
from knowledge.golden_files import (
    ALL_METRICS,
    DIALOGUE_METRICS,
    FAQ_METRICS,
    QUESTION_METRICS,
    GoldenFile,
    evaluate_file,
    load_golden_file,
)
from knowledge.kb import open_knowledge_base
from knowledge.types import Answer

SHOWN_FAILURES = 15
COUNT_METRICS = frozenset({"questions", "dialogues", "turns", "repeats", "pairs", "faq_answers"})


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
    unknown = set(thresholds) - set(ALL_METRICS)
    if unknown:
        fail(f"未知指标 / unknown metric: {', '.join(sorted(unknown))} (known: {', '.join(ALL_METRICS)})")
    return thresholds


@app.command("eval")
def evaluate_command(
    ctx: typer.Context,
    golden: Annotated[
        list[Path], typer.Argument(help="评测集 JSONL：问题集、多轮对话集或 FAQ 标注集 / golden files")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
    fail_under: Annotated[
        list[str] | None,
        typer.Option("--fail-under", help="指标下限，如 hit@5=0.9、dialogue_pass=0.95 / METRIC=VALUE"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """在评测集上测量检索与回答 / measure retrieval and answers on golden files."""
    from knowledge.chain import Answerer  # imported here: the answer chain pulls in LangChain

    thresholds = _parse_thresholds(fail_under or [])
    settings = ctx.ensure_object(Context).settings(data_dir)
    try:
        files = [load_golden_file(path) for path in golden]
        answerer = Answerer(open_knowledge_base(settings), settings)
    except StdbotError as exc:
        fail(str(exc))
    measured = {name for file in files for name in _metric_names(file)}
    unmeasured = set(thresholds) - measured
    if unmeasured:
        fail(f"这些评测集不测量 / these golden files do not measure: {', '.join(sorted(unmeasured))}")

    def ask(question: str, conversation: str | None) -> tuple[Answer, float]:
        started = time.perf_counter()
        answer = answerer.ask(question, conversation=conversation)
        return answer, (time.perf_counter() - started) * 1000

    retriever = answerer.kb.retriever
    titles = frozenset(c.source for c in retriever.chunks)
    reports = [(file, evaluate_file(file, retriever.search, ask, titles=titles)) for file in files]
    if as_json:
        typer.echo(json.dumps(_json(reports), ensure_ascii=False, indent=2))
    else:
        for file, report in reports:
            _print_report(file, report)
    below = [
        f"{file.path.name}:{name}={report.metrics[name]:.3f}<{floor}"
        for file, report in reports
        for name, floor in thresholds.items()
        if name in report.metrics and report.metrics[name] < floor
    ]
    if below:
        console.print(f"[red]未达标 / below threshold: {', '.join(below)}[/]", highlight=False)
        raise typer.Exit(1)


def _metric_names(file: GoldenFile) -> set[str]:
    by_kind = {"dialogues": DIALOGUE_METRICS, "faq_pairs": FAQ_METRICS}
    return {*by_kind.get(file.kind, QUESTION_METRICS), "passage_list"}


def _json(reports: list[tuple[GoldenFile, EvalReport]]) -> dict[str, Any]:
    """One file: its report as it is; several: {"files": [{"path": …, report…}, …]}."""
    if len(reports) == 1:
        return reports[0][1].to_json()
    return {"files": [{"path": str(file.path), **report.to_json()} for file, report in reports]}


def _print_report(file: GoldenFile, report: EvalReport) -> None:
    table = Table(title=f"评测结果 / evaluation: {file.path.name} ({file.kind})")
    table.add_column("指标 / metric")
    table.add_column("数值 / value", justify="right")
    for name, value in report.metrics.items():
        shown = f"{value:.1f}" if name.endswith("_ms") or name in COUNT_METRICS else f"{value:.3f}"
        table.add_row(name, shown)
    console.print(table)
    for miss in report.to_json()["misses"][:SHOWN_FAILURES]:
        console.print(f"[yellow]{miss['id']}[/] rank={miss['rank']} {miss['question']}", highlight=False)
    if report.failing_turns:
        failing = Table(title=f"未通过的轮次 / failing turns ({len(report.failing_turns)})")
        for column in ("对话#轮 / turn", "用户 / user", "模式 / mode", "原因 / reasons"):
            failing.add_column(column)
        for turn in report.failing_turns:
            failing.add_row(
                f"{turn.dialogue}#{turn.index}",
                turn.turn.user[:40],
                turn.answer.mode,
                "; ".join(turn.failures),
            )
        console.print(failing)
    for pair in report.to_json().get("faq_misses", [])[:SHOWN_FAILURES]:
        console.print(
            f"[yellow]{pair['id']}[/] {pair['question']} → {pair['chosen'] or pair['mode']}"
            f"（应为 / expected: {pair['expected'] or '—'}）",
            highlight=False,
        )
