"""/admin/faq and /admin/staff: reviewing FAQ drafts and managing console accounts through the pages,
with the guards that keep one administrator and keep admins off their own account."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.web_app import services_of
from web.console_support import PASSWORD, add_account, faq_draft, logged_in, login

from bot.web.passwords import verify_password
from config.errors import StoreError

MARKUP = "<script>alert(1)</script>"


def test_admin_edits_and_approves_a_draft_rejects_another_and_withdraws(
    client: TestClient, app: FastAPI
) -> None:
    store = services_of(app).store
    add_account(app, "boss", role="admin")
    csrf = logged_in(client, "boss")
    kept = faq_draft(app, "企业标准要备案吗？", "要。")
    dropped = faq_draft(app, f"无关问题{MARKUP}", "无关。")

    page = client.get("/admin/faq")
    assert page.status_code == 200 and "待审核（2）" in page.text
    assert MARKUP not in page.text and "&lt;script&gt;" in page.text

    approved = client.post(
        f"/admin/faq/{kept}",
        data={
            "csrf_token": csrf,
            "decision": "approve",
            "question": "企业标准需要备案吗？",
            "answer": "不需要备案，但应当通过企业标准信息公共服务平台自我声明公开。",
            "basis": "《中华人民共和国标准化法》第二十七条",
        },
        follow_redirects=True,
    )
    assert approved.status_code == 200 and "草稿已批准" in approved.text
    record = store.admin.faq_draft(kept)
    assert record.state == "approved" and record.question == "企业标准需要备案吗？"
    assert record.basis == "《中华人民共和国标准化法》第二十七条" and "自我声明公开" in record.answer

    rejected = client.post(f"/admin/faq/{dropped}", data={"csrf_token": csrf, "decision": "reject"})
    assert rejected.status_code == 200 and store.admin.faq_draft(dropped).state == "rejected"
    assert store.admin.faq_draft(dropped).question == f"无关问题{MARKUP}"  # rejecting keeps the wording

    again = client.post(f"/admin/faq/{dropped}", data={"csrf_token": csrf, "decision": "withdraw"})
    assert again.status_code == 409 and "只有已批准的草稿可以撤回" in again.text
    withdrawn = client.post(f"/admin/faq/{kept}", data={"csrf_token": csrf, "decision": "withdraw"})
    assert withdrawn.status_code == 200 and store.admin.faq_draft(kept).state == "rejected"

    assert client.post("/admin/faq/999", data={"csrf_token": csrf, "decision": "approve"}).status_code == 404
    assert client.post(f"/admin/faq/{kept}", data={"csrf_token": csrf, "decision": "x"}).status_code == 400
    actions = [e.action for e in store.staff.audit_log()]
    assert {"faq_approve", "faq_reject", "faq_withdraw"} <= set(actions)


def test_a_draft_cannot_be_reviewed_without_the_csrf_token_or_by_staff(
    client: TestClient, app: FastAPI
) -> None:
    store = services_of(app).store
    draft = faq_draft(app, "问题", "答案")
    add_account(app, "amy")
    csrf = logged_in(client, "amy")
    assert (
        client.post(f"/admin/faq/{draft}", data={"csrf_token": csrf, "decision": "approve"}).status_code
        == 403
    )
    assert store.admin.faq_draft(draft).state == "pending"


def test_admin_adds_an_account_whose_one_time_password_works_once_shown(
    client: TestClient, app: FastAPI
) -> None:
    add_account(app, "boss", role="admin")
    csrf = logged_in(client, "boss")
    created = client.post("/admin/staff", data={"csrf_token": csrf, "username": "amy", "role": "staff"})
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    password = re.search(r'id="one-time-password">([^<]+)<', created.text)
    assert password is not None
    account = services_of(app).store.staff.get("amy")
    assert account is not None and account.role == "staff"
    assert verify_password(account.password_hash, password.group(1))
    assert password.group(1) not in client.get("/admin/staff").text  # shown once only

    duplicate = client.post("/admin/staff", data={"csrf_token": csrf, "username": "amy", "role": "staff"})
    assert duplicate.status_code == 409 and "用户名已存在" in duplicate.text
    for bad in ("", "a b", "x" * 65):
        refused = client.post("/admin/staff", data={"csrf_token": csrf, "username": bad, "role": "staff"})
        assert refused.status_code == 400
    assert (
        client.post("/admin/staff", data={"csrf_token": csrf, "username": "z", "role": "root"}).status_code
        == 400
    )

    with TestClient(app) as other:
        assert login(other, "amy", password.group(1)).status_code == 303


def test_reset_role_and_remove_keep_one_admin_and_spare_the_admins_own_account(
    client: TestClient, app: FastAPI
) -> None:
    store = services_of(app).store
    add_account(app, "boss", role="admin")
    add_account(app, "amy")
    csrf = logged_in(client, "boss")
    with TestClient(app) as amy:
        assert login(amy, "amy").status_code == 303
        assert amy.get("/console").status_code == 200

        reset = client.post("/admin/staff/amy/password", data={"csrf_token": csrf})
        assert reset.status_code == 200
        new_password = hidden_password(reset.text)
        assert amy.get("/console", follow_redirects=False).status_code == 303  # old session ended
        assert login(amy, "amy", PASSWORD).status_code == 401
        assert login(amy, "amy", new_password).status_code == 303

    promoted = client.post("/admin/staff/amy/role", data={"csrf_token": csrf, "role": "admin"})
    assert promoted.status_code == 200 and store.staff.get("amy").role == "admin"  # type: ignore[union-attr]

    for url in ("/admin/staff/boss/role", "/admin/staff/boss/remove", "/admin/staff/boss/password"):
        own = client.post(url, data={"csrf_token": csrf, "role": "staff"})
        assert own.status_code == 409 and "stdbot user passwd" in own.text, url
    assert store.staff.get("boss").role == "admin"  # type: ignore[union-attr]

    removed = client.post("/admin/staff/amy/remove", data={"csrf_token": csrf})
    assert removed.status_code == 200 and store.staff.get("amy") is None
    assert client.post("/admin/staff/amy/remove", data={"csrf_token": csrf}).status_code == 409
    assert {"user_passwd", "user_role", "user_remove"} <= {e.action for e in store.staff.audit_log()}


def test_the_last_administrator_cannot_be_demoted_or_removed(app: FastAPI) -> None:
    store = services_of(app).store
    add_account(app, "boss", role="admin")
    add_account(app, "root2", role="admin")
    store.staff.set_role("root2", "staff")
    with pytest.raises(StoreError, match="至少要保留一名管理员"):
        store.staff.set_role("boss", "staff")
    with pytest.raises(StoreError, match="至少要保留一名管理员"):
        store.staff.remove("boss")
    assert store.staff.get("boss").role == "admin"  # type: ignore[union-attr]


def hidden_password(html: str) -> str:
    found = re.search(r'id="one-time-password">([^<]+)<', html)
    assert found is not None, "no one-time password on the page"
    return found.group(1)
