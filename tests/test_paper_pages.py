"""The overview pages promise only what the chapters show: each item a page counts as measured ("fully", "partly")
has a section of its chapter named after it, every item carries one of the page's verdict words, and the intro's
summary table is the count of those verdicts."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"GCL": "gcl", "MARR": "marr", "angular": "angular", "LGLA": "lgla", "whitening": "whitening"}
KINDS = {"fully": "fully", "partly": "partly", "not": "not here", "diagram": "other", "descriptive": "other",
         "settings": "other"}


def items(chapter: str) -> list[tuple[str, int, str]]:
    """(Table or Fig, its number, verdict kind) for every row of the page's last table."""
    text = (ROOT / "book" / "papers" / f"{chapter}.md").read_text()
    _, _, table = text.partition("## What this chapter reproduces")
    rows = re.findall(r"^\| (Table|Fig\.) (\d+)\b[^|]*\| (\w+)", table, re.M)
    assert rows, f"{chapter}.md has no table under 'What this chapter reproduces'"
    return [(kind.rstrip("."), int(n), verdict) for kind, n, verdict in rows]


def sections(chapter: str) -> set[tuple[str, int]]:
    """The tables and figures the chapter's headings name ('Figures 1 and 3(a, b)' names Fig. 1 and Fig. 3)."""
    named = set()
    for line in (ROOT / "notebooks" / f"{chapter}.py").read_text().splitlines():
        if not line.startswith("# ##"):
            continue
        for m in re.finditer(r"(Table|Figure)s?\s+((?:\d+(?:\([a-z, ]+\))?(?:,\s*|\s+and\s+)?)+)", line):
            named |= {("Table" if m.group(1) == "Table" else "Fig", int(n)) for n in re.findall(r"\d+", m.group(2))}
    return named


@pytest.mark.parametrize("chapter", PAGES.values())
def test_every_item_the_page_counts_as_measured_has_its_section_in_the_chapter(chapter):
    found = sections(chapter)
    rows = items(chapter)
    assert all(verdict in KINDS for _, _, verdict in rows), rows
    claimed = [(kind, n) for kind, n, verdict in rows if verdict in ("fully", "partly")]
    assert claimed and not [c for c in claimed if c not in found], (
        f"{chapter}.md counts these as measured but the chapter has no section named after them: "
        f"{[c for c in claimed if c not in found]}")


def test_the_intros_summary_is_the_count_of_the_pages_verdicts():
    text = (ROOT / "book" / "intro.md").read_text()
    table = {}
    for m in re.finditer(r"^\| ([^|]+?) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", text, re.M):
        table[m.group(1)] = [int(m.group(i)) for i in range(2, 7)]
    total = [0] * 5
    for paper, chapter in PAGES.items():
        verdicts = [KINDS[v] for _, _, v in items(chapter)]
        counts = [len(verdicts)] + [verdicts.count(k) for k in ("fully", "partly", "not here", "other")]
        assert table.get(paper) == counts, (paper, table.get(paper), counts)
        total = [a + b for a, b in zip(total, counts)]
    assert table["all five"] == total


def test_the_intro_names_every_preset_and_no_overview_page_says_the_book_runs_at_one():
    """The chapters show their main tables at the longest preset recorded (long today) and the rest at cpu: the intro's
    Presets section names every preset a chapter can show, and an overview page says what the chapter shows without
    naming one preset for the whole book (a sentence recordings would make false)."""
    import re

    from ltnb.presets import PRESETS

    root = Path(__file__).resolve().parents[1] / "book"
    intro = (root / "intro.md").read_text()
    presets = intro[intro.index("## Presets"):intro.index("\n## ", intro.index("## Presets") + 5)]
    for name in PRESETS:
        assert f"`{name}`" in presets, name
    for page in (root / "papers").glob("*.md"):
        text = " ".join(page.read_text().split())
        assert not re.search(r"(The book runs|On Fashion-MNIST-LT)[^.]{0,40}at the `cpu` preset", text), page.name
