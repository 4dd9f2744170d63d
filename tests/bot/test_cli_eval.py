"""`stdbot eval` over question, dialogue and FAQ-pair files: the figures of each kind, failing turns with
their reasons in JSON and in the table, and --fail-under on the new metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
FIXTURES = ROOT / "tests" / "fixtures" / "eval"
ENV = {"STDBOT_EMBEDDING__BACKEND": "use", "COLUMNS": "200"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-eval") / "var"
    result = CliRunner().invoke(app, ["ingest", str(SAMPLE), "--data-dir", str(path)], env=ENV)
    assert result.exit_code == 0, result.output
    return path


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", *args], env=ENV)
    return result.exit_code, result.output


def fixture(name: str) -> str:
    return str(FIXTURES / f"{name}.jsonl")


def test_a_dialogue_file_reports_pass_rates_and_failing_turns(data_dir: Path) -> None:
    code, output = run(data_dir, fixture("dialogues"), "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["kind"] == "dialogues"
    assert report["metrics"]["dialogue_pass"] == 0.5 and report["metrics"]["turn_pass"] == pytest.approx(
        0.6667
    )
    (failing,) = report["failing_turns"]
    assert failing["dialogue"] == "t2" and failing["turn"] == 1
    assert "missing:不存在的短语" in failing["reasons"] and "excluded:19001" in failing["reasons"]

    code, output = run(data_dir, fixture("dialogues"))
    assert code == 0, output
    assert "dialogue_pass" in output and "t2#1" in output and "missing:不存在的短语" in output


def test_several_files_of_every_kind_in_one_run(data_dir: Path) -> None:
    code, output = run(data_dir, fixture("questions"), fixture("dialogues"), fixture("faq_pairs"), "--json")
    assert code == 0, output
    files = json.loads(output)["files"]
    assert [f["kind"] for f in files] == ["questions", "dialogues", "faq_pairs"]
    assert {"hit@5", "passage_list"} <= set(files[0]["metrics"])
    assert files[2]["metrics"]["faq_recall"] == 1.0
    assert "faq_precision" in files[2]["metrics"] and "faq_misses" in files[2]


def test_fail_under_takes_the_new_metrics(data_dir: Path) -> None:
    code, output = run(data_dir, fixture("dialogues"), "--fail-under", "dialogue_pass=0.95")
    assert code == 1 and "dialogue_pass=0.500<0.95" in output
    code, output = run(data_dir, fixture("faq_pairs"), "--fail-under", "faq_recall=0.9")
    assert code == 0, output
    code, output = run(data_dir, fixture("questions"), "--fail-under", "dialogue_pass=0.9")
    assert code == 2 and "dialogue_pass" in output
    code, output = run(data_dir, fixture("questions"), "--fail-under", "bogus=1")
    assert code == 2 and "bogus" in output
