"""The Typer application and the options every command shares."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from config.errors import StdbotError
from config.settings import Settings, load_settings

app = typer.Typer(
    name="stdbot",
    help="stdbot 标准化咨询助手 / standards-consulting assistant",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="知识库版本 / knowledge-base versions", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

console = Console()
errors = Console(stderr=True)


DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="数据目录（默认 ./var）/ data directory")
]


@dataclass
class Context:
    config: Path | None
    data_dir: Path | None

    def settings(self, data_dir: Path | None = None) -> Settings:
        """Settings built once per command; a command's own --data-dir wins over the global one."""
        try:
            return load_settings(self.config, data_dir=data_dir or self.data_dir)
        except StdbotError as exc:
            fail(str(exc))


def fail(message: str, code: int = 2) -> NoReturn:
    errors.print(f"[bold red]错误 / error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", help="TOML 配置文件 / config file")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """stdbot：对标达标标准化咨询助手 / standards-consulting assistant."""
    ctx.obj = Context(config=config, data_dir=data_dir)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
