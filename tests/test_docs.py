"""The domain page the code cites is in the repository, with every section it cites."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"docs/domain\.md §(\d+)")


def _sources():
    for folder in ("app", "tests", "bench"):
        yield from (ROOT / folder).rglob("*.py")


def test_every_cited_section_of_the_domain_page_exists():
    headings = re.findall(r"^## (\d+)\. ", (ROOT / "docs/domain.md").read_text(), re.MULTILINE)
    cited = {
        (path.relative_to(ROOT).as_posix(), section)
        for path in _sources()
        for section in CITATION.findall(path.read_text())
    }
    assert len(cited) >= 10
    assert {(path, s) for path, s in cited if s not in headings} == set()


def test_no_code_cites_a_page_the_repository_lacks():
    stale = [
        path.relative_to(ROOT).as_posix()
        for path in _sources()
        if "DOMAIN" + ".md" in path.read_text()
    ]
    assert stale == []
