"""Typed settings: defaults, then a TOML file, then STDBOT_<SECTION>__<FIELD> environment variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from knowledge.errors import SettingsError

CONFIG_ENV = "STDBOT_CONFIG"


class Section(BaseModel):
    """A settings section; unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(Section):
    """Which embedding model turns text into vectors."""

    backend: Literal["use", "sentence-transformers"] = "use"
    model: str | None = Field(None, description="sentence-transformers model name or local path")
    device: str = "cpu"
    batch_size: int = Field(64, ge=1, le=4096)

    @model_validator(mode="after")
    def _model_required_for_st(self) -> EmbeddingSettings:
        if self.backend == "sentence-transformers" and not self.model:
            raise ValueError("embedding.model is required when embedding.backend is sentence-transformers")
        return self


class ChromaSettings(Section):
    """Where the vector store lives: embedded under the data directory, or a `chroma run` server."""

    mode: Literal["embedded", "http"] = "embedded"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)


class IngestSettings(Section):
    """How sources are split into chunks."""

    chunk_chars: int = Field(600, ge=100, le=10000)


class RetrievalSettings(Section):
    """How many candidates each retriever yields and how their ranks are fused."""

    top_k: int = Field(5, ge=1, le=50)
    candidates: int = Field(100, ge=5, le=500)
    rrf_k: int = Field(20, ge=1)
    bm25_weight: float = Field(1.0, ge=0)
    dense_weight: float = Field(0.6, ge=0)
    standard_boost: float = Field(0.1, ge=0)
    source_boost: float = Field(0.04, ge=0)
    authority_boost: float = Field(0.0003, ge=0)
    local_penalty: float = Field(0.006, ge=0)


class AnswerSettings(Section):
    """Thresholds of the answer chain."""

    faq_threshold: float = Field(0.6, ge=0, le=1)
    escalate_below: float = Field(0.15, ge=0, le=1)
    max_question_chars: int = Field(2000, ge=10)
    extractive_passages: int = Field(3, ge=1, le=10)
    passage_chars: int = Field(300, ge=50)


class LLMSettings(Section):
    """An OpenAI-compatible chat endpoint; without base_url the bot answers without an LLM."""

    base_url: str | None = None
    api_key: str = "not-needed"
    model: str = "deepseek-chat"
    timeout_s: float = Field(20.0, gt=0)
    max_retries: int = Field(0, ge=0, le=5)
    temperature: float = Field(0.1, ge=0, le=2)
    context_passages: int = Field(6, ge=1, le=20)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)


class Settings(BaseSettings):
    """All of stdbot's settings; built once at start and passed in."""

    model_config = SettingsConfigDict(
        env_prefix="STDBOT_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Path("var")
    embedding: EmbeddingSettings = EmbeddingSettings()
    chroma: ChromaSettings = ChromaSettings()
    ingest: IngestSettings = IngestSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings from `config_file` (or $STDBOT_CONFIG), the environment and `overrides`,
    turning any failure into a SettingsError that names the setting."""
    path = config_file or (Path(env) if (env := os.environ.get(CONFIG_ENV)) else None)
    if path is not None and not path.is_file():
        raise SettingsError(f"配置文件不存在 / config file not found: {path}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        return FileSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except ValueError as exc:  # malformed TOML
        raise SettingsError(f"配置文件无法解析 / cannot parse config {path}: {exc}") from None


def _describe(exc: ValidationError) -> str:
    lines = ["配置有误 / invalid settings:"]
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"])
        env = "STDBOT_" + "__".join(str(part).upper() for part in err["loc"])
        lines.append(f"  {name} ({env}): {err['msg']}")
    return "\n".join(lines)
