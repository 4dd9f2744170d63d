"""The Chinese answer for a catalogue lookup, from prompts/catalogue_*.md: number, title, status, dates,
the editions held, replacements and adoptions (the national standard in force first, withdrawn ones
briefly after it); a number the catalogue lacks is pointed to the platform for its kind."""

from __future__ import annotations

from functools import cache
from string import Template

import prompts
from config.errors import StandardNumberError
from knowledge.catalogue import CURRENT, WITHDRAWN, CatalogueLookup, split_adoption_entry
from knowledge.standard_numbers import StandardNumber, parse_standard_number
from knowledge.types import CatalogueRecord


@cache
def label_file(name: str) -> dict[str, str]:
    """The ``name = text`` lines of prompts/<name>.md (``#`` lines are comments)."""
    labels = {}
    for line in prompts.load(name).splitlines():
        key, sep, text = line.partition("=")
        if sep and not line.startswith("#"):
            labels[key.strip()] = text.strip()
    return labels


def catalogue_labels() -> dict[str, str]:
    """The ``name = text`` lines of prompts/catalogue_labels.md."""
    return label_file("catalogue_labels")


def platform_kind(number: StandardNumber) -> str:
    """Which public platform lists standards like ``number``: enterprise (Q/), group (T/), local (DB),
    else national (GB, GB/T, industry codes, international)."""
    if number.prefix.startswith("Q/"):
        return "enterprise"
    if number.prefix.startswith("T/"):
        return "group"
    if number.prefix.startswith("DB") and number.prefix[2:3].isdigit():
        return "local"
    return "national"


def not_found_text(number: StandardNumber) -> str:
    """The catalogue lacks ``number``: say so, say where to check it, offer a person."""
    platforms = label_file("catalogue_platforms")
    kind = platform_kind(number)
    return prompts.render(
        "catalogue_not_found",
        number=number.canonical,
        kind=platforms.get(f"{kind}_kind", ""),
        platform=platforms[kind],
    )


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


def render_record(template: str, record: CatalogueRecord, **extra: object) -> str:
    """A prompts/ template filled with a record's number, title, kind, status and dates (and `extra`)."""
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
        **extra,
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
        return not_found_text(query)
    lines: list[str] = []
    found_keys = "、".join(dict.fromkeys(parse_standard_number(r.number).key for r in lookup.all_editions))
    if found_keys and found_keys != query.key:
        lines.append(prompts.render("catalogue_prefix_differs", asked=query.key, found=found_keys))
    if lookup.all_editions:
        lines.extend(_edition_lines(lookup, found_keys))
    if lookup.adopted_by:
        lines.extend(_adopter_lines(query, lookup.adopted_by))
    return "\n".join(lines)


def _adopted_entries(record: CatalogueRecord, query: StandardNumber) -> list[tuple[str, str | None]]:
    """The (international number, adoption type) entries of ``record`` for the standard asked about."""
    entries = []
    for entry in record.adopts:
        international, kind = split_adoption_entry(entry)
        try:
            if parse_standard_number(international).key == query.key:
                entries.append((international, kind))
        except StandardNumberError:
            continue
    return entries


def _adopter_text(record: CatalogueRecord, query: StandardNumber, *, brief: bool) -> str:
    """One adopting national standard: in full (title, kind, status, date, adoption) or, withdrawn,
    briefly (number, adoption, what replaced it); no closing punctuation, so texts join cleanly."""
    labels = catalogue_labels()
    entries = _adopted_entries(record, query) or [(query.canonical, None)]
    international, kind = entries[0]
    adoption = labels.get(f"adoption_{(kind or '').lower()}", labels["adoption_unknown"])
    if brief:
        replaced = (
            Template(labels["replaced_by"]).substitute(number=record.replaced_by)
            if record.replaced_by
            else ""
        )
        text = prompts.render(
            "catalogue_adopter_withdrawn",
            number=record.number,
            adoption=adoption,
            international=international,
            replaced=replaced,
        )
    else:
        text = render_record("catalogue_adopter", record, adoption=adoption, international=international)
    return text.rstrip("。；;，, ")


def _adopter_lines(query: StandardNumber, adopters: tuple[CatalogueRecord, ...]) -> list[str]:
    """National standards adopting ``query``: those in force first, withdrawn ones briefly after them;
    when only a withdrawn standard adopts the exact edition asked, it is named first."""

    def adopts_asked(record: CatalogueRecord) -> bool:
        years = {parse_standard_number(number).year for number, _ in _adopted_entries(record, query)}
        return query.year is None or query.year in years

    in_force = [r for r in adopters if r.status != WITHDRAWN]
    withdrawn = [r for r in adopters if r.status == WITHDRAWN]
    in_force.sort(key=lambda r: (not adopts_asked(r), r.status != CURRENT, r.number))
    exact_withdrawn = [r for r in withdrawn if adopts_asked(r)]
    current_text = "；".join(_adopter_text(r, query, brief=False) for r in in_force)
    if query.year is not None and exact_withdrawn and not any(adopts_asked(r) for r in in_force):
        others = [r for r in withdrawn if r not in exact_withdrawn]
        named = "；".join(_adopter_text(r, query, brief=True) for r in exact_withdrawn)
        lines = [prompts.render("catalogue_adopted_withdrawn_exact", number=query.canonical, records=named)]
        if current_text:
            lines.append(prompts.render("catalogue_adopted_now", records=current_text))
        withdrawn = others
    elif current_text:
        lines = [prompts.render("catalogue_adopted_by", number=query.canonical, records=current_text)]
    else:
        lines = []
    if withdrawn:
        brief = "；".join(_adopter_text(r, query, brief=True) for r in withdrawn)
        if lines:
            lines.append(f"{brief}。")
        else:
            lines.append(prompts.render("catalogue_adopted_by", number=query.canonical, records=brief))
    return lines


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
