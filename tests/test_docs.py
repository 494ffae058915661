"""The documentation's relative links resolve, anchors included, and ``docs/`` holds only files the docs link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")


def heading_anchors(page: Path) -> set[str]:
    """GitHub's anchors of a Markdown page: each heading lower-cased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # a '#' comment in a code block is no heading
    headings = re.findall(r"^#{1,6} (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-") for heading in headings}


def relative_links(page: Path) -> list[str]:
    return [link for link in LINK.findall(page.read_text()) if not re.match(r"[a-z]+:", link)]


def test_anchor_rule_matches_github():
    page = ROOT / "docs" / "results.md"
    assert {"rl3-vs-rl2", "make-demo", "the-rl2-column"} <= heading_anchors(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_relative_links_resolve(page):
    broken = []
    for link in relative_links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(link)
        elif anchor and target.suffix == ".md" and anchor not in heading_anchors(target):
            broken.append(link)
    assert broken == [], f"{page.name}: links to missing files or headings: {broken}"


def test_every_docs_file_is_linked():
    linked = {(page.parent / link.partition("#")[0]).resolve() for page in PAGES for link in relative_links(page)}
    unlinked = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "docs").rglob("*")
        if path.is_file() and path.resolve() not in linked
    ]
    assert unlinked == [], f"files in docs/ that no page links: {unlinked}"
