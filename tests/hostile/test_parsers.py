"""Property tests over what strangers can send: whatever the bytes, a parser gives a result or its own
refusal (a 4xx at the edge, a LoaderError for a file), never another exception, a hang or a crash."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels._edge import parse_json, parse_xml
from config.errors import EdgeRejected, StandardNumberError
from ingest.collect import collect
from knowledge.standard_numbers import find_standard_numbers, parse_standard_number

FIELDS = ("ToUserName", "FromUserName", "MsgType", "Content", "MsgId", "Event", "EventKey", "Encrypt")

xml_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
element = st.builds(
    lambda tag, text, nested: f"<{tag}>{nested or ''}{text}</{tag}>",
    st.sampled_from((*FIELDS, "ScanCodeInfo", "x")),
    xml_text.map(lambda t: t.replace("<", "&lt;").replace("&", "&amp;")),
    st.none() | st.just("<Inner>1</Inner>"),
)
xml_documents = st.builds(
    lambda root, children: f"<{root}>{''.join(children)}</{root}>".encode(),
    st.sampled_from(("xml", "xml", "message")),
    st.lists(element, max_size=8),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | xml_documents)
def test_xml_bodies_parse_or_are_refused_with_400(body: bytes) -> None:
    try:
        fields = parse_xml(body)
    except EdgeRejected as refused:
        assert refused.status == 400
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
def test_json_bodies_parse_or_are_refused_with_400(body: bytes) -> None:
    try:
        data = parse_json(body)
    except EdgeRejected as refused:
        assert refused.status == 400
        return
    assert isinstance(data, dict)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80))
def test_standard_numbers_are_found_or_refused_never_crash(text: str) -> None:
    for match in find_standard_numbers(text):
        assert match.number.canonical
    with contextlib.suppress(StandardNumberError):
        assert parse_standard_number(text).canonical


SUFFIXES = (".md", ".txt", ".csv", ".xlsx", ".docx", ".pdf", ".html", ".json")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SUFFIXES), st.binary(max_size=2000))
def test_any_uploaded_bytes_load_or_are_reported_never_raise(
    tmp_path: Path, suffix: str, data: bytes
) -> None:
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(data)
    collected = collect([path])
    [report] = collected.files
    assert report.error is not None or report.skipped is not None or report.chunks + report.records >= 0
