"""WeChat Official Account passive answers, measured against a real `stdbot serve` process.

The answerable questions of the sample golden set are sent as the platform sends them (safe mode:
signed, AES-encrypted, each from a new user), through a platform double that waits 5 s per delivery and
delivers again when it heard nothing (tests/support/wechat_platform.py); the customer-service API is a
local api.weixin.qq.com double. Two configurations, each on its own server process:

- the default extractive answers (no LLM);
- a slow LLM: the local OpenAI-protocol server (tests/support/openai_server.py) answering after 3 s.

For each: the share of questions answered passively within the deadline, the passive path's latency
(callback POST → encrypted XML reply), the answers that went by customer-service message instead (POST →
message/custom/send), and the same questions answered in-process in this run as the baseline.

    python bench/wechat_passive.py [--repeat 1] [--llm-delay 3]

Prints a Markdown table and writes bench/results/wechat_passive.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import free_port, percentiles, sample_questions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.openai_server import FakeOpenAIServer  # noqa: E402
from support.wechat_platform import WechatApiServer, WechatPlatform  # noqa: E402

from bot.channels.wechat_mp.passive import hold_seconds  # noqa: E402

SAMPLE = ROOT / "data" / "sample"
TOKEN = "BenchCallbackToken"
APP_ID = "wxbench0123456789"
APP_SECRET = "bench-secret-0123456789abcdef0123"
AES_KEY = base64.b64encode(bytes(range(7, 39))).decode().rstrip("=")
DEADLINE_S = 5.0
LLM_ANSWER = "根据资料 [1]，这是测试用的模型回答。"


def _serve(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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


def _server_env(database: Path, api_base_url: str, llm_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STDBOT_")}
    env.update(
        STDBOT_DATABASE__URL=f"sqlite:///{database}",
        STDBOT_WECHAT__TOKEN=TOKEN,
        STDBOT_WECHAT__APP_ID=APP_ID,
        STDBOT_WECHAT__APP_SECRET=APP_SECRET,
        STDBOT_WECHAT__AES_KEY=AES_KEY,
        STDBOT_WECHAT__API_BASE_URL=api_base_url,
        STDBOT_HANDOFF__HOURS="00:00-24:00",
        STDBOT_HANDOFF__WEEKDAYS="[1,2,3,4,5,6,7]",
    )
    if llm_url:
        env.update(STDBOT_LLM__BASE_URL=llm_url, STDBOT_LLM__TIMEOUT_S="30")
    return env


def in_process(
    data_dir: Path, questions: list[str], repeat: int, llm: FakeOpenAIServer | None
) -> tuple[list[float], list[bool]]:
    """The same questions answered in this process: times, and which questions went to the LLM."""
    from config.settings import Settings
    from knowledge.chain import Answerer
    from knowledge.kb import open_knowledge_base

    llm_settings = {"base_url": llm.base_url, "timeout_s": 30} if llm is not None else {}
    settings = Settings(data_dir=data_dir, llm=llm_settings)
    answerer = Answerer(open_knowledge_base(settings), settings)
    answerer.ask(questions[0])
    times: list[float] = []
    used_llm: list[bool] = []
    for round_ in range(repeat):
        for question in questions:
            calls = len(llm.requests) if llm is not None else 0
            started = time.perf_counter()
            answerer.ask(question)
            times.append((time.perf_counter() - started) * 1000)
            if round_ == 0:
                used_llm.append(llm is not None and len(llm.requests) > calls)
    return times, used_llm


def over_wechat(
    url: str, api: WechatApiServer, questions: list[str], repeat: int, tag: str
) -> list[dict[str, Any]]:
    """Every question through the platform double: what the user got and when, per question."""
    platform = WechatPlatform(f"{url}/wechat/mp", TOKEN, APP_ID, AES_KEY)
    platform.deliver(platform.text(f"o_{tag}_warm", questions[0]), "safe")
    results: list[dict[str, Any]] = []
    for round_ in range(repeat):
        for index, question in enumerate(questions):
            user = f"o_{tag}_{round_}_{index}"
            started = time.perf_counter()
            delivered = platform.deliver(platform.text(user, question), "safe", wait_s=DEADLINE_S)
            heard = delivered.heard
            result: dict[str, Any] = {
                "index": index,
                "deliveries": len(delivered.attempts),
                "callback_ms": heard.elapsed_s * 1000 if heard is not None else None,
                "passive": heard is not None and heard.reply is not None and not heard.unreadable,
                "custom_ms": None,
            }
            if heard is not None and heard.reply is None and not heard.unreadable:
                deadline = time.monotonic() + 120
                while not api.sent_to(user) and time.monotonic() < deadline:
                    time.sleep(0.005)
                if api.sent_to(user):
                    result["custom_ms"] = (time.perf_counter() - started) * 1000
            result["user"] = user
            result["passive_text"] = heard.reply.get("Content") if result["passive"] and heard else None
            results.append(result)
    time.sleep(hold_seconds(4.0) + 2)  # past every hold: anything the outbox would still send has been sent
    for result in results:
        passive_text = result.pop("passive_text")
        texts = ([passive_text] if passive_text else []) + api.sent_to(result.pop("user"))
        result["pieces"] = len(texts)
        result["repeated"] = len(texts) - len(set(texts))
    return results


def _summary(results: list[dict[str, Any]], baseline: list[float]) -> dict[str, Any]:
    passive = [r["callback_ms"] for r in results if r["passive"]]
    custom = [r["custom_ms"] for r in results if r["custom_ms"] is not None]
    return {
        "questions": len(results),
        "passive_share": len(passive) / len(results) if results else 0.0,
        "passive": percentiles(passive),
        "callback": percentiles([r["callback_ms"] for r in results if r["callback_ms"] is not None]),
        "custom_send": percentiles(custom),
        "unanswered": sum(1 for r in results if r["pieces"] == 0),
        "answered_twice": sum(1 for r in results if r["repeated"]),
        "split_in_pieces": sum(1 for r in results if r["pieces"] > 1),
        "platform_retries": sum(r["deliveries"] - 1 for r in results),
        "in_process": percentiles(baseline),
    }


def run(
    data_dir: Path, questions: list[str], repeat: int, name: str, llm_delay_s: float | None
) -> dict[str, Any]:
    tag = f"llm{llm_delay_s:g}" if llm_delay_s is not None else "extractive"
    with WechatApiServer(APP_ID, APP_SECRET) as api, FakeOpenAIServer() as fake_llm:
        fake_llm.reply(LLM_ANSWER, delay_s=llm_delay_s or 0.0)
        llm = fake_llm if llm_delay_s is not None else None
        baseline, used_llm = in_process(data_dir, questions, repeat, llm)
        port = free_port()
        env = _server_env(data_dir / f"wechat-{tag}.db", api.base_url, llm.base_url if llm else None)
        server = _serve(data_dir, port, env)
        try:
            results = over_wechat(f"http://127.0.0.1:{port}", api, questions, repeat, tag)
        finally:
            server.terminate()
            server.wait(timeout=60)
        fetches = api.fetches
    row = {"configuration": name, **_summary(results, baseline), "token_fetches": fetches}
    if any(used_llm):
        per_question = len(questions)
        llm_results = [r for r in results if used_llm[r["index"]]]
        llm_baseline = [t for n, t in enumerate(baseline) if used_llm[n % per_question]]
        row["llm_questions"] = _summary(llm_results, llm_baseline)
    return row


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:.0f}"


def _line(name: str, row: dict[str, Any]) -> str:
    passive, base, custom = row["passive"], row["in_process"], row["custom_send"]
    ratio = passive["p50_ms"] / base["p50_ms"] if passive["n"] else float("nan")
    return (
        f"| {name} | {row['questions']} | {row['passive_share']:.1%} "
        f"| {_ms(passive['p50_ms'])} | {_ms(passive['p95_ms'])} | {_ms(base['p50_ms'])} "
        f"| {_ms(base['p95_ms'])} | {ratio:.2f} | {custom['n']:.0f} | {_ms(custom['p50_ms'])} "
        f"| {_ms(custom['p95_ms'])} | {row['platform_retries']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--llm-delay", type=float, default=3.0, help="seconds the slow LLM takes")
    parser.add_argument(
        "--beyond-budget-delay",
        type=float,
        default=6.0,
        help="also an LLM slower than the passive budget (0: skip), to measure the custom-send path",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "wechat_passive.json")
    args = parser.parse_args()
    questions = sample_questions()
    with tempfile.TemporaryDirectory(prefix="stdbot-wechat-") as tmp:
        data_dir = Path(tmp) / "var"
        subprocess.run(
            [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "ingest", str(SAMPLE)],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        rows = [
            run(data_dir, questions, args.repeat, "extractive (default)", None),
            run(data_dir, questions, args.repeat, f"slow LLM ({args.llm_delay:g} s)", args.llm_delay),
        ]
        if args.beyond_budget_delay > 0:
            name = f"LLM beyond the budget ({args.beyond_budget_delay:g} s)"
            rows.append(run(data_dir, questions, args.repeat, name, args.beyond_budget_delay))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    print(
        "| configuration | questions | answered passively | passive p50 ms | passive p95 ms "
        "| in-process p50 ms | in-process p95 ms | passive p50 ÷ in-process p50 | by custom-send "
        "| custom-send p50 ms | custom-send p95 ms | platform retries |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(_line(row["configuration"], row))
        if "llm_questions" in row:
            print(_line("└ of which answered by the LLM", row["llm_questions"]))
    print()
    for row in rows:
        print(
            f"- {row['configuration']}: unanswered {row['unanswered']}, "
            f"answered twice {row['answered_twice']}, long answers sent in pieces {row['split_in_pieces']}, "
            f"access-token fetches {row['token_fetches']}"
        )


if __name__ == "__main__":
    main()
