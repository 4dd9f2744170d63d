"""Reloading the knowledge base from the admin pages: one build or evaluation at a time across every
worker process (a file lock in the data directory), its progress in a small JSON file any worker can
read, the golden-set measurement of each version, and activation behind the release gate.

A build never touches the active version: it is registered inactive, measured on the golden files
(question sets and dialogue files), and activated only when neither its hit@5 nor its dialogue pass rate
is below the active version's, or when the admin insists. Rollback is always allowed. Every worker picks
up a newly active version within `kb.reload_check_s` seconds.

One module (over 300 lines) because the job lock, the status file and the gate are one state machine:
splitting them would spread each transition over several files."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from bot.service.kb_sources import plan_sources, write_drafts_sheet
from bot.store import Store
from config.errors import ReloadRefused, StdbotError
from config.settings import Settings
from ingest.build import build_knowledge_base
from knowledge.embeddings import ArrayEmbeddings
from knowledge.registry import Registry
from knowledge.version_eval import GateDecision, GoldenSet, evaluate_version, judge, load_golden_set

log = logging.getLogger(__name__)

STATUS_FILE = "kb_job.json"
LOCK_FILE = "kb_job.lock"
UPLOADS_DIR = "uploads"
_PROGRESS_EVERY_S = 0.25

SaveUploads = Callable[[Path], list[Path]]
"""Saves the request's files into the given folder and returns their paths."""


@dataclass(frozen=True)
class JobStatus:
    """The latest build or evaluation, as every worker sees it."""

    job_id: str
    kind: str  # "build" | "evaluate"
    state: str  # "running" | "done" | "failed" | "interrupted"
    by: str
    started_at: str
    stage: str = "prepare"  # "prepare" | "load" | "embed" | "index" | "evaluate" | "activate" | "finished"
    done: int = 0
    total: int = 0
    finished_at: str | None = None
    version: int | None = None
    activated: bool = False
    gate: str | None = None  # GateDecision.reason
    message: str = ""
    failed_files: tuple[tuple[str, str], ...] = ()
    missing_sources: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobStatus:
        data = dict(data)
        data["failed_files"] = tuple((str(p), str(e)) for p, e in data.get("failed_files", ()))
        data["missing_sources"] = tuple(str(s) for s in data.get("missing_sources", ()))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class VersionMetrics:
    """A version's golden-set metrics, if measured on the golden set configured now."""

    version: int
    metrics: dict[str, float] = field(default_factory=dict)


