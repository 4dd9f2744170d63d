"""`stdbot ingest`: build a new knowledge-base version from files and folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli.app import Context, DataDirOption, app, console, fail
from config.errors import StdbotError
from ingest.build import BuildReport, build_knowledge_base

_STAGES = {"load": "读取文件 / loading", "embed": "向量化 / embedding", "index": "建索引 / indexing"}


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="文件或目录 / files or folders")],
    data_dir: DataDirOption = None,
    activate: Annotated[bool, typer.Option("--activate/--no-activate", help="建成后启用 / activate")] = True,
) -> None:
    """导入资料，建立新的知识库版本 / ingest sources into a new knowledge-base version."""
    settings = ctx.ensure_object(Context).settings(data_dir)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        try:
            report = build_knowledge_base(paths, settings, activate=activate, progress=progress)
        except StdbotError as exc:
            fail(str(exc))
    _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _print_report(report: BuildReport) -> None:
    table = Table(title=f"导入结果 / ingest summary — 版本 v{report.version}")
    table.add_column("文件 / file", overflow="fold")
    for column in ("类型 / kind", "片段 / chunks", "目录 / records"):
        table.add_column(column)
    table.add_column("结果 / result", overflow="fold")
    for file in report.collected.files:
        if file.error is not None:
            result = f"[red]失败 failed: {file.error}[/]"
        elif file.skipped is not None:
            result = f"[dim]跳过 skipped: {file.skipped}[/]"
        else:
            result = "[green]成功 ok[/]"
        table.add_row(file.path, file.kind, str(file.chunks), str(file.records), result)
    console.print(table)
    for problem in report.collected.problems[:20]:
        console.print(f"[yellow]跳过 / skipped:[/] {problem}")
    if len(report.collected.problems) > 20:
        console.print(f"[yellow]……另有 {len(report.collected.problems) - 20} 条跳过 / more skipped rows[/]")
    state = "已启用 / active" if report.activated else "未启用 / not activated"
    console.print(
        f"版本 v{report.version}（{state}）：{report.chunks} 个片段，{report.records} 条标准目录，"
        f"新向量 {report.embedded}、缓存复用 {report.cached}，用时 {report.seconds:.1f} 秒 / "
        f"{report.chunks} chunks, {report.records} records, {report.embedded} embedded, "
        f"{report.cached} cached, {report.seconds:.1f}s"
    )
    for file in report.failed:
        console.print(f"[red]失败 / failed:[/] {file.path}: {file.error}", highlight=False, soft_wrap=True)
    if report.failed:
        console.print(f"[red]{len(report.failed)} 个文件导入失败 / files failed[/]")
