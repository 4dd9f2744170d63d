"""/admin/kb end to end: an admin uploads files and builds a version with live progress, the golden set
measures it beside the active one, the release gate holds back a worse build unless the admin insists,
rollback returns, a second reload is refused, approved FAQ drafts go into the build, bad uploads are
refused with nothing kept. Each test works on its own copy of a built sample knowledge base."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.processes import ROOT
from support.web_app import services_of, web_settings
from web.console_support import add_account, faq_draft, logged_in

from bot.service.kb_holder import KnowledgeBaseHolder
from bot.service.kb_jobs import LOCK_FILE, STATUS_FILE, JobLock, JobStatus
from bot.service.kb_sources import DRAFTS_FILE
from bot.web.app import create_app
from knowledge.registry import Registry

GOLDEN = ROOT / "tests" / "golden" / "sample.jsonl"
NEW_QUESTION = "咨询热线周末有人值班吗"
NEW_ANSWER = "热线全年无休，周末由值班人员接听，并在工作日内回访。"
BUILD_WAIT_S = 180


@pytest.fixture
def data_dir(kb_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the sample knowledge base (version 1 active; its embeddings cache comes along)."""
    target = tmp_path / "var"
    shutil.copytree(kb_dir, target, ignore=shutil.ignore_patterns("*.lock", "kb_job*", "uploads"))
    return target


@pytest.fixture
def admin_app(data_dir: Path, tmp_path: Path, holder: KnowledgeBaseHolder) -> FastAPI:
    settings = web_settings(data_dir, tmp_path / "stdbot.db")
    settings = settings.model_copy(update={"kb": settings.kb.model_copy(update={"golden_set": GOLDEN})})
    own = KnowledgeBaseHolder(settings, embeddings=holder.embeddings, reload_check_s=3600)
    return create_app(settings, holder=own)


@pytest.fixture
def admin(admin_app: FastAPI) -> Iterator[tuple[TestClient, str]]:
    """A logged-in administrator's client and CSRF token."""
    with TestClient(admin_app) as client:
        add_account(admin_app, "boss", role="admin")
        yield client, logged_in(client, "boss")


