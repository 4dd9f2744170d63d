"""A server killed (SIGKILL) in the middle of answering loses nothing: after a restart the browser's
retry of the same message gets its answer, exactly once."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx
from support.openai_server import FakeOpenAIServer
from support.processes import SAMPLE, Process, free_port, wait_ready

QUESTION = "国家标准化管理委员会负责哪些工作"


def start(data_dir: Path, config: Path, port: int) -> Process:
    process = Process("--config", str(config), "--data-dir", str(data_dir), "serve", "--port", str(port))
    wait_ready(f"http://127.0.0.1:{port}", process)
    return process


def test_a_message_cut_short_by_sigkill_is_answered_once_after_restart(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    data_dir = tmp_path / "var"
    ingest = Process("--data-dir", str(data_dir), "ingest", str(SAMPLE))
    assert ingest.popen.wait(180) == 0, ingest.output
    config = tmp_path / "stdbot.toml"
    config.write_text(f'[llm]\nbase_url = "{openai_server.base_url}"\ntimeout_s = 120\n', encoding="utf-8")
    openai_server.reply(delay_s=60.0)  # the answer is still being written when the server dies
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(data_dir, config, port)
    session = httpx.post(f"{url}/api/chat/sessions").json()
    message = {**session, "text": QUESTION, "client_message_id": "q-1"}

    def first_try() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server dies under it
            httpx.post(f"{url}/api/chat/messages", json=message, timeout=90)

    threading.Thread(target=first_try, daemon=True).start()
    deadline = time.monotonic() + 60
    while not openai_server.requests:
        assert time.monotonic() < deadline, "the question never reached the LLM:\n" + server.output
        time.sleep(0.05)
    server.popen.kill()  # SIGKILL mid-answer
    server.popen.wait(10)

    openai_server.reply("根据资料 [1]，国家标准化管理委员会统一管理全国标准化工作。")
    server = start(data_dir, config, port)
    try:
        retry = httpx.post(f"{url}/api/chat/messages", json=message, timeout=90)
        assert retry.status_code == 200, retry.text
        reply = retry.json()["reply"]
        assert reply is not None and reply["author"] == "bot"
        again = httpx.post(f"{url}/api/chat/messages", json=message, timeout=90).json()
        assert (
            again["reply"] is not None and again["reply"]["message_id"] == reply["message_id"]
        )  # the same answer
        history = httpx.get(f"{url}/api/chat/history", params=session).json()["messages"]
        authors = [m["author"] for m in history]
        assert authors == ["user", "bot"], authors  # stored once, answered once
    finally:
        server.stop()
