"""First start: a persistent secret key and the first admin account with a one-time password."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from bot.web.passwords import hash_password, one_time_password
from config.errors import SettingsError, StoreError
from config.settings import Settings

if TYPE_CHECKING:
    from bot.store.store import Store

SECRET_FILE = "secret_key"
ADMIN_USERNAME = "admin"
MIN_SECRET_CHARS = 16


def secret_key_file(settings: Settings) -> Path:
    return settings.data_dir / SECRET_FILE


def ensure_secret_key(settings: Settings) -> tuple[str, bool]:
    """The key that signs sessions: `web.secret_key` if set, else the one kept under the data directory,
    created (readable by the owner only) on first start. Returns (key, created)."""
    if settings.web.secret_key is not None:
        key = settings.web.secret_key.get_secret_value()
        if len(key) < MIN_SECRET_CHARS:
            raise SettingsError(
                f"web.secret_key 太短，至少 {MIN_SECRET_CHARS} 个字符 / "
                f"web.secret_key (STDBOT_WEB__SECRET_KEY) must be at least {MIN_SECRET_CHARS} characters"
            )
        return key, False
    path = secret_key_file(settings)
    if path.exists():
        return _read_key(path), False
    key = secrets.token_urlsafe(48)
    draft = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
        os.link(draft, path)  # atomic: of several processes starting at once, exactly one key wins
    except FileExistsError:
        return _read_key(path), False
    except OSError as exc:
        raise SettingsError(f"无法创建密钥文件 / cannot create secret key file {path}: {exc}") from None
    finally:
        draft.unlink(missing_ok=True)
    return key, True


def _read_key(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"无法读取密钥文件 / cannot read secret key file {path}: {exc}") from None
    if len(key) < MIN_SECRET_CHARS:
        raise SettingsError(
            f"密钥文件为空或太短，请删除后重启 / secret key file {path} is empty or too short: "
            "delete it and start again"
        )
    return key


def ensure_admin(store: Store) -> str | None:
    """Create the `admin` account when there is no staff account at all; return its one-time password
    (to print once), or None when accounts already exist."""
    if store.staff.count() > 0:
        return None
    password = one_time_password()
    try:
        store.staff.add(ADMIN_USERNAME, hash_password(password), "admin")
    except StoreError:
        return None  # another process created it first
    return password
