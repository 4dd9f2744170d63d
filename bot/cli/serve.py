"""`stdbot serve`: the web server (web chat, probes, metrics) on uvicorn, one or several worker processes."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.panel import Panel

from bot.cli.app import Context, DataDirOption, app, console, fail
from bot.service.metrics import MULTIPROC_ENV
from bot.store import Store
from bot.web.bootstrap import ADMIN_USERNAME, ensure_admin, ensure_secret_key, secret_key_file
from config.errors import StdbotError
from config.settings import CONFIG_ENV, Settings

APP_FACTORY = "bot.web.app:create_app_from_env"
GRACEFUL_SHUTDOWN_S = 3  # open event streams are closed after this; browsers reconnect elsewhere


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="监听地址 / address (web.host)")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="端口 / port (web.port)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=64, help="工作进程数 / processes (web.workers)")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """启动网页服务：网页咨询、健康检查与监控指标 / start the web server."""
    context = ctx.ensure_object(Context)
    settings = context.settings(data_dir)
    host = host or settings.web.host
    port = port or settings.web.port
    workers = workers or settings.web.workers
    try:
        _, key_created = ensure_secret_key(settings)
        password = _prepare_store(settings)
    except StdbotError as exc:
        fail(str(exc))
    if key_created:
        console.print(
            f"已生成签名密钥，保存在 {secret_key_file(settings)}（请勿泄露；也可用 web.secret_key 设置）/ "
            "generated a secret key and saved it there (or set web.secret_key)",
            highlight=False,
            soft_wrap=True,
        )
    if password is not None:
        _print_admin_password(password)
    _export_for_workers(context.config, settings, workers)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    console.print(
        f"stdbot 网页服务 / web server: http://{shown_host}:{port}/chat  （{workers} 个进程 / workers）",
        highlight=False,
        soft_wrap=True,
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": _log_config(),
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
    }
    if workers > 1:
        uvicorn.run(APP_FACTORY, factory=True, workers=workers, **options)
    else:
        from bot.web.app import create_app  # imported here: building the app opens the store

        uvicorn.run(create_app(settings), **options)


def _prepare_store(settings: Settings) -> str | None:
    """Migrate the schema once before the workers start; create the first admin if there is nobody."""
    store = Store.from_settings(settings)
    try:
        store.migrate()
        return ensure_admin(store)
    finally:
        store.close()


def _print_admin_password(password: str) -> None:
    console.print(
        Panel(
            f"已创建管理员账号 / created the admin account\n"
            f"  用户名 / username: {ADMIN_USERNAME}\n"
            f"  一次性密码 / one-time password: {password}\n"
            "此密码只显示这一次，请尽快用 stdbot user passwd admin 修改 / "
            "shown only this once: change it with `stdbot user passwd admin`",
            title="首次启动 / first start",
        ),
        highlight=False,
    )


def _export_for_workers(config: Path | None, settings: Settings, workers: int) -> None:
    """Worker processes build their settings from the environment: pass on the config file and the data
    directory, and (several workers) where Prometheus metrics of all workers are collected."""
    if config is not None:
        os.environ[CONFIG_ENV] = str(config.resolve())
    os.environ["STDBOT_DATA_DIR"] = str(settings.data_dir.expanduser().resolve())
    if workers > 1:
        metrics_dir = settings.data_dir.expanduser().resolve() / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ[MULTIPROC_ENV] = str(metrics_dir)


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, plus stdbot's own loggers at INFO on the same handler."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for name in ("bot", "knowledge", "ingest"):
        config["loggers"][name] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
