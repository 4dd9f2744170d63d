"""Edition follow-ups: "那2008版呢", "2008年那版", "旧版呢", "新版呢" after a standard number earlier in the
conversation become that edition's number (GB/T 19001-2008). Words: prompts/catalogue_edition_words.md."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

from config.errors import StandardNumberError
from knowledge.catalogue import Catalogue, split_adoption_entry
from knowledge.intent import contains_keyword, load_keyword_sections, longest_first, normalise_for_matching
from knowledge.standard_numbers import StandardNumber, find_standard_numbers, parse_standard_number

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2}|\d{2})(?!\d)")


@dataclass(frozen=True)
class EditionWords:
    """Words that mark a year as an edition, ask for the older or the newer edition, and the length
    beyond which a message is a question of its own."""

    year_markers: tuple[str, ...]
    older: tuple[str, ...]
    newer: tuple[str, ...]
    max_chars: int

    @classmethod
    @cache
    def load(cls, name: str = "catalogue_edition_words") -> EditionWords:
        sections = load_keyword_sections(name)
        limit = sections.get("max_chars", ("24",))[0]
        return cls(
            sections.get("year_markers", ()),
            longest_first(sections.get("older", ())),
            longest_first(sections.get("newer", ())),
            int(limit) if limit.isdigit() else 24,
        )


def _asked_year(text: str, words: EditionWords) -> str | None:
    """The four-digit year a follow-up names as an edition ("2008版", "08版", "2008年那版")."""
    for match in _YEAR.finditer(text):
        after = text[match.end() :].lstrip()
        short = len(match[1]) == 2
        if any(after.startswith(marker) for marker in words.year_markers) or (not short and not after):
            year = match[1]
            return year if not short else ("19" if int(year) >= 50 else "20") + year
    return None


def _editions(number: StandardNumber, catalogue: Catalogue) -> list[StandardNumber]:
    """Every edition of `number` the catalogue knows, newest first: national editions held, or the
    editions of an international standard that national standards adopt."""
    if number.is_chinese:
        return [parse_standard_number(r.number) for r in catalogue.lookup(number).all_editions]
    found: dict[str, StandardNumber] = {}
    for record in catalogue.lookup(replace(number, year=None, amendments=())).adopted_by:
        for entry in record.adopts:
            try:
                adopted = parse_standard_number(split_adoption_entry(entry)[0])
            except StandardNumberError:
                continue
            if adopted.key == number.key and adopted.year:
                found.setdefault(adopted.year, adopted)
    return [found[year] for year in sorted(found, reverse=True)]


def _neighbour(number: StandardNumber, catalogue: Catalogue, *, older: bool) -> StandardNumber | None:
    editions = _editions(number, catalogue) or [number]
    if not older:
        newest = editions[0]
        if newest.year != number.year:
            return newest
        successors = catalogue.lookup(number).successors if number.is_chinese else ()
        return parse_standard_number(successors[-1].number) if successors else None
    years = [edition.year for edition in editions]
    if number.year in years:
        index = years.index(number.year)
        return editions[index + 1] if index + 1 < len(editions) else None
    current = catalogue.lookup(number).current if number.is_chinese else None
    start = years.index(parse_standard_number(current.number).year) if current is not None else 0
    return editions[start + 1] if start + 1 < len(editions) else None


def resolve_edition(
    text: str,
    previous_numbers: Sequence[str],
    catalogue: Catalogue | None = None,
    words: EditionWords | None = None,
) -> str | None:
    """The edition a short follow-up asks about, as a canonical number, or None.

    `previous_numbers` are the standard numbers named earlier in the conversation, newest first. A
    year ("那2008版呢") needs no catalogue; "旧版呢" / "新版呢" need one to know the editions. A message
    that names a number itself, or is longer than a follow-up, is not an edition follow-up."""
    words = words or EditionWords.load()
    normalised = normalise_for_matching(text)
    if not previous_numbers or len(normalised) > words.max_chars or find_standard_numbers(text):
        return None
    try:
        number = parse_standard_number(previous_numbers[0])
    except StandardNumberError:
        return None
    if (year := _asked_year(normalised, words)) is not None:
        if number.year == year:
            return None
        return replace(number, year=year, amendments=()).canonical
    if catalogue is None:
        return None
    if any(contains_keyword(normalised, word) for word in words.older):
        found = _neighbour(number, catalogue, older=True)
    elif any(contains_keyword(normalised, word) for word in words.newer):
        found = _neighbour(number, catalogue, older=False)
    else:
        return None
    return found.canonical if found is not None else None


def with_edition(topic: str, edition: str) -> str:
    """The conversation's topic asked of another edition: the standard number it names replaced by
    `edition` ("GB/T 19001-2016 还有效吗" → "GB/T 19001-2008 还有效吗"), or the edition alone."""
    matches = find_standard_numbers(topic)
    if not matches:
        return edition
    first = matches[0]
    return f"{topic[: first.start]}{edition}{topic[first.end :]}"
