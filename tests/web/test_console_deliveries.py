"""A reply the outbox could not deliver is shown to staff — on the conversation, live, and in a list on
the queue page — and can be sent again once the cause is fixed."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from support.web_app import services_of
from web.console_support import add_account, chat_user_asks_for_person, logged_in, staff_delivery

REASON = "超出 48 小时回复时限（45015）/ outside the 48-hour reply window"


def test_a_failed_delivery_is_shown_listed_and_sent_again(app: FastAPI, client: TestClient) -> None:
    store = services_of(app).store
    add_account(app, "amy")
    _, conversation_id = chat_user_asks_for_person(client)
    csrf = logged_in(client, "amy")
    client.post(f"/console/conversations/{conversation_id}/claim", data={"csrf_token": csrf})
    replied = client.post(
        f"/console/conversations/{conversation_id}/reply",
        data={"csrf_token": csrf, "text": "您好，请问是哪个产品？", "form_token": "reply-token-0001"},
        headers={"X-Requested-With": "test"},
    )
    message_id = int(replied.json()["message_id"])
    delivery = staff_delivery(app, message_id)
    assert delivery.state == "sent"
    page = client.get(f"/console/conversations/{conversation_id}").text
    assert f'data-delivery="{message_id}"' in page and "已送达渠道" in page

    store.deliveries.mark_failed(delivery.id, REASON)  # as the outbox does when the platform refuses for good

    page = client.get(f"/console/conversations/{conversation_id}").text
    assert "投递失败" in page and REASON in page
    assert f'action="/console/deliveries/{delivery.id}/retry"' in page
    live = client.get(f"/console/api/conversations/{conversation_id}/messages", params={"after": message_id})
    assert live.json()["deliveries"][str(message_id)] == {
        "id": delivery.id,
        "state": "failed",
        "label": "投递失败",
        "error": REASON,
    }
    queue = client.get("/console").text
    assert 'id="failed-deliveries"' in queue and REASON in queue
    assert f"/console/conversations/{conversation_id}#m{message_id}" in queue

    retried = client.post(f"/console/deliveries/{delivery.id}/retry", data={"csrf_token": csrf})
    assert retried.status_code == 200 and "已重新排队发送" in retried.text
    assert staff_delivery(app, message_id).state == "sent"
    assert 'id="failed-deliveries"' not in client.get("/console").text
    again = client.post(f"/console/deliveries/{delivery.id}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409 and "没有投递失败" in again.text
    assert client.post("/console/deliveries/99999/retry", data={"csrf_token": csrf}).status_code == 404
    assert "delivery_retry" in [e.action for e in store.staff.audit_log()]


def test_retrying_needs_a_login_and_the_csrf_token(app: FastAPI, client: TestClient) -> None:
    anonymous = client.post("/console/deliveries/1/retry", data={"csrf_token": "x"}, follow_redirects=False)
    assert anonymous.status_code == 303
    add_account(app, "amy")
    logged_in(client, "amy")
    assert client.post("/console/deliveries/1/retry", data={"csrf_token": "forged"}).status_code == 403
