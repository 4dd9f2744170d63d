"""`stdbot serve` as a real process, and what its first start prepares (secret key, admin account)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from support.processes import SAMPLE, Process, free_port, wait_ready

from bot.store import Store
from bot.web.app import create_app_from_env
from bot.web.bootstrap import ADMIN_USERNAME, ensure_admin, ensure_secret_key, secret_key_file
from bot.web.passwords import hash_password, needs_rehash, one_time_password, verify_password
from config.errors import SettingsError
from config.settings import Settings


@pytest.fixture
def served_dir(tmp_path: Path) -> Path:
    """A data directory filled by `stdbot ingest data/sample`, as a user would."""
    data_dir = tmp_path / "var"
    ingest = Process("--data-dir", str(data_dir), "ingest", str(SAMPLE))
    assert ingest.popen.wait(120) == 0, ingest.output
    return data_dir


@pytest.fixture
def server(served_dir: Path) -> Iterator[tuple[Process, str]]:
    port = free_port()
    process = Process("--data-dir", str(served_dir), "serve", "--port", str(port), "--host", "127.0.0.1")
    yield process, f"http://127.0.0.1:{port}"
    if process.popen.poll() is None:
        process.popen.kill()
        process.popen.wait(10)


def test_serve_answers_counts_and_stops_cleanly(server: tuple[Process, str], served_dir: Path) -> None:
    process, url = server
    shown = process.wait_for_line(r"http://127\.0\.0\.1:\d+/chat")
    assert shown[0] == f"{url}/chat"
    password = process.wait_for_line(r"one-time password: (\S+)")[1]
    assert process.wait_for_line(r"username: (\S+)")[1] == ADMIN_USERNAME
    assert f"{served_dir / 'secret_key'}" in process.output  # generated on first start, and said so
    assert wait_ready(url, process) == {
        "status": "ready",
        "database": True,
        "knowledge_base": 1,
        "error": None,
    }

    session = httpx.post(f"{url}/api/chat/sessions").json()
    reply = httpx.post(
        f"{url}/api/chat/messages", json={**session, "text": "企业标准需要自我声明公开吗"}, timeout=30
    ).json()["reply"]
    assert reply["author"] == "bot" and reply["citations"]
    assert any("第" in c["label"] and "条" in c["label"] for c in reply["citations"])
    metrics = httpx.get(f"{url}/metrics").text
    assert 'stdbot_messages_in_total{channel="webchat"} 1.0' in metrics
    assert "stdbot_answer_seconds_count 1.0" in metrics

    assert process.stop() == 0, process.output
    assert "Application shutdown complete" in process.output
    assert process.output.count(password) == 1

    store = Store.from_settings(Settings(data_dir=served_dir))
    admin = store.staff.get(ADMIN_USERNAME)
    store.close()
    assert admin is not None and admin.role == "admin" and verify_password(admin.password_hash, password)

    again = Process("--data-dir", str(served_dir), "serve", "--port", str(free_port()))
    again.wait_for_line(r"Uvicorn running on")
    assert again.stop() == 0, again.output
    assert "one-time password" not in again.output and "admin" not in again.output


def test_serve_refuses_a_bad_port_setting(tmp_path: Path) -> None:
    process = Process("--data-dir", str(tmp_path / "var"), "serve", "--port", "0")
    assert process.popen.wait(60) == 2
    process.stop()
    assert "--port" in process.output


def test_app_factory_for_workers_reads_the_environment(
    kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STDBOT_DATA_DIR", str(kb_dir))
    monkeypatch.setenv("STDBOT_DATABASE__URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("STDBOT_WEB__SECRET_KEY", "from-the-environment-0123456789")
    app = create_app_from_env()
    assert app.state.settings.data_dir == kb_dir
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.post("/api/chat/sessions").status_code == 201


def test_secret_key_is_created_once_and_kept_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    key, created = ensure_secret_key(settings)
    assert created and len(key) >= 32
    assert secret_key_file(settings).stat().st_mode & 0o777 == 0o600
    assert ensure_secret_key(settings) == (key, False)
    assert [p.name for p in secret_key_file(settings).parent.iterdir()] == ["secret_key"]


def test_configured_secret_key_wins_and_must_be_long(tmp_path: Path) -> None:
    configured = Settings(data_dir=tmp_path, web={"secret_key": "a-configured-key-of-enough-length"})
    assert ensure_secret_key(configured) == ("a-configured-key-of-enough-length", False)
    assert not secret_key_file(configured).exists()
    with pytest.raises(SettingsError, match="STDBOT_WEB__SECRET_KEY"):
        ensure_secret_key(Settings(data_dir=tmp_path, web={"secret_key": "short"}))
    secret_key_file(configured).write_text("\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="secret key file"):
        ensure_secret_key(Settings(data_dir=tmp_path))


def test_first_admin_is_created_only_when_there_is_no_staff(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    password = ensure_admin(store)
    assert password is not None and len(password) == 16
    admin = store.staff.get(ADMIN_USERNAME)
    assert admin is not None and admin.role == "admin"
    assert admin.password_hash.startswith("$argon2id$") and password not in admin.password_hash
    assert verify_password(admin.password_hash, password)
    assert ensure_admin(store) is None and store.staff.count() == 1
    store.close()


def test_password_hashes() -> None:
    hashed = hash_password("正确的密码 correct")
    assert verify_password(hashed, "正确的密码 correct")
    assert not verify_password(hashed, "wrong")
    assert not verify_password("not a hash", "wrong")
    assert not needs_rehash(hashed) and needs_rehash("not a hash")
    assert len({one_time_password() for _ in range(20)}) == 20
    assert not set("0O1lI") & set("".join(one_time_password() for _ in range(50)))
