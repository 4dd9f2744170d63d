"""HTML pages read with BeautifulSoup (html.parser): scripts, styles and navigation are dropped,
headings kept, table rows turned into `cell | cell` lines."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup, Tag

from ingest.documents import Block, SourceDocument, make_document, read_text, split_front_matter
from ingest.loaders.markdown import text_blocks

DROP = ("script", "style", "nav", "noscript", "template", "iframe", "svg", "form", "button")
BLOCK_TAGS = (
    "p", "div", "li", "ul", "ol", "section", "article", "main", "header", "footer", "aside", "pre",
    "blockquote", "dt", "dd", "table", "tr", "caption", "figcaption", "address", "body",
)  # fmt: skip
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def load_html(path: Path) -> SourceDocument:
    """An HTML page as headings and paragraphs; the title is its <h1>, else its <title>."""
    meta, markup = split_front_matter(read_text(path))
    soup = BeautifulSoup(markup, "html.parser")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(DROP):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    first_h1 = soup.find("h1")
    h1 = first_h1.get_text(" ", strip=True) if first_h1 else ""
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for row in soup.find_all("tr"):
        cells = [" ".join(cell.get_text(" ").split()) for cell in row.find_all(("td", "th"))]
        row.replace_with("\n" + " | ".join(cell for cell in cells if cell) + "\n")
    for heading in soup.find_all(HEADINGS):
        level = int(heading.name[1])
        heading.replace_with("\n" + "#" * level + " " + " ".join(heading.get_text(" ").split()) + "\n")
    for tag in soup.find_all(BLOCK_TAGS):
        if isinstance(tag, Tag):
            tag.insert_before("\n")
            tag.append("\n")
    blocks: tuple[Block, ...] = tuple(text_blocks(soup.get_text(), markdown=True))
    return make_document(path, blocks, title=h1 or page_title or None, meta=meta)
