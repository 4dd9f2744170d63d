from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
HIT_KEYS = {"source", "kind", "clause", "standard", "score", "text"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "var"
    result = CliRunner().invoke(app, ["ingest", str(SAMPLE), "--data-dir", str(path)])
    assert result.exit_code == 0, result.output
    return path


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_ingest_prints_a_summary(tmp_path: Path) -> None:
    code, output = run(tmp_path / "var", "ingest", str(SAMPLE))
    assert code == 0, output
    assert "faq" in output and "catalog" in output and "v1" in output


def test_search_json_shape(data_dir: Path) -> None:
    code, output = run(data_dir, "search", "企业标准要公开吗", "-k", "3", "--json")
    assert code == 0, output
    hits = json.loads(output)
    assert len(hits) == 3
    assert all(set(h) == HIT_KEYS and isinstance(h["clause"], list) for h in hits)


def test_ask_json_shape(data_dir: Path) -> None:
    code, output = run(data_dir, "ask", "GB/T 19001-2016 还有效吗", "--json")
    assert code == 0, output
    answer = json.loads(output)
    keys = {"answer", "mode", "confidence", "escalate", "citations", "suggestions", "latency_ms"}
    assert set(answer) == keys
    assert answer["mode"] == "catalog" and "现行" in answer["answer"]
    assert all(set(c) == HIT_KEYS for c in answer["citations"])


def test_batch_answers_every_line_and_reports_bad_ones(data_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"question": "团体标准是谁制定的"}\nnot json\n{"question": "转人工"}\n', encoding="utf-8"
    )
    code, output = run(data_dir, "ask", "--batch", str(batch))
    assert code == 0, output
    lines = [json.loads(line) for line in output.splitlines()]
    assert len(lines) == 3
    assert "answer" in lines[0] and "error" in lines[1] and lines[2]["escalate"] is True
    code, output = run(data_dir, "search", "--batch", str(batch), "-k", "2")
    rows = [json.loads(line) for line in output.splitlines()]
    assert code == 0 and len(rows[0]) == 2 and "error" in rows[1]


def test_a_deeply_nested_batch_line_is_an_error_for_that_line_only(data_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "deep.jsonl"
    batch.write_text("[" * 100_000 + "\n" + '{"question": "团体标准是谁制定的"}\n', encoding="utf-8")
    code, output = run(data_dir, "ask", "--batch", str(batch))
    assert code == 0, output
    first, second = (json.loads(line) for line in output.splitlines())
    assert "第 1 行" in first["error"]
    assert "answer" in second


def test_kb_list_activate_rollback(tmp_path: Path) -> None:
    data = tmp_path / "var"
    assert run(data, "ingest", str(SAMPLE / "faq.csv"))[0] == 0
    assert run(data, "ingest", str(SAMPLE / "catalogue.csv"))[0] == 0
    code, output = run(data, "kb", "list")
    assert code == 0 and "v1" in output and "v2" in output
    code, output = run(data, "kb", "rollback")
    assert code == 0 and "v1" in output
    assert json.loads((data / "registry.json").read_text(encoding="utf-8"))["active"] == 1
    code, output = run(data, "kb", "activate", "9")
    assert code == 2 and "9" in output


def test_eval_reports_metrics_and_fails_under_threshold(data_dir: Path) -> None:
    golden = ROOT / "tests" / "golden" / "sample.jsonl"
    code, output = run(data_dir, "eval", str(golden), "--json")
    assert code == 0, output
    metrics = json.loads(output)["metrics"]
    assert {"hit@1", "hit@5", "mrr", "escalation_precision", "escalation_recall", "answer_contains"} <= set(
        metrics
    )
    code, output = run(data_dir, "eval", str(golden), "--fail-under", "hit@5=1.01")
    assert code == 1 and "hit@5" in output


def test_empty_knowledge_base_says_how_to_fill_it(tmp_path: Path) -> None:
    code, output = run(tmp_path / "nothing", "ask", "企业标准要公开吗")
    assert code == 2 and "stdbot ingest" in output


def test_wrong_setting_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STDBOT_RETRIEVAL__TOP_K", "many")
    code, output = run(tmp_path, "kb", "list")
    assert code == 2 and "STDBOT_RETRIEVAL__TOP_K" in output


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "nope.toml"), "kb", "list"])
    assert result.exit_code == 2 and "nope.toml" in result.output


def test_corrupt_file_fails_the_command_but_ingests_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "faq.csv").write_bytes((SAMPLE / "faq.csv").read_bytes())
    (folder / "scan.pdf").write_bytes(b"%PDF-1.7\n%garbage")
    code, output = run(tmp_path / "var", "ingest", str(folder))
    assert code == 1 and "scan.pdf" in output
    assert run(tmp_path / "var", "search", "团体标准", "--json")[0] == 0
