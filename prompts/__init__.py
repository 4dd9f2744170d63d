"""Every user-facing text and LLM prompt lives here as an editable file, Chinese first."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

from config.errors import SettingsError


@cache
def load(name: str) -> str:
    """The text of prompts/<name>.md, without its trailing newline."""
    try:
        text = resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"缺少提示词文件 / missing prompt file: prompts/{name}.md") from None
    return text.rstrip("\n")


def render(name: str, **values: object) -> str:
    """prompts/<name>.md with its $placeholders filled in."""
    try:
        return Template(load(name)).substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise SettingsError(f"提示词 prompts/{name}.md 缺少取值 / missing value {exc}") from None


@cache
def labels(name: str) -> dict[str, str]:
    """The `key = text` lines of prompts/<name>.md (lines starting with # are comments)."""
    found: dict[str, str] = {}
    for number, line in enumerate(load(name).splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, text = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise SettingsError(f"prompts/{name}.md 第 {number} 行有误 / bad line {number}: {line}")
        found[key.strip()] = text.strip()
    return found


def label(name: str, key: str, **values: object) -> str:
    """One label of prompts/<name>.md with its $placeholders filled in (the key itself when missing)."""
    return Template(labels(name).get(key, key)).safe_substitute({k: str(v) for k, v in values.items()})
