"""`stdbot kb list | activate N | rollback`: switch the active knowledge-base version atomically."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli.app import Context, DataDirOption, console, fail, kb_app
from config.errors import StdbotError
from knowledge.registry import Registry, RegistryState


@kb_app.command("list")
def list_versions(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """列出知识库版本 / list versions."""
    registry = Registry(ctx.ensure_object(Context).settings(data_dir).data_dir)
    try:
        _print_state(registry.read())
    except StdbotError as exc:
        fail(str(exc))


@kb_app.command()
def activate(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(help="版本号 / version number")],
    data_dir: DataDirOption = None,
) -> None:
    """启用指定版本 / make a version active."""
    registry = Registry(ctx.ensure_object(Context).settings(data_dir).data_dir)
    try:
        state = registry.activate(version)
    except StdbotError as exc:
        fail(str(exc))
    console.print(f"已启用版本 v{state.active} / version {state.active} is active")


@kb_app.command()
def rollback(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """回滚到上一个启用的版本 / return to the previously active version."""
    registry = Registry(ctx.ensure_object(Context).settings(data_dir).data_dir)
    try:
        state = registry.rollback()
    except StdbotError as exc:
        fail(str(exc))
    console.print(f"已回滚到版本 v{state.active} / rolled back to version {state.active}")


def _print_state(state: RegistryState) -> None:
    if not state.versions:
        console.print("还没有知识库版本，请先运行 stdbot ingest / no versions yet: run `stdbot ingest`")
        return
    table = Table(title="知识库版本 / knowledge-base versions")
    for column in (
        "版本",
        "启用 / active",
        "建立时间 / created",
        "片段 / chunks",
        "目录 / records",
        "嵌入 / embedding",
    ):
        table.add_column(column)
    for info in sorted(state.versions, key=lambda v: v.version):
        mark = "●" if info.version == state.active else ""
        table.add_row(
            f"v{info.version}", mark, info.created_at, str(info.chunks), str(info.records), info.embedding
        )
    console.print(table)
