"""Plain-text replies with their basis, and splitting under platform limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.channels._text import chars_fit, plain_text, split_text, utf8_fits
from bot.messages import Reply
from knowledge.types import Citation

LAW = Citation(
    "中华人民共和国标准化法", "law", ("第二十七条",), None, 0.7, "国家实行团体标准、企业标准自我声明公开…"
)
FAQ = Citation("常见问题", "faq", ("第二十七条",), None, 0.1, "问：…")


def test_a_bot_answer_names_its_basis_once() -> None:
    reply = Reply("wechat", "u1", "企业应当公开其执行的标准。", citations=(LAW, FAQ, LAW))
    assert plain_text(reply) == "企业应当公开其执行的标准。\n\n依据：《中华人民共和国标准化法》第二十七条"
    already = Reply("wechat", "u1", "……\n\n依据：《中华人民共和国标准化法》第二十七条", citations=(LAW,))
    assert plain_text(already) == already.text
    staff = Reply("wechat", "u1", "您好", kind="staff", citations=(LAW,))
    assert plain_text(staff) == "您好"


def test_pieces_end_at_sentences_and_fit_in_bytes() -> None:
    text = "第一句话说明了企业标准的公开要求。" * 20 + "\n\n" + "第二段继续说明。" * 30
    pieces = split_text(text, utf8_fits(300))
    assert all(len(p.encode("utf-8")) <= 300 for p in pieces)
    assert all(p.endswith(("。", "\n")) for p in pieces[:-1])
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


@given(st.text(min_size=0, max_size=3000), st.integers(min_value=4, max_value=400))
def test_nothing_is_lost_and_every_piece_fits(text: str, limit: int) -> None:
    pieces = split_text(text, chars_fit(limit))
    assert all(0 < len(p) <= limit for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
