"""The Chinese answer for a catalogue lookup, from prompts/catalogue_*.md: number, title, status, dates,
the editions held, replacements and adoptions."""

from __future__ import annotations

from functools import cache
from string import Template

import prompts
from knowledge.catalogue import WITHDRAWN, CatalogueLookup, split_adoption_entry
from knowledge.standard_numbers import parse_standard_number
from knowledge.types import CatalogueRecord


@cache
def catalogue_labels() -> dict[str, str]:
    """The ``name = text`` lines of prompts/catalogue_labels.md."""
    labels = {}
    for line in prompts.load("catalogue_labels").splitlines():
        name, sep, text = line.partition("=")
        if sep and not line.startswith("#"):
            labels[name.strip()] = text.strip()
    return labels


def kind_label(record: CatalogueRecord) -> str:
    """强制性标准 / 推荐性标准 / 团体标准 / 指导性技术文件, from the record or else its number."""
    labels = catalogue_labels()
    number = parse_standard_number(record.number)
    if number.prefix.startswith("T/"):
        return labels["group"]
    if number.prefix.endswith("/Z"):
        return labels["guidance"]
    mandatory = record.mandatory if record.mandatory is not None else number.is_mandatory
    return {True: labels["mandatory"], False: labels["recommended"], None: ""}[mandatory]


def render_record(template: str, record: CatalogueRecord) -> str:
    """A prompts/ template filled with a record's number, title, kind, status and dates."""
    labels = catalogue_labels()
    kind = kind_label(record)
    return prompts.render(
        template,
        number=record.number,
        title=record.title,
        kind=f"（{kind}）" if kind else "",
        status=record.status,
        approval_date=record.approval_date or labels["unknown_date"],
        effective_date=record.effective_date or labels["unknown_date"],
    )


def _record_text(record: CatalogueRecord) -> str:
    labels = catalogue_labels()
    text = render_record("catalogue_found", record)
    if record.note:
        text += Template(labels["note"]).substitute(note=record.note.rstrip("。"))
    return text


def _adoption_text(record: CatalogueRecord) -> str:
    labels = catalogue_labels()
    parts = []
    for entry in record.adopts:
        international, kind = split_adoption_entry(entry)
        verb = labels.get(f"adoption_{(kind or '').lower()}", labels["adoption_unknown"])
        parts.append(
            prompts.render(
                "catalogue_adopts", number=record.number, adoption=verb, international=international
            )
        )
    return "".join(parts)


def describe_lookup(lookup: CatalogueLookup) -> str:
    """The Chinese answer for one lookup: number, title, status, dates, replacements and adoptions."""
    query = lookup.query
    if not lookup.all_editions and not lookup.adopted_by:
        return prompts.render("catalogue_not_found", number=query.canonical)
    lines: list[str] = []
    found_keys = "、".join(dict.fromkeys(parse_standard_number(r.number).key for r in lookup.all_editions))
    if found_keys and found_keys != query.key:
        lines.append(prompts.render("catalogue_prefix_differs", asked=query.key, found=found_keys))
    if not lookup.all_editions:
        lines.append(prompts.render("catalogue_international", number=query.canonical))
    else:
        lines.extend(_edition_lines(lookup, found_keys))
    if lookup.adopted_by:
        adopters = "；".join(_record_text(r) + _adoption_text(r) for r in lookup.adopted_by)
        lines.append(prompts.render("catalogue_adopted_by", number=query.canonical, records=adopters))
    return "\n".join(lines)


def _edition_lines(lookup: CatalogueLookup, key: str) -> list[str]:
    """The editions held, the edition asked about with its replacements, and the one in force."""
    lines = []
    editions = "、".join(f"{r.number}（{r.status}）" for r in lookup.all_editions)
    if lookup.query.year is not None and not lookup.editions:
        number = lookup.query.canonical
        lines.append(prompts.render("catalogue_edition_not_found", number=number, editions=editions))
    elif lookup.query.year is None and len(lookup.all_editions) > 1:
        count = len(lookup.all_editions)
        lines.append(prompts.render("catalogue_editions", key=key, count=count, editions=editions))
    edition = lookup.edition
    if edition is not None:
        lines.append(_record_text(edition) + _adoption_text(edition))
        lines.extend(_replacement_lines(edition, lookup.successors))
    current = lookup.current
    if current is not None and current is not edition:
        effective_date = current.effective_date or catalogue_labels()["unknown_date"]
        text = prompts.render(
            "catalogue_current", number=current.number, title=current.title, effective_date=effective_date
        )
        lines.append(text + _adoption_text(current))
    return lines


def _replacement_lines(record: CatalogueRecord, successors: tuple[CatalogueRecord, ...]) -> list[str]:
    """ "A 已被 B 代替" along the chain, "A 将被 B 代替" while B is not in force yet, what A replaced."""
    lines = []
    chain = (record, *successors)
    for old, new in zip(chain, successors, strict=False):
        if old.status != WITHDRAWN:
            effective = new.effective_date or catalogue_labels()["unknown_date"]
            lines.append(
                prompts.render(
                    "catalogue_to_be_replaced",
                    number=old.number,
                    replaced_by=new.number,
                    effective_date=effective,
                )
            )
            break
        lines.append(prompts.render("catalogue_replaced", number=old.number, replaced_by=new.number))
    last = chain[-1]
    if last.replaced_by and last.replaced_by not in {
        r.number for r in chain
    }:  # successor not in the catalogue
        name = "catalogue_replaced" if last.status == WITHDRAWN else "catalogue_to_be_replaced_unknown"
        lines.append(prompts.render(name, number=last.number, replaced_by=last.replaced_by))
    if record.replaces:
        lines.append(prompts.render("catalogue_replaces", number=record.number, replaces=record.replaces))
    return lines
