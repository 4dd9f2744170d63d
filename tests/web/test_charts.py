"""The SVG charts, parsed as XML: bars, their heights, axis ticks, labels and escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.web.charts import HEIGHT, Series, bar_chart, nice_ticks, stacked_bar_chart, text_width

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]


def texts(root: ET.Element, css_class: str) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}text") if e.get("class") == css_class]


def height(bar: ET.Element) -> float:
    return float(bar.get("height", "nan"))


def tooltip(element: ET.Element) -> str:
    found = element.find(f"{SVG}title")
    assert found is not None
    return found.text or ""


def test_bar_heights_are_proportional_to_the_values() -> None:
    root = parse(
        bar_chart("每日问题数", ["6/1", "6/2", "6/3", "6/4"], Series("问题", (2, 0, 8, 4), "#1565c0"))
    )
    drawn = bars(root)
    assert [b.get("data-category") for b in drawn] == ["6/1", "6/3", "6/4"]  # no bar for a zero
    assert [b.get("data-value") for b in drawn] == ["2", "8", "4"]
    assert height(drawn[1]) == pytest.approx(4 * height(drawn[0]))
    assert height(drawn[2]) == pytest.approx(2 * height(drawn[0]))
    bottoms = {round(float(b.get("y", "0")) + height(b), 3) for b in drawn}
    assert len(bottoms) == 1 and bottoms.pop() < HEIGHT  # all standing on the same axis
    assert texts(root, "y-label") == ["0", "2", "4", "6", "8"]
    assert texts(root, "x-label") == ["6/1", "6/2", "6/3", "6/4"]
    assert tooltip(drawn[1]) == "6/3：8"


def test_the_chart_is_an_accessible_image() -> None:
    root = parse(bar_chart("每日问题数", ["6/1"], Series("问题", (3,), "#1565c0")))
    assert root.get("role") == "img" and root.get("aria-label") == "每日问题数"
    assert root[0].tag == f"{SVG}title" and root[0].text == "每日问题数"
    assert root.get("viewBox") == "0 0 720 240"


def test_stacked_segments_sit_on_each_other_with_a_legend() -> None:
    answered = Series("机器人回答", (3, 1), "#1b6e3a")
    escalated = Series("转人工", (1, 0), "#b3261e", value_labels=("25%（1 个）", "0%（0 个）"))
    root = parse(stacked_bar_chart("回答与转人工", ["6/1", "6/2"], [answered, escalated]))
    first_day = [b for b in bars(root) if b.get("data-category") == "6/1"]
    bottom, top = first_day
    assert [b.get("data-series") for b in first_day] == ["机器人回答", "转人工"]
    assert float(top.get("y", "0")) + height(top) == pytest.approx(float(bottom.get("y", "0")))
    assert height(bottom) == pytest.approx(3 * height(top))
    assert tooltip(top) == "6/1 · 转人工：25%（1 个）"
    legend = [
        e.text for g in root.iter(f"{SVG}g") if g.get("class") == "legend" for e in g.iter(f"{SVG}text")
    ]
    assert legend == ["机器人回答", "转人工"]


def test_labels_are_escaped() -> None:
    evil = "<script>alert(1)</script>"
    svg = stacked_bar_chart(f"标题{evil}", [evil, "6/2"], [Series(f"系列{evil}", (1, 2), '"red')])
    assert "<script>" not in svg
    root = parse(svg)  # still well-formed XML
    assert root.get("aria-label") == f"标题{evil}" and root[0].text == f"标题{evil}"
    assert texts(root, "x-label")[0] == evil
    assert bars(root)[0].get("data-series") == f"系列{evil}" and bars(root)[0].get("fill") == '"red'
    assert tooltip(bars(root)[0]) == f"{evil} · 系列{evil}：1"


def test_an_empty_chart_says_so() -> None:
    root = parse(
        bar_chart("每日问题数", ["6/1", "6/2"], Series("问题", (0, 0), "#1565c0"), empty_note="暂无数据")
    )
    assert bars(root) == []
    assert texts(root, "empty") == ["暂无数据"]
    assert texts(root, "y-label") == ["0", "1"]
    assert texts(parse(bar_chart("空", [], Series("问题", (), "#000"))), "x-label") == []


def test_shares_run_to_one_hundred_percent() -> None:
    root = parse(bar_chart("回答率", ["6/1"], Series("回答率", (40,), "#1b6e3a"), unit="%", at_least=100))
    assert texts(root, "y-label") == ["0%", "25%", "50%", "75%", "100%"]
    assert tooltip(bars(root)[0]) == "6/1：40%"


def test_ninety_days_get_a_readable_number_of_day_labels() -> None:
    days = [f"d{n}" for n in range(90)]
    labels = texts(parse(bar_chart("90 天", days, Series("问题", tuple(range(90)), "#000"))), "x-label")
    assert 6 <= len(labels) <= 12 and labels[-1] == "d89"  # today is always labelled


def test_values_must_match_the_categories() -> None:
    with pytest.raises(ValueError, match="2 values for 3 bars"):
        bar_chart("x", ["a", "b", "c"], Series("s", (1, 2), "#000"))


@pytest.mark.parametrize(
    ("top", "integer", "expected"),
    [
        (0, True, [0, 1]),
        (1, True, [0, 1]),
        (3, True, [0, 1, 2, 3]),
        (7, True, [0, 2, 4, 6, 8]),
        (37, True, [0, 10, 20, 30, 40]),
        (100, True, [0, 25, 50, 75, 100]),
        (1234, True, [0, 500, 1000, 1500]),
        (0.8, False, [0, 0.2, 0.4, 0.6, 0.8]),
    ],
)
def test_nice_ticks(top: float, integer: bool, expected: list[float]) -> None:
    assert nice_ticks(top, integer=integer) == pytest.approx(expected)


def test_chinese_text_is_wider_than_latin() -> None:
    assert text_width("转人工") == 36 and text_width("abc") < 36
