"""Bar charts as inline SVG, drawn on the server: pure functions from typed data to an SVG string.

Every text is escaped here, so the result can go into a page as it is. Charts scale to their container
(viewBox); each bar carries a <title> (the browser's tooltip) and the chart a <title> and aria-label."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH = 720
HEIGHT = 240
LEFT = 48
RIGHT = 12
TOP = 30
BOTTOM = 30
FONT_PX = 12
MAX_X_LABELS = 12
BAR_SHARE = 0.72  # of each category's slot
MAX_BAR_WIDTH = 56.0
AXIS_COLOUR = "#6b7785"
GRID_COLOUR = "#e3e7eb"


@dataclass(frozen=True)
class Series:
    """One kind of bar: its name for the legend, one value per category, its colour, and optionally how
    each value reads in the tooltip (e.g. "62%（5 个）"; the value itself otherwise)."""

    name: str
    values: tuple[float, ...]
    colour: str
    value_labels: tuple[str, ...] = field(default=())


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Series,
    *,
    unit: str = "",
    at_least: float | None = None,
    empty_note: str | None = None,
) -> str:
    """One bar per category; the y axis reaches at least `at_least` (e.g. 100 for shares in %)."""
    return _Chart(title, tuple(categories), (series,), unit, at_least, empty_note, legend=False).svg()


def stacked_bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "",
    at_least: float | None = None,
    empty_note: str | None = None,
) -> str:
    """One bar per category, the series stacked bottom-up in the order given, with a legend above."""
    return _Chart(title, tuple(categories), tuple(series), unit, at_least, empty_note, legend=True).svg()


def nice_ticks(top: float, *, integer: bool = True, target: int = 4) -> list[float]:
    """Axis ticks from 0 to at least `top` in steps of 1, 2, 2.5 or 5 times a power of ten, about
    `target` steps; counts (integer) never get fractional steps."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for multiple in (1, 2, 2.5, 5):
        candidate = multiple * magnitude
        if candidate >= raw and not (integer and candidate != int(candidate)):
            step = candidate
            break
    if integer:
        step = max(step, 1.0)
    steps = math.ceil(top / step - 1e-9)
    return [round(n * step, 10) for n in range(steps + 1)]


def text_width(text: str, font_px: float = FONT_PX) -> float:
    """About how wide `text` is drawn: full width for Chinese characters, a bit over half for the rest."""
    return sum(font_px if ord(c) > 0x2E7F else font_px * 0.6 for c in text)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


class _Chart:
    def __init__(
        self,
        title: str,
        categories: tuple[str, ...],
        series: tuple[Series, ...],
        unit: str,
        at_least: float | None,
        empty_note: str | None,
        *,
        legend: bool,
    ) -> None:
        for one in series:
            if len(one.values) != len(categories):
                raise ValueError(
                    f"series {one.name!r} has {len(one.values)} values for {len(categories)} bars"
                )
        self.title, self.categories, self.series = title, categories, series
        self.unit, self.empty_note, self.legend = unit, empty_note, legend
        totals = [sum(max(s.values[i], 0.0) for s in series) for i in range(len(categories))]
        self.total = sum(totals)
        integer = all(float(v).is_integer() for s in series for v in s.values)
        self.ticks = nice_ticks(max([at_least or 0.0, *totals]), integer=integer)
        self.top = self.ticks[-1]
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM

    def y(self, value: float) -> float:
        return TOP + self.plot_h * (1 - value / self.top)

    def svg(self) -> str:
        title = escape(self.title)
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'role="img" aria-label="{title}" font-size="{FONT_PX}">',
            f"<title>{title}</title>",
            *self._grid(),
            *self._bars(),
            *self._x_labels(),
            *(self._legend() if self.legend else ()),
        ]
        if self.total == 0 and self.empty_note:
            parts.append(
                f'<text class="empty" x="{LEFT + self.plot_w / 2:g}" y="{TOP + self.plot_h / 2:g}" '
                f'text-anchor="middle" fill="{AXIS_COLOUR}" stroke="#fff" stroke-width="6" '
                f'paint-order="stroke">{escape(self.empty_note)}</text>'
            )
        parts.append("</svg>")
        return "\n".join(parts)

    def _grid(self) -> list[str]:
        lines = []
        for tick in self.ticks:
            y = _fmt(self.y(tick))
            colour = AXIS_COLOUR if tick == 0 else GRID_COLOUR
            lines.append(
                f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="{colour}"/>'
            )
            lines.append(
                f'<text class="y-label" x="{LEFT - 6}" y="{y}" dy="0.35em" text-anchor="end" '
                f'fill="{AXIS_COLOUR}">{escape(_number(tick) + self.unit)}</text>'
            )
        return lines

    def _bars(self) -> list[str]:
        if not self.categories:
            return []
        slot = self.plot_w / len(self.categories)
        width = min(max(slot * BAR_SHARE, 1.0), MAX_BAR_WIDTH)
        bars = []
        for index, category in enumerate(self.categories):
            x = LEFT + slot * index + (slot - width) / 2
            base = 0.0
            for one in self.series:
                value = max(one.values[index], 0.0)
                if value == 0:
                    continue
                y_top, y_bottom = self.y(base + value), self.y(base)
                base += value
                shown = one.value_labels[index] if one.value_labels else _number(value) + self.unit
                tip = f"{category} · {one.name}：{shown}" if self.legend else f"{category}：{shown}"
                bars.append(
                    f'<rect class="bar" x="{_fmt(x)}" y="{_fmt(y_top)}" width="{_fmt(width)}" '
                    f'height="{_fmt(y_bottom - y_top)}" fill="{escape(one.colour)}" '
                    f'data-series="{escape(one.name)}" data-category="{escape(category)}" '
                    f'data-value="{_fmt(value)}"><title>{escape(tip)}</title></rect>'
                )
        return bars

    def _x_labels(self) -> list[str]:
        count = len(self.categories)
        if not count:
            return []
        slot = self.plot_w / count
        every = math.ceil(count / MAX_X_LABELS)
        labels = []
        for index, category in enumerate(self.categories):
            if (count - 1 - index) % every:
                continue
            x = _fmt(LEFT + slot * (index + 0.5))
            labels.append(
                f'<text class="x-label" x="{x}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'fill="{AXIS_COLOUR}">{escape(category)}</text>'
            )
        return labels

    def _legend(self) -> list[str]:
        items, x = [], float(LEFT)
        for one in self.series:
            items.append(
                f'<g class="legend"><rect x="{_fmt(x)}" y="8" width="10" height="10" rx="2" '
                f'fill="{escape(one.colour)}"/><text x="{_fmt(x + 14)}" y="13" dy="0.35em" '
                f'fill="#1f2933">{escape(one.name)}</text></g>'
            )
            x += 14 + text_width(one.name) + 18
        return items
