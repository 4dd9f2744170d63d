from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import SettingsError
from config.settings import load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "stdbot.example.toml"


def test_defaults_need_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STDBOT_CONFIG", raising=False)
    settings = load_settings()
    assert settings.data_dir == Path("var")
    assert settings.embedding.backend == "e5" and not settings.llm.enabled


def test_example_file_loads(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE)
    assert settings.retrieval.top_k == 5 and settings.chroma.mode == "embedded"


def test_environment_overrides_file_and_file_overrides_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "stdbot.toml"
    config.write_text(
        'data_dir = "/srv/stdbot"\n[llm]\nmodel = "qwen-plus"\ntimeout_s = 5\n', encoding="utf-8"
    )
    monkeypatch.setenv("STDBOT_LLM__TIMEOUT_S", "7.5")
    monkeypatch.setenv("STDBOT_LLM__BASE_URL", "http://127.0.0.1:9/v1")
    settings = load_settings(config)
    assert settings.data_dir == Path("/srv/stdbot")
    assert settings.llm.model == "qwen-plus" and settings.llm.timeout_s == 7.5 and settings.llm.enabled


def test_data_dir_option_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STDBOT_DATA_DIR", "/from/env")
    assert load_settings(data_dir=tmp_path).data_dir == tmp_path
    assert load_settings().data_dir == Path("/from/env")


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("STDBOT_RETRIEVAL__TOP_K", "many", "STDBOT_RETRIEVAL__TOP_K"),
        ("STDBOT_CHROMA__MODE", "cloud", "STDBOT_CHROMA__MODE"),
        ("STDBOT_EMBEDDING__BACKEND", "sentence-transformers", "embedding"),
        ("STDBOT_ANSWER__ESCALATE_BELOW", "3", "STDBOT_ANSWER__ESCALATE_BELOW"),
    ],
)
def test_wrong_setting_names_itself(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "stdbot.toml"
    config.write_text("[retrieval]\ntop_kk = 3\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="top_kk"):
        load_settings(config)


def test_malformed_toml_and_missing_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[llm\nmodel=", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"bad\.toml"):
        load_settings(config)
    with pytest.raises(SettingsError, match=r"missing\.toml"):
        load_settings(tmp_path / "missing.toml")