class JobLock:
    """An exclusive, non-blocking lock on a file: held by one job in one process at a time; the operating
    system releases it if that process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handed_to_job = False
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class KnowledgeJobs:
    """Builds, evaluations, activation and rollback of knowledge-base versions for the admin pages."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        embeddings: Callable[[], ArrayEmbeddings],
        *,
        on_activated: Callable[[], object] = lambda: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.registry = Registry(settings.data_dir)
        self._embeddings = embeddings
        self._on_activated = on_activated
        self._status_path = settings.data_dir / STATUS_FILE
        self._lock_path = settings.data_dir / LOCK_FILE
        self._thread: threading.Thread | None = None

    # --- what the pages show -------------------------------------------------------------------------

    def status(self) -> JobStatus | None:
        """The latest job; a job marked running whose lock is free died with its process (interrupted)."""
        try:
            status = JobStatus.from_json(json.loads(self._status_path.read_text("utf-8")))
        except (FileNotFoundError, ValueError, TypeError):
            return None
        if status.running and not self.busy():
            return replace(status, state="interrupted")
        return status

    def busy(self) -> bool:
        """Whether a build or evaluation holds the lock right now (in any process)."""
        probe = JobLock(self._lock_path)
        if probe.try_acquire():
            probe.release()
            return False
        return True

    def golden_set(self) -> GoldenSet | None:
        """The configured golden files, question sets and dialogue files together (StdbotError when one
        is configured but unreadable)."""
        paths = self.settings.kb.golden_sets
        return load_golden_set(paths) if paths else None

    def measured(self, golden: GoldenSet | None) -> dict[int, dict[str, float]]:
        """Each version's metrics on `golden` (versions measured on another golden set are left out)."""
        if golden is None:
            return {}
        return {
            r.version: dict(r.metrics)
            for r in self.store.admin.kb_versions()
            if r.golden_set_fingerprint == golden.fingerprint
        }

    def decide(self, version: int) -> GateDecision:
        """The release gate for making `version` active now."""
        golden = self._golden_or_none()
        active = self.registry.read().active
        measured = self.measured(golden)
        return judge(
            measured.get(version),
            measured.get(active) if active is not None else None,
            has_golden_set=golden is not None,
            has_active=active is not None and active != version,
        )

    # --- what admins do ------------------------------------------------------------------------------

    def start_build(
        self, by: str, keep: Iterable[str], save_uploads: SaveUploads, *, activate: bool, insist: bool
    ) -> JobStatus:
        """Start building a new version in the background; ReloadRefused while another job runs, or when
        there is nothing to build (UploadRejected for a bad file: nothing is kept then)."""
        job_id = _job_id()
        folder = self.settings.data_dir / UPLOADS_DIR / job_id
        with self._claimed() as lock:
            try:
                uploads = save_uploads(folder)
                drafts = write_drafts_sheet(folder, self.store.admin.faq_drafts("approved"))
                state = self.registry.read()
                active = state.active_info
                sources = active.sources if active is not None else ()
                paths, missing = plan_sources(sources, keep, uploads, drafts)
                if not paths:
                    raise ReloadRefused("没有可构建的资料：请上传文件或保留现有资料 / nothing to build from")
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            status = JobStatus(
                job_id=job_id,
                kind="build",
                state="running",
                by=by,
                started_at=_now(),
                missing_sources=tuple(missing),
            )
            self._write(status)
            self.store.staff.audit(
                by, "kb_build_start", f"{len(paths)} files; activate={activate} insist={insist}"
            )
            self._spawn(lock, lambda: self._build(status, paths, activate=activate, insist=insist))
        return status

    def start_evaluation(self, by: str, version: int) -> JobStatus:
        """Measure `version` (and the active one, if not yet measured) on the golden set in the background."""
        with self._claimed() as lock:
            self.registry.read().get(version)
            golden = self.golden_set()
            if golden is None:
                raise ReloadRefused("未配置评测集（kb.golden_set）/ no golden set is configured")
            status = JobStatus(
                job_id=_job_id(),
                kind="evaluate",
                state="running",
                by=by,
                started_at=_now(),
                stage="evaluate",
                version=version,
            )
            self._write(status)
            self._spawn(lock, lambda: self._evaluate(status, golden))
        return status

    def activate(self, by: str, version: int, *, insist: bool) -> GateDecision:
        """Make `version` active; ReloadRefused while a job runs, or when the gate holds it back and the
        admin did not insist."""
        with self._claimed():
            state = self.registry.read()
            state.get(version)
            if state.active == version:
                raise ReloadRefused(f"v{version} 已是当前版本 / v{version} is already active")
            decision = self.decide(version)
            if not decision.allowed and not insist:
                raise ReloadRefused(_held_message(version, decision))
            self.registry.activate(version)
            self.store.staff.audit(by, "kb_activate", f"v{version}; gate={decision.reason}; insist={insist}")
        self._on_activated()
        return decision

    def rollback(self, by: str) -> int:
        """Return to the previously active version (always allowed; refused only while a job runs)."""
        with self._claimed():
            state = self.registry.rollback()
            assert state.active is not None
            self.store.staff.audit(by, "kb_rollback", f"v{state.active}")
        self._on_activated()
        return state.active

    def wait(self, timeout: float | None = None) -> JobStatus | None:
        """Wait for this process's running job (for tests and the command line); its final status."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    # --- the jobs ------------------------------------------------------------------------------------

    def _build(self, status: JobStatus, paths: list[Path], *, activate: bool, insist: bool) -> JobStatus:
        last = 0.0

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal status, last
            now = time.monotonic()
            if stage != status.stage or now - last >= _PROGRESS_EVERY_S or (total and done >= total):
                last = now
                status = self._write(replace(status, stage=stage, done=done, total=total))

        report = build_knowledge_base(
            paths, self.settings, activate=False, embeddings=self._embeddings(), progress=progress
        )
        failed = tuple((f.path, f.error or "") for f in report.failed)
        status = self._write(replace(status, stage="evaluate", version=report.version, failed_files=failed))
        golden, problem = self._golden_and_problem()
        if golden is not None:
            problem = problem or self._measure(golden, report.version)
        decision = self.decide(report.version)
        activated = False
        if activate and (decision.allowed or insist):
            self._write(replace(status, stage="activate"))
            self.registry.activate(report.version)
            activated = True
        self.store.staff.audit(
            status.by,
            "kb_build_done",
            f"v{report.version}; chunks={report.chunks}; failed={len(failed)}; gate={decision.reason}; "
            f"activated={activated}",
        )
        if activated:
            self._on_activated()
        message = problem or ("" if activated or not activate else _held_message(report.version, decision))
        return replace(status, activated=activated, gate=decision.reason, message=message)

    def _evaluate(self, status: JobStatus, golden: GoldenSet) -> JobStatus:
        assert status.version is not None
        problem = self._measure(golden, status.version)
        return replace(status, gate=self.decide(status.version).reason, message=problem or "")

    def _measure(self, golden: GoldenSet, version: int) -> str | None:
        """Measure `version`, and the active version when it has no figures on this golden set yet."""
        active = self.registry.read().active
        measured = self.measured(golden)
        wanted = [version] + ([active] if active is not None and active not in measured else [])
        try:
            for number in dict.fromkeys(wanted):
                metrics = evaluate_version(self.settings, number, golden, self._embeddings())
                self.store.admin.record_kb_version(number, metrics, golden.fingerprint)
        except StdbotError as exc:
            return f"评测失败 / evaluation failed: {exc}"
        return None

    def _golden_or_none(self) -> GoldenSet | None:
        return self._golden_and_problem()[0]

    def _golden_and_problem(self) -> tuple[GoldenSet | None, str | None]:
        try:
            return self.golden_set(), None
        except (StdbotError, OSError) as exc:
            return None, f"评测集无法读取 / golden set unreadable: {exc}"

    # --- plumbing ------------------------------------------------------------------------------------

    @contextmanager
    def _claimed(self) -> Iterator[JobLock]:
        """The job lock for the block; a job spawned inside takes it over (see _spawn)."""
        lock = JobLock(self._lock_path)
        if not lock.try_acquire():
            raise ReloadRefused(self._busy_message())
        try:
            yield lock
        finally:
            if not lock.handed_to_job:
                lock.release()

    def _spawn(self, lock: JobLock, job: Callable[[], JobStatus]) -> None:
        def run() -> None:
            try:
                final = replace(job(), state="done")
            except Exception as exc:
                log.exception("知识库任务失败 / knowledge-base job failed")
                current = self.status() or JobStatus(
                    job_id=_job_id(), kind="build", state="running", by="system", started_at=_now()
                )
                reason = str(exc) if isinstance(exc, StdbotError) else f"{type(exc).__name__}: {exc}"
                final = replace(current, state="failed", message=reason)
            try:
                self._write(replace(final, stage="finished", finished_at=_now()))
            finally:
                lock.release()

        lock.handed_to_job = True
        self._thread = threading.Thread(target=run, name="kb-job", daemon=True)
        self._thread.start()

    def _busy_message(self) -> str:
        status = self.status()
        who = ""
        if status is not None:
            zone = ZoneInfo(self.settings.handoff.timezone)
            started = datetime.fromisoformat(status.started_at).astimezone(zone)
            who = f"（{status.by.removeprefix('staff:')} 于 {started:%H:%M} 开始）"
        return (
            f"已有一个知识库构建或评测正在进行{who}，请等它完成后再操作 / "
            "another knowledge-base build or evaluation is running: wait for it to finish"
        )

    def _write(self, status: JobStatus) -> JobStatus:
        self._status_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._status_path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(json.dumps(status.to_json(), ensure_ascii=False), "utf-8")
        os.replace(temporary, self._status_path)
        return status


def _held_message(version: int, decision: GateDecision) -> str:
    if decision.reason == "unmeasured":
        return (
            f"v{version} 尚未在评测集上测量，未启用；请先评测，或选择“仍然启用” / "
            f"v{version} is not measured on the golden set: evaluate it first, or insist"
        )
    metric, candidate, active = decision.metric, decision.candidate, decision.active
    return (
        f"v{version} 的评测 {metric} 为 {candidate:.3f}，低于当前版本的 {active:.3f}，未启用；"
        f"确认无误后可选择“仍然启用” / v{version} scores {metric} {decision.candidate:.3f}, below the active "
        f"version's {decision.active:.3f}: not activated unless you insist"
    )


def _job_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
