"""/admin/kb: knowledge-base versions with their golden-set figures beside the active one, building a
new version from uploaded files (progress live), evaluation, activation behind the release gate, and
rollback. The work itself is bot.service.kb_jobs.KnowledgeJobs; this module turns forms into its calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.service.kb_jobs import JobStatus, KnowledgeJobs
from bot.service.kb_sources import ReadLimits, save_upload
from bot.web.auth import Admin, AdminPost, StaffUser, console_text
from bot.web.ids import RecordId
from bot.web.login import render
from bot.web.state import services
from config.errors import ReloadRefused, StdbotError, UploadRejected
from knowledge.registry import VersionInfo
from knowledge.version_eval import GATE_METRIC, GoldenSet

router = APIRouter(prefix="/admin", include_in_schema=False)

SHOWN_METRICS = ("hit@1", "hit@5", "mrr", "answer_contains", "dialogue_pass")
MAX_UPLOADS = 50


@dataclass(frozen=True)
class VersionRow:
    """One version as the page lists it."""

    info: VersionInfo
    created: str  # local time
    active: bool
    metrics: dict[str, float] | None
    delta: float | None  # GATE_METRIC minus the active version's

    @property
    def source_names(self) -> list[str]:
        return [Path(s).name for s in self.info.sources]


def _jobs(request: Request) -> KnowledgeJobs:
    return services(request).jobs


@router.get("/kb", response_class=HTMLResponse)
def kb_page(request: Request, user: Admin) -> HTMLResponse:
    return _page(request, user)


@router.get("/api/kb/job")
def job_json(request: Request, user: Admin) -> JSONResponse:
    """The latest job's progress, for the page's live refresh."""
    status = _jobs(request).status()
    return JSONResponse({"job": status.to_json() if status is not None else None})


@router.post("/kb/build")
def build(
    request: Request,
    user: AdminPost,
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    keep: Annotated[list[str], Form()] = [],  # noqa: B006
    activate: Annotated[bool, Form()] = False,
    insist: Annotated[bool, Form()] = False,
) -> Response:
    """Save the uploads and start a build (refused while another build or evaluation runs)."""
    kb = services(request).settings.kb
    limit = kb.upload_max_mb << 20
    reading = ReadLimits(timeout_s=kb.upload_read_timeout_s, memory_mb=kb.upload_read_memory_mb)
    chosen = [f for f in files if f.filename]
    if len(chosen) > MAX_UPLOADS:
        return _page(request, user, error=console_text("kb_too_many_files", n=MAX_UPLOADS), status=400)

    def save(folder: Path) -> list[Path]:
        return [save_upload(folder, f.filename, f.file, limit, reading) for f in chosen]

    try:
        _jobs(request).start_build(user.actor, keep, save, activate=activate, insist=insist)
    except UploadRejected as exc:
        return _page(request, user, error=str(exc), status=400)
    except ReloadRefused as exc:
        return _page(request, user, error=str(exc), status=409)
    return RedirectResponse("/admin/kb", status_code=303)


@router.post("/kb/{version}/evaluate")
def evaluate(request: Request, version: RecordId, user: AdminPost) -> Response:
    return _act(request, user, lambda jobs: jobs.start_evaluation(user.actor, version))


@router.post("/kb/{version}/activate")
def activate(
    request: Request, version: RecordId, user: AdminPost, insist: Annotated[bool, Form()] = False
) -> Response:
    def run(jobs: KnowledgeJobs) -> str:
        jobs.activate(user.actor, version, insist=insist)
        return console_text("kb_done_activated", version=version)

    return _act(request, user, run)


@router.post("/kb/rollback")
def rollback(request: Request, user: AdminPost) -> Response:
    def run(jobs: KnowledgeJobs) -> str:
        return console_text("kb_done_rolled_back", version=jobs.rollback(user.actor))

    return _act(request, user, run)


def _act(request: Request, user: StaffUser, action: Callable[[KnowledgeJobs], object]) -> Response:
    """Run an action; a text it returns is shown as the outcome, anything else goes back to the page."""
    try:
        outcome = action(_jobs(request))
    except ReloadRefused as exc:
        return _page(request, user, error=str(exc), status=409)
    except StdbotError as exc:
        return _page(request, user, error=str(exc), status=400)
    notice = outcome if isinstance(outcome, str) else None
    if notice is None:
        return RedirectResponse("/admin/kb", status_code=303)
    return _page(request, user, notice=notice)


def _page(
    request: Request,
    user: StaffUser,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    jobs = _jobs(request)
    zone = ZoneInfo(services(request).settings.handoff.timezone)
    golden, golden_error = _golden(jobs)
    state = jobs.registry.read()
    measured = jobs.measured(golden)
    active_metrics = measured.get(state.active) if state.active is not None else None
    rows = [
        VersionRow(
            info=info,
            created=_local(info.created_at, zone),
            active=info.version == state.active,
            metrics=measured.get(info.version),
            delta=_delta(measured.get(info.version), active_metrics)
            if info.version != state.active
            else None,
        )
        for info in sorted(state.versions, key=lambda v: v.version, reverse=True)
    ]
    active = state.active_info
    job = jobs.status()
    return render(
        request,
        "admin_kb.html",
        user,
        status,
        notice=notice,
        error=error,
        rows=rows,
        active=active,
        can_roll_back=bool(state.history),
        golden=golden,
        golden_error=golden_error,
        shown_metrics=SHOWN_METRICS,
        gate_metric=GATE_METRIC,
        job=job,
        job_started=_local(job.started_at, zone) if job is not None else "",
        job_stage=_stage_label(job),
        approved_drafts=len(services(request).store.admin.faq_drafts("approved")),
        upload_max_mb=services(request).settings.kb.upload_max_mb,
    )


def _local(iso: str, zone: ZoneInfo) -> str:
    """An ISO timestamp as local minutes (left as it is when it is not one)."""
    try:
        return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _golden(jobs: KnowledgeJobs) -> tuple[GoldenSet | None, str | None]:
    try:
        return jobs.golden_set(), None
    except (StdbotError, OSError) as exc:
        return None, str(exc)


def _delta(metrics: dict[str, float] | None, active: dict[str, float] | None) -> float | None:
    if metrics is None or active is None or GATE_METRIC not in metrics or GATE_METRIC not in active:
        return None
    return metrics[GATE_METRIC] - active[GATE_METRIC]


def _stage_label(job: JobStatus | None) -> str:
    return "" if job is None else console_text(f"kb_stage_{job.stage}")
