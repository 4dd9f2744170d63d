"""Typed settings: defaults, then a TOML file, then STDBOT_<SECTION>__<FIELD> environment variables."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from knowledge.errors import SettingsError

CONFIG_ENV = "STDBOT_CONFIG"
_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


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


class WebSettings(Section):
    """The web server: where it listens, how it signs sessions and who may embed the chat page."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    secret_key: SecretStr | None = Field(
        None, description="signs chat sessions and cookies; generated under data_dir on first start if unset"
    )
    allowed_frame_ancestors: list[str] = Field(
        default_factory=lambda: ["'self'"], description="CSP frame-ancestors: sites that may embed /chat"
    )
    max_message_chars: int = Field(2000, ge=10, le=100_000)
    blas_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="numpy BLAS threads per process; 1 keeps concurrent requests from contending",
    )

    @field_validator("allowed_frame_ancestors")
    @classmethod
    def _plain_sources(cls, value: list[str]) -> list[str]:
        for source in value:
            if not source or any(c.isspace() or c in ";," for c in source):
                raise ValueError(
                    f"每项应为一个来源，如 https://example.com 或 'self' / one source per item: {source!r}"
                )
        return value


class DatabaseSettings(Section):
    """The conversation store: a SQLite file under data_dir by default, or any SQLAlchemy URL."""

    url: str | None = Field(
        None, description="e.g. postgresql+psycopg://user:secret@127.0.0.1:5432/stdbot; unset: SQLite file"
    )
    echo: bool = False


class HandoffSettings(Section):
    """When a conversation goes to staff, and when staff are there to answer it."""

    keywords: list[str] = Field(
        default_factory=list,
        description="more phrases that ask for a person, besides those in prompts/intent_keywords.md",
    )
    topics: list[str] = Field(
        default_factory=lambda: ["投诉", "举报", "收费", "退费", "退款", "纠纷", "诉讼", "仲裁", "赔偿"],
        description="topics staff must handle: a message naming one goes to staff",
    )
    low_confidence_turns: int = Field(2, ge=1, le=20, description="low-confidence answers in a row")
    thumbs_down: bool = Field(True, description="a 👎 on an answer hands the conversation to staff")
    timezone: str = "Asia/Shanghai"
    hours: str = Field("09:00-17:30", description="staff hours each working day, HH:MM-HH:MM")
    weekdays: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], description="1 = Monday … 7 = Sunday"
    )
    holidays: list[date] = Field(default_factory=list, description="days off although a weekday")
    workdays: list[date] = Field(default_factory=list, description="working days although a weekend (调休)")
    answer_off_hours: bool = Field(
        True, description="outside staff hours the bot keeps answering a conversation waiting for staff"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"未知时区 / unknown time zone: {value}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours_range(cls, value: str) -> str:
        match = _HOURS.fullmatch(value.strip())
        if match is None:
            raise ValueError(f"工作时间格式应为 HH:MM-HH:MM / hours must look like 09:00-17:30: {value}")
        start, end = (int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4]))
        if int(match[2]) > 59 or int(match[4]) > 59 or not 0 <= start < end <= 24 * 60:
            raise ValueError(f"工作时间无效 / hours must be a range within one day: {value}")
        return value.strip()

    @field_validator("weekdays")
    @classmethod
    def _iso_weekdays(cls, value: list[int]) -> list[int]:
        if any(not 1 <= day <= 7 for day in value):
            raise ValueError(f"工作日取值为 1（周一）到 7（周日）/ weekdays are 1 (Monday) to 7: {value}")
        return sorted(set(value))


class NotifySettings(Section):
    """Where staff are told that a conversation waits for them: a WeCom group robot and/or a Telegram chat."""

    wecom_webhook_url: SecretStr | None = Field(
        None, description="企业微信群机器人 webhook URL (holds its key)"
    )
    telegram_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    console_base_url: str = Field("http://127.0.0.1:8080", description="links in notifications point here")
    per_minute: int = Field(20, ge=1, le=600, description="messages per minute each target accepts")
    timeout_s: float = Field(5.0, gt=0, le=60)
    attempt_chars: int = Field(200, ge=20, le=2000, description="how much of the bot's attempt to show")

    @model_validator(mode="after")
    def _telegram_pair(self) -> NotifySettings:
        if bool(self.telegram_token) != bool(self.telegram_chat_id):
            raise ValueError("notify.telegram_token 与 telegram_chat_id 需同时设置 / set both or neither")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.wecom_webhook_url or self.telegram_token)


class KnowledgeAdminSettings(Section):
    """[kb] — reloading the knowledge base from the admin pages."""

    golden_set: Path | None = Field(
        None,
        description="golden-set JSONL every new build is measured on; a build whose hit@5 falls below the "
        "active version's is not activated unless an admin insists (unset: no gate)",
    )
    upload_max_mb: int = Field(50, ge=1, le=2048, description="largest file an admin may upload")
    reload_check_s: float = Field(
        5.0, gt=0, le=300, description="how often each worker looks for a newly activated version"
    )


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
    handoff: HandoffSettings = HandoffSettings()
    notify: NotifySettings = NotifySettings()
    database: DatabaseSettings = DatabaseSettings()
    web: WebSettings = WebSettings()
    kb: KnowledgeAdminSettings = KnowledgeAdminSettings()

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
