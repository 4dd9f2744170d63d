"""Typed settings: defaults, then a TOML file, then STDBOT_<SECTION>__<FIELD> environment variables.

One file on purpose (over 300 lines): every section of config/stdbot.example.toml is one small class here,
so a setting, its default, its bounds and its description are found in one place."""

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

from config.errors import SettingsError

CONFIG_ENV = "STDBOT_CONFIG"
_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


class Section(BaseModel):
    """A settings section; unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(Section):
    """Which embedding model turns text into vectors."""

    backend: Literal["e5", "use", "sentence-transformers"] = "e5"
    model: str | None = Field(None, description="sentence-transformers model name or local path")
    device: str = "cpu"
    batch_size: int = Field(64, ge=1, le=4096)
    threads: int = Field(2, ge=1, le=256, description="e5 engine threads (OpenMP) for one question")
    passage_chars: int = Field(
        150, ge=0, description="e5: embed only the first N characters of a passage (0 = all)"
    )
    query_prefix: str | None = Field(None, description="sentence-transformers: text before a question")
    passage_prefix: str | None = Field(None, description="sentence-transformers: text before a passage")
    cache_dir: Path | None = Field(
        None, description="build cache directory shared across data directories (default: the data dir)"
    )

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

    faq_threshold: float = Field(0.8, ge=0, le=1, description="FAQ similarity for a direct FAQ answer")
    faq_suggest_threshold: float = Field(
        0.55, ge=0, le=1, description="FAQ similarity for offering the FAQ question (您是不是想问)"
    )
    passage_over_suggestions: float = Field(
        0.6, ge=0, le=1, description="retrieval confidence at which a passage answers instead of suggestions"
    )
    escalate_below: float = Field(0.15, ge=0, le=1)
    max_question_chars: int = Field(2000, ge=10)
    messages_per_minute: int = Field(
        20, ge=1, le=10_000, description="messages a sender may send a minute before being asked to wait"
    )
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

    golden_set: Path | list[Path] | None = Field(
        None,
        description="golden file(s) every new build is measured on: question sets and dialogue files (one "
        "path or a list); a build whose hit@5 or dialogue pass rate falls below the active version's is "
        "not activated unless an admin insists (unset: no gate)",
    )
    upload_max_mb: int = Field(50, ge=1, le=2048, description="largest file an admin may upload")
    upload_read_timeout_s: float = Field(
        60.0, gt=0, le=3600, description="how long reading one upload (in a process of its own) may take"
    )
    upload_read_memory_mb: int = Field(
        1024, ge=256, le=65536, description="memory the process reading one upload may use"
    )
    reload_check_s: float = Field(
        5.0, gt=0, le=300, description="how often each worker looks for a newly activated version"
    )

    @property
    def golden_sets(self) -> tuple[Path, ...]:
        """The configured golden files, in order (empty: no gate)."""
        if self.golden_set is None:
            return ()
        return (self.golden_set,) if isinstance(self.golden_set, Path) else tuple(self.golden_set)


class EdgeSettings(Section):
    """What every platform callback must pass before it is read."""

    max_body_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024, description="larger bodies get 413")
    freshness_s: int = Field(
        300, ge=10, le=3600, description="a signed timestamp older or newer than this is refused"
    )


class PlatformSettings(Section):
    """The shape every WeChat-family channel shares. A channel whose `token` is unset is off."""

    token: SecretStr | None = Field(None, description="the callback Token set on the platform's console")
    app_id: str | None = Field(None, description="AppID (Official Account) or CorpID (WeCom)")
    app_secret: SecretStr | None = Field(None, description="AppSecret / the app's Secret")
    aes_key: SecretStr | None = Field(None, description="EncodingAESKey (43 characters)")
    api_base_url: str = "https://api.weixin.qq.com"
    timeout_s: float = Field(5.0, gt=0, le=60, description="each platform API call")
    edge: EdgeSettings = EdgeSettings()

    @property
    def enabled(self) -> bool:
        return self.token is not None and bool(self.token.get_secret_value())

    @field_validator("aes_key")
    @classmethod
    def _aes_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and len(value.get_secret_value()) != 43:
            raise ValueError("EncodingAESKey 应为 43 个字符 / EncodingAESKey must be 43 characters")
        return value

    def require(self, section: str, *fields: str) -> None:
        """SettingsError naming every field an enabled channel still lacks."""
        missing = [name for name in fields if not getattr(self, name)]
        if self.enabled and missing:
            names = ", ".join(f"{section}.{n} (STDBOT_{section.upper()}__{n.upper()})" for n in missing)
            raise SettingsError(f"渠道已启用但缺少设置 / channel enabled but missing: {names}")


class WechatSettings(PlatformSettings):
    """[wechat] — the WeChat Official Account (公众号)."""

    passive_budget_s: float = Field(
        4.0, gt=0.5, le=4.5, description="answer in the callback when ready this fast, else reply later"
    )
    welcome: str = Field("wechat_welcome", description="prompts/ file sent on subscribe")
    menu: dict[str, str] = Field(
        default_factory=dict, description="menu CLICK key → the question it asks (an FAQ topic)"
    )


class WecomBotSettings(PlatformSettings):
    """[wecom_bot] — the WeCom 智能机器人 answering in group chats (ReceiveId is empty)."""

    api_base_url: str = "https://qyapi.weixin.qq.com"
    stream_window_s: float = Field(360.0, gt=0, le=360, description="how long a streamed reply may last")
    in_flight_per_user: int = Field(3, ge=1, le=3)
    bot_names: list[str] = Field(
        default_factory=list,
        description="the bot's name as @-mentioned in groups; group messages naming none are not answered",
    )
    first_reply_wait_s: float = Field(
        1.0, ge=0, le=4, description="wait this long for the answer before replying with a placeholder"
    )


class WecomAppSettings(PlatformSettings):
    """[wecom_app] — a WeCom self-built app (自建应用); app_id is the CorpID."""

    api_base_url: str = "https://qyapi.weixin.qq.com"
    agent_id: int | None = Field(None, description="the app's AgentId")


class WechatKfSettings(PlatformSettings):
    """[wechat_kf] — WeChat customer service (微信客服); app_id is the CorpID, app_secret the Secret of
    the self-built app allowed to call the kf API (or, for older companies, the kf Secret)."""

    api_base_url: str = "https://qyapi.weixin.qq.com"
    welcome: str = Field(
        "wechat_kf_welcome", description="prompts/ file sent when a user enters the chat; empty: none"
    )


class TelegramSettings(Section):
    """[telegram] — a Telegram bot; off while `token` is unset."""

    token: SecretStr | None = None
    secret_token: SecretStr | None = Field(
        None, description="X-Telegram-Bot-Api-Secret-Token the webhook must carry"
    )
    api_base_url: str = Field("https://api.telegram.org/bot", description="a self-hosted Bot API server")
    mode: Literal["webhook", "polling"] = "webhook"
    per_group_per_minute: int = Field(20, ge=1, le=60)
    timeout_s: float = Field(10.0, gt=0, le=120)
    edge: EdgeSettings = EdgeSettings()

    @property
    def enabled(self) -> bool:
        return self.token is not None and bool(self.token.get_secret_value())

    @model_validator(mode="after")
    def _webhook_secret(self) -> TelegramSettings:
        if self.enabled and self.mode == "webhook" and not self.secret_token:
            raise ValueError("webhook 模式需要 telegram.secret_token / webhook mode needs secret_token")
        return self


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
    wechat: WechatSettings = WechatSettings()
    wecom_bot: WecomBotSettings = WecomBotSettings()
    wecom_app: WecomAppSettings = WecomAppSettings()
    wechat_kf: WechatKfSettings = WechatKfSettings()
    telegram: TelegramSettings = TelegramSettings()

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
