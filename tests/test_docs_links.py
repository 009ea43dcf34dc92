"""The README and docs/ carry their own documentation: every link in them resolves inside the repository."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target "title"), ![alt](target) and reference definitions [label]: target
INLINE = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?")
AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)


def prose(text: str) -> str:
    """The Markdown without its code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def references(text: str) -> list[str]:
    """Targets of reference definitions, which start a block: they cannot interrupt a paragraph."""
    found, previous = [], ""
    for line in text.splitlines():
        match = REFERENCE.fullmatch(line)
        if match and (not previous.strip() or REFERENCE.fullmatch(previous)):
            found.append(match.group(1))
        previous = line
    return found


def links_in(markdown: str) -> list[str]:
    text = prose(markdown)
    return [*INLINE.findall(text), *references(text), *AUTOLINK.findall(text)]


def links(document: Path) -> list[str]:
    return links_in(document.read_text(encoding="utf-8"))


def anchors(document: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*#*$", prose(document.read_text(encoding="utf-8")), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def broken(document: Path, target: str) -> str | None:
    """Why ``target``, linked from ``document``, does not resolve inside the repository, or None."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("//"):
        return "points outside the repository"
    path_part, _, anchor = target.partition("#")
    resolved = (document.parent / unquote(path_part)).resolve() if path_part else document
    if not resolved.is_relative_to(ROOT):
        return "points outside the repository"
    if not resolved.exists():
        return "no such file"
    if anchor and resolved.suffix == ".md" and resolved.is_file() and anchor not in anchors(resolved):
        return f"no heading #{anchor} in {resolved.relative_to(ROOT)}"
    return None


def test_the_readme_links_to_the_architecture_and_api_docs():
    assert {"docs/architecture.md", "docs/api.md"} <= set(links(ROOT / "README.md"))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(document):
    problems = {target: why for target in links(document) if (why := broken(document, target))}
    assert problems == {}


@pytest.mark.parametrize(("target", "why"), [
    ("https://example.com/", "points outside the repository"),
    ("http://example.com/", "points outside the repository"),
    ("mailto:hr@example.com", "points outside the repository"),
    ("//example.com/x", "points outside the repository"),
    ("../../shared/DESIGN.md", "points outside the repository"),
    ("docs/missing.md", "no such file"),
    ("docs/anonymity.md#no-such-heading", "no heading #no-such-heading in docs/anonymity.md"),
    ("docs/anonymity.md", None),
    ("bench/README.md", None),
    ("#api", None),
])
def test_the_checker_refuses_what_a_clone_cannot_follow(target, why):
    assert broken(ROOT / "README.md", target) == why


def test_links_are_found_in_every_markdown_form_but_not_in_code():
    text = ("[a](one.md) ![b](two.png \"t\") <https://x.example> `[c](three.md)`\n\n[d]: four.md\n[e]: five.md\n"
            "```\n[f](six.md)\n```\nA paragraph that goes on\n[`g`, `h`]: is prose, not a definition\n")
    assert links_in(text) == ["one.md", "two.png", "four.md", "five.md", "https://x.example"]
