"""`stdbot user add USERNAME [--role staff|admin] | passwd USERNAME | list`: staff console accounts."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.app import Context, DataDirOption, app, console, fail
from bot.store import Store
from bot.web.passwords import hash_password
from config.errors import StdbotError

MIN_PASSWORD_CHARS = 8

user_app = typer.Typer(help="工作台账号 / staff console accounts", no_args_is_help=True)
app.add_typer(user_app, name="user")


class Role(StrEnum):
    staff = "staff"
    admin = "admin"


PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="从标准输入读取密码 / read the password from stdin")
]


@user_app.command("add")
def add_user(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    role: Annotated[Role, typer.Option("--role", help="角色 / role")] = Role.staff,
    password_stdin: PasswordStdinOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """新建工作台账号 / create a console account."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        fail("用户名不能为空、不能含空白，最多 64 个字符 / username: 1-64 characters, no spaces")
    password = _read_password(password_stdin)
    store = _store(ctx, data_dir)
    try:
        store.staff.add(username, hash_password(password), role.value)
        store.staff.audit("cli", "user_add", f"username={username} role={role.value}")
    except StdbotError as exc:
        fail(str(exc))
    finally:
        store.close()
    console.print(f"已创建账号 {username}（{role.value}）/ created account {username} ({role.value})")


@user_app.command("passwd")
def change_password(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    password_stdin: PasswordStdinOption = False,
    data_dir: DataDirOption = None,
) -> None:
    """设置新密码并解除锁定 / set a new password and lift any lockout."""
    password = _read_password(password_stdin)
    store = _store(ctx, data_dir)
    try:
        store.staff.set_password(username.strip(), hash_password(password))
        store.staff.audit("cli", "user_passwd", f"username={username.strip()}")
    except StdbotError as exc:
        fail(str(exc))
    finally:
        store.close()
    console.print(f"已更新 {username.strip()} 的密码 / password of {username.strip()} changed")


@user_app.command("list")
def list_users(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """列出工作台账号 / list console accounts."""
    store = _store(ctx, data_dir)
    try:
        accounts = store.staff.accounts()
    except StdbotError as exc:
        fail(str(exc))
    finally:
        store.close()
    table = Table(title="工作台账号 / console accounts")
    for column in ("用户名 / username", "角色 / role", "锁定至 / locked until", "创建 / created"):
        table.add_column(column)
    for staff in accounts:
        locked = staff.locked_until.isoformat(timespec="seconds") if staff.locked_until else ""
        table.add_row(staff.username, staff.role, locked, staff.created_at.isoformat(timespec="seconds"))
    console.print(table)


def _store(ctx: typer.Context, data_dir: DataDirOption) -> Store:
    settings = ctx.ensure_object(Context).settings(data_dir)
    try:
        store = Store.from_settings(settings)
        store.migrate()
    except StdbotError as exc:
        fail(str(exc))
    return store


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_CHARS:
        fail(f"密码至少 {MIN_PASSWORD_CHARS} 个字符 / at least {MIN_PASSWORD_CHARS} characters are needed")
    return password
