"""Web chat latency, measured against a real `stdbot serve` process.

- user → bot: POST /api/chat/messages until the bot's reply is in the response, for the answerable
  questions of the sample golden set (each in a new chat session), repeated;
- the same questions answered in-process (`Answerer.ask`) in this run, as the baseline the HTTP path
  adds to;
- staff → user: a staff reply stored and queued by another process (as a console in another worker
  does) until it arrives on the user's open event stream (SSE);
- console → user: a staff member's reply posted through the console of the same server (login, claim,
  reply form) until it arrives on the user's event stream.

    python bench/webchat.py [--repeat 3] [--staff-replies 20]

Prints a Markdown table and writes bench/results/webchat.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from common import free_port, percentiles, sample_questions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "data" / "sample"


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "serve", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("服务未就绪 / server did not become ready")


def user_to_bot(base: str, questions: list[str], repeat: int) -> list[float]:
    times: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(repeat):
            for question in questions:
                session = client.post("/api/chat/sessions").json()
                started = time.perf_counter()
                response = client.post("/api/chat/messages", json={**session, "text": question})
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or response.json()["reply"] is None:
                    raise SystemExit(f"no answer for {question!r}: {response.status_code} {response.text}")
    return times


def in_process(data_dir: Path, questions: list[str], repeat: int) -> list[float]:
    from config.settings import Settings
    from knowledge.chain import Answerer
    from knowledge.kb import open_knowledge_base

    settings = Settings(data_dir=data_dir)
    answerer = Answerer(open_knowledge_base(settings), settings)
    answerer.ask(questions[0])
    times: list[float] = []
    for _ in range(repeat):
        for question in questions:
            started = time.perf_counter()
            answerer.ask(question)
            times.append((time.perf_counter() - started) * 1000)
    return times


def _listen(base: str, params: dict[str, str], wanted: str, arrived: threading.Event) -> None:
    with httpx.stream("GET", f"{base}/api/chat/events", params=params, timeout=30) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and wanted in line:
                arrived.set()
                return


def staff_to_user(base: str, data_dir: Path, replies: int) -> list[float]:
    """Staff replies recorded and queued from this process; timed until the user's stream has them."""
    from bot.channels.webchat import CHANNEL
    from bot.store import Store

    store = Store(f"sqlite:///{data_dir / 'stdbot.db'}")
    times: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        session = client.post("/api/chat/sessions").json()
        first = client.post("/api/chat/messages", json={**session, "text": "转人工"}).json()
        conversation = store.conversations.find(CHANNEL, session["session_id"], session["session_id"])
        if conversation is None:
            raise SystemExit("conversation not found")
        after = first["reply"]["message_id"]
        for n in range(replies):
            arrived = threading.Event()
            wanted = f"人工回复 {n}"
            params = {**session, "after": str(after)}

            listener = threading.Thread(target=_listen, args=(base, params, wanted, arrived), daemon=True)
            listener.start()
            time.sleep(0.3)  # the stream is open
            started = time.perf_counter()
            message = store.conversations.record_outbound(conversation.id, wanted, author="staff:bench")
            store.deliveries.enqueue(message.id, CHANNEL, session["session_id"], wanted, "staff")
            if not arrived.wait(10):
                raise SystemExit("staff reply never reached the user")
            times.append((time.perf_counter() - started) * 1000)
            after = message.id
    store.close()
    return times


def console_to_user(base: str, data_dir: Path, replies: int) -> list[float]:
    """Staff replies posted through the console's reply form; timed until the user's stream has them."""
    import re

    from bot.channels.webchat import CHANNEL
    from bot.store import Store
    from bot.web.passwords import hash_password

    password = "bench-password-0123"
    store = Store(f"sqlite:///{data_dir / 'stdbot.db'}")
    store.staff.add("bench-console", hash_password(password), "staff")
    hidden = re.compile(r'name="csrf_token" value="([^"]+)"')
    times: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as user, httpx.Client(base_url=base, timeout=30) as staff:
        session = user.post("/api/chat/sessions").json()
        first = user.post("/api/chat/messages", json={**session, "text": "转人工"}).json()
        conversation = store.conversations.find(CHANNEL, session["session_id"], session["session_id"])
        if conversation is None:
            raise SystemExit("conversation not found")
        login = staff.get("/console/login")
        token = hidden.search(login.text)
        if token is None:
            raise SystemExit("no login form")
        form = {"username": "bench-console", "password": password, "csrf_token": token.group(1)}
        if staff.post("/console/login", data=form).status_code not in (200, 303):
            raise SystemExit("console login failed")
        page = staff.get(f"/console/conversations/{conversation.id}")
        csrf = hidden.search(page.text)
        if csrf is None:
            raise SystemExit("not logged in to the console")
        headers = {"X-CSRF-Token": csrf.group(1), "X-Requested-With": "bench", "Accept": "application/json"}
        staff.post(f"/console/conversations/{conversation.id}/claim", headers=headers).raise_for_status()
        after = first["reply"]["message_id"]
        for n in range(replies):
            arrived = threading.Event()
            wanted = f"坐席回复 {n}"
            params = {**session, "after": str(after)}
            listener = threading.Thread(target=_listen, args=(base, params, wanted, arrived), daemon=True)
            listener.start()
            time.sleep(0.3)  # the stream is open
            started = time.perf_counter()
            sent = staff.post(
                f"/console/conversations/{conversation.id}/reply",
                data={"text": wanted, "form_token": f"bench-form-{n:04d}"},
                headers=headers,
            )
            if sent.status_code != 200:
                raise SystemExit(f"console reply refused: {sent.status_code} {sent.text}")
            if not arrived.wait(10):
                raise SystemExit("console reply never reached the user")
            times.append((time.perf_counter() - started) * 1000)
            after = int(sent.json()["message_id"])
    store.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--staff-replies", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "webchat.json")
    args = parser.parse_args()
    questions = sample_questions()
    with tempfile.TemporaryDirectory(prefix="stdbot-webchat-") as tmp:
        data_dir = Path(tmp) / "var"
        subprocess.run(
            [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", str(SAMPLE)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        port = free_port()
        server = _serve(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            rows: dict[str, Any] = {
                "answer in-process (baseline)": percentiles(in_process(data_dir, questions, args.repeat)),
                "user → bot reply over HTTP": percentiles(user_to_bot(base, questions, args.repeat)),
                "staff reply (other process) → user's event stream": percentiles(
                    staff_to_user(base, data_dir, args.staff_replies)
                ),
                "staff reply (console) → user's event stream": percentiles(
                    console_to_user(base, data_dir, args.staff_replies)
                ),
            }
        finally:
            server.terminate()
            server.wait(timeout=30)
    baseline = rows["answer in-process (baseline)"]["p50_ms"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    print("| path | n | p50 ms | p95 ms | p50 ÷ in-process p50 |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        ratio = row["p50_ms"] / baseline
        print(f"| {name} | {row['n']:.0f} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