def faq_sheet(*rows: tuple[str, str, str]) -> bytes:
    lines = ["问题,答案,依据"] + [",".join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def wait_for_job(app: FastAPI) -> JobStatus:
    status = services_of(app).jobs.wait(BUILD_WAIT_S)
    assert status is not None and not status.running, status
    return status


def sample_sources(app: FastAPI) -> list[str]:
    active = Registry(services_of(app).settings.data_dir).read().active_info
    assert active is not None
    return list(active.sources)


def ask(client: TestClient, text: str) -> dict[str, object]:
    session = client.post("/api/chat/sessions").json()
    response = client.post("/api/chat/messages", json={**session, "text": text})
    assert response.status_code == 200, response.text
    reply: dict[str, object] = response.json()["reply"]
    return reply


def test_upload_build_measures_and_activates_a_version_that_is_not_worse(
    admin: tuple[TestClient, str], admin_app: FastAPI
) -> None:
    client, csrf = admin
    page = client.get("/admin/kb")
    assert page.status_code == 200
    assert "v1" in page.text and "sample.jsonl@" in page.text

    response = client.post(
        "/admin/kb/build",
        data={"csrf_token": csrf, "keep": sample_sources(admin_app), "activate": "true"},
        files=[("files", ("hotline.csv", faq_sheet((NEW_QUESTION, NEW_ANSWER, "热线服务规范")), "text/csv"))],
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    status = wait_for_job(admin_app)
    assert status.state == "done" and status.version == 2 and status.activated, status
    assert status.gate == "not_worse" and status.failed_files == ()

    jobs = services_of(admin_app).jobs
    measured = jobs.measured(jobs.golden_set())
    assert set(measured) == {1, 2}
    assert measured[2]["hit@5"] >= measured[1]["hit@5"] > 0.8
    assert Registry(jobs.settings.data_dir).read().active == 2

    reply = ask(client, NEW_QUESTION)
    assert NEW_ANSWER in str(reply["text"])
    listing = client.get("/admin/kb").text
    rows = dict(re.findall(r'data-version="(\d+)"(.*?)</tr>', listing, re.S))
    assert list(rows) == ["2", "1"]
    for version, row in rows.items():  # each version shows its own hit@5 beside the other's
        assert f"{measured[int(version)]['hit@5']:.3f}" in row
    assert f"{measured[1]['hit@5'] - measured[2]['hit@5']:+.3f}" in rows["1"]  # against the active v2

    audit = [e.action for e in services_of(admin_app).store.staff.audit_log()]
    assert "kb_build_start" in audit and "kb_build_done" in audit


def test_a_worse_build_is_held_back_until_the_admin_insists_and_rollback_returns(
    admin: tuple[TestClient, str], admin_app: FastAPI
) -> None:
    client, csrf = admin
    response = client.post(
        "/admin/kb/build",
        data={"csrf_token": csrf, "activate": "true"},  # nothing kept: only the upload
        files=[("files", ("hotline.csv", faq_sheet((NEW_QUESTION, NEW_ANSWER, "")), "text/csv"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    status = wait_for_job(admin_app)
    assert status.state == "done" and status.version == 2
    assert not status.activated and status.gate == "worse"
    assert "低于当前版本" in status.message
    registry = Registry(services_of(admin_app).settings.data_dir)
    assert registry.read().active == 1
    assert "低于当前版本" in client.get("/admin/kb").text

    refused = client.post("/admin/kb/2/activate", data={"csrf_token": csrf})
    assert refused.status_code == 409 and "仍然启用" in refused.text
    assert registry.read().active == 1

    insisted = client.post("/admin/kb/2/activate", data={"csrf_token": csrf, "insist": "true"})
    assert insisted.status_code == 200 and "已启用 v2" in insisted.text
    assert registry.read().active == 2
    assert services_of(admin_app).holder.version == 2
    assert NEW_ANSWER in str(ask(client, NEW_QUESTION)["text"])

    rolled = client.post("/admin/kb/rollback", data={"csrf_token": csrf})
    assert rolled.status_code == 200 and "已回滚到 v1" in rolled.text
    assert registry.read().active == 1 and services_of(admin_app).holder.version == 1


def test_a_second_reload_is_refused_while_one_runs(admin: tuple[TestClient, str], admin_app: FastAPI) -> None:
    client, csrf = admin
    data_dir = services_of(admin_app).settings.data_dir
    other_worker = JobLock(data_dir / LOCK_FILE)
    assert other_worker.try_acquire()
    running = JobStatus(
        "other", "build", "running", "staff:colleague", "2026-11-22T01:00:00+00:00", stage="embed"
    )
    (data_dir / STATUS_FILE).write_text(json.dumps(running.to_json()), "utf-8")
    try:
        page = client.get("/admin/kb")
        assert "进行中" in page.text and "colleague" in page.text
        for url, data in (
            ("/admin/kb/build", {"csrf_token": csrf, "keep": sample_sources(admin_app)}),
            ("/admin/kb/rollback", {"csrf_token": csrf}),
            ("/admin/kb/1/evaluate", {"csrf_token": csrf}),
        ):
            refused = client.post(url, data=data)
            assert refused.status_code == 409, url
            assert "正在进行" in refused.text and "colleague 于 09:00 开始" in refused.text
        assert Registry(data_dir).read().versions[-1].version == 1
        assert not (data_dir / "uploads").exists() or not any((data_dir / "uploads").iterdir())
    finally:
        other_worker.release()
    assert "已中断" in client.get("/admin/kb").text  # its process is gone and the lock is free


def test_approved_faq_drafts_go_into_the_next_build(
    admin: tuple[TestClient, str], admin_app: FastAPI
) -> None:
    client, csrf = admin
    store = services_of(admin_app).store
    approved = faq_draft(admin_app, NEW_QUESTION, NEW_ANSWER)
    store.admin.review_faq_draft(approved, "approved", NEW_QUESTION, NEW_ANSWER, "热线服务规范")
    rejected = faq_draft(admin_app, "被驳回的问题是什么", "不应出现在知识库里的答案。")
    store.admin.review_faq_draft(
        rejected, "rejected", "被驳回的问题是什么", "不应出现在知识库里的答案。", None
    )
    assert "已批准 FAQ 草稿：1" in client.get("/admin/kb").text

    response = client.post(
        "/admin/kb/build",
        data={"csrf_token": csrf, "keep": sample_sources(admin_app), "activate": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    status = wait_for_job(admin_app)
    assert status.activated, status
    sources = sample_sources(admin_app)
    assert sum(Path(s).name == DRAFTS_FILE for s in sources) == 1
    sheet = next(Path(s) for s in sources if Path(s).name == DRAFTS_FILE).read_text("utf-8")
    assert NEW_QUESTION in sheet and "被驳回" not in sheet
    assert NEW_ANSWER in str(ask(client, NEW_QUESTION)["text"])


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("malware.exe", b"MZ", "不支持的文件类型"),
        ("empty.md", b"", "文件是空的"),
        ("big.md", b"#" * (1 << 20) + b"x", "文件过大"),
        (DRAFTS_FILE, b"q,a\n", "不能上传"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_kept(
    admin: tuple[TestClient, str], admin_app: FastAPI, name: str, content: bytes, expected: str
) -> None:
    client, csrf = admin
    services_of(admin_app).settings.kb.upload_max_mb = 1
    response = client.post(
        "/admin/kb/build",
        data={"csrf_token": csrf, "keep": sample_sources(admin_app)},
        files=[("files", (name, content, "application/octet-stream"))],
    )
    assert response.status_code == 400
    assert expected in response.text
    data_dir = services_of(admin_app).settings.data_dir
    assert services_of(admin_app).jobs.status() is None
    assert not (data_dir / "uploads").exists() or not any((data_dir / "uploads").iterdir())
    assert [v.version for v in Registry(data_dir).read().versions] == [1]


def test_staff_and_strangers_cannot_reload(admin_app: FastAPI) -> None:
    with TestClient(admin_app) as client:
        assert client.get("/admin/kb", follow_redirects=False).status_code == 303
        add_account(admin_app, "amy")
        csrf = logged_in(client, "amy")
        assert client.get("/admin/kb").status_code == 403
        assert client.post("/admin/kb/rollback", data={"csrf_token": csrf}).status_code == 403
        assert Registry(services_of(admin_app).settings.data_dir).read().active == 1
