"""One retrievable chunk per catalogue record, its text from prompts/catalogue_chunk.md and the labels."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from string import Template

from knowledge.catalogue import split_adoption_entry
from knowledge.catalogue_answer import catalogue_labels, render_record
from knowledge.types import CatalogueRecord, Chunk


def catalogue_chunks(records: Iterable[CatalogueRecord], path: str | Path) -> list[Chunk]:
    """One retrievable chunk per record; ids depend only on the file's stem and the number."""
    path = Path(path)
    chunks = []
    for record in records:
        text = _chunk_text(record)
        digest = hashlib.sha1(f"{path.stem}\n{record.number}".encode()).hexdigest()[:16]
        chunks.append(
            Chunk(
                id=f"cat:{digest}",
                text=text,
                source=record.source or path.stem,
                kind="catalog",
                path=path.as_posix(),
                clauses=(),
                standards=_standards(record),
                standard=record.number,
                date=record.effective_date,
                status=record.status,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
            )
        )
    return chunks


def _standards(record: CatalogueRecord) -> tuple[str, ...]:
    """The record's own number and the international numbers it adopts (without adoption types)."""
    return tuple(dict.fromkeys((record.number, *(split_adoption_entry(e)[0] for e in record.adopts))))


def _chunk_text(record: CatalogueRecord) -> str:
    labels = catalogue_labels()
    pieces = [render_record("catalogue_chunk", record)]
    if record.replaces:
        pieces.append(Template(labels["chunk_replaces"]).substitute(number=record.replaces))
    if record.replaced_by:
        pieces.append(Template(labels["chunk_replaced_by"]).substitute(number=record.replaced_by))
    for entry in record.adopts:
        international, adoption_type = split_adoption_entry(entry)
        verb = labels.get(f"adoption_{(adoption_type or '').lower()}", labels["adoption_unknown"])
        pieces.append(Template(labels["chunk_adopts"]).substitute(adoption=verb, international=international))
    if record.category:
        pieces.append(Template(labels["chunk_category"]).substitute(category=record.category))
    if record.note:
        pieces.append(Template(labels["note"]).substitute(note=record.note.rstrip("。")))
    return "".join(pieces)
