"""Which sources a question names: a law's short name, or a place that points to a local regulation."""

from __future__ import annotations

import re
from collections.abc import Iterable

_STATE_PREFIX = "中华人民共和国"
_PLACE = re.compile(r"^(.{2,3}?)(?:省|市|自治区|特别行政区)")


def short_name(title: str) -> str:
    """中华人民共和国标准化法 → 标准化法; 《企业标准化促进办法》 → 企业标准化促进办法."""
    title = title.strip("《》 ")
    return title.removeprefix(_STATE_PREFIX)


def place_of(title: str) -> str | None:
    """上海市标准化条例 → 上海; None for national sources."""
    match = _PLACE.match(short_name(title))
    return match.group(1) if match else None


class SourceNames:
    """Finds the sources a question names, preferring the longest name at each place."""

    def __init__(self, titles: Iterable[str]) -> None:
        unique = set(titles)
        names: dict[str, set[str]] = {}
        for title in unique:
            name = short_name(title)
            if len(name) >= 3:
                names.setdefault(name, set()).add(title)
        self._names = sorted(names.items(), key=lambda item: -len(item[0]))
        self._places = {title: place for title in unique if (place := place_of(title))}

    def named_in(self, question: str) -> set[str]:
        """Titles whose short name appears in the question (a longer name hides a shorter one inside it)."""
        found: set[str] = set()
        covered: list[tuple[int, int]] = []
        for name, titles in self._names:
            start = question.find(name)
            while start != -1:
                end = start + len(name)
                if not any(s <= start and end <= e for s, e in covered):
                    covered.append((start, end))
                    found |= titles
                start = question.find(name, start + 1)
        return found

    def places_in(self, question: str) -> set[str]:
        """Places of local sources that the question mentions."""
        return {place for place in self._places.values() if place in question}

    def place(self, title: str) -> str | None:
        return self._places.get(title)
