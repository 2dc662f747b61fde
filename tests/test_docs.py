"""The README and the pages under docs/ point at things that exist.

Every relative link and picture leads to a file (and an ``#anchor`` to a heading of
it); every ``make X`` they name is a target of the Makefile, every
``python -m digits CMD`` a command that ``python -m digits --help`` lists, and every
file of the repository they name in code (``digits/nn/layers.py``) is there.  The
README stays a front door, under 12,500 characters, that names every make target and
command and leads to every page.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_LIMIT = 12_500

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M)
EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)
MAKE = re.compile(r"(?:^|[\s;&|(])make[ \t]+([a-z][a-z0-9_-]*)", re.M)
DIGITS_COMMAND = re.compile(r"(?:python3? -m digits|^digits)[ \t]+([a-z][a-z0-9_-]*)", re.M)
# A file of the repository named in code: digits/..., scripts/..., tests/..., docs/...
REPO_PATH = re.compile(r"(?<![\w./-])((?:digits|scripts|tests|docs)/[\w./-]*[\w/])")


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """The text outside code blocks and code spans (where links are links)."""
    return CODE_SPAN.sub(" ", FENCE.sub("\n", text))


def code(text: str) -> str:
    """The text of the code blocks and code spans, one span per line."""
    blocks = [match.group(0) for match in FENCE.finditer(text)]
    spans = [match.group(2) for match in CODE_SPAN.finditer(FENCE.sub("\n", text))]
    return "\n".join(blocks + spans)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)      # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    found, seen = set(), {}
    for heading in HEADING.findall(FENCE.sub("\n", text)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found | set(EXPLICIT_ANCHOR.findall(text))


def broken_links(page: Path) -> list[str]:
    """Each relative link or picture of ``page`` whose file (or heading) is not there."""
    broken = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):     # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.name}")
    return broken


def makefile_targets(makefile: Path) -> set[str]:
    targets = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.][A-Za-z0-9_. -]*?)\s*:(?!=)", line)
        if match and not match.group(1).startswith("."):
            targets.update(match.group(1).split())
    return targets


def make_targets_named(text: str) -> set[str]:
    return set(MAKE.findall(code(text)))


def commands_named(text: str) -> set[str]:
    return set(DIGITS_COMMAND.findall(code(text)))


def paths_named(text: str) -> set[str]:
    """Repository files named in code, leaving out placeholders (NAME, <id>, X)."""
    return {path for path in REPO_PATH.findall(code(text))
            if not re.search(r"[A-Z]{2,}|<|\bX\b|_X\b", path)}


@lru_cache(maxsize=1)
def digits_commands() -> frozenset[str]:
    """The commands that ``python -m digits --help`` lists."""
    result = subprocess.run([sys.executable, "-m", "digits", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"python -m digits --help failed:\n{result.stderr}"
    listed = re.findall(r"^ {4}([a-z][a-z0-9_-]*) {2,}\S", result.stdout, re.M)
    assert listed, f"no commands found in:\n{result.stdout}"
    return frozenset(listed)


PAGES = pages()
IDS = [str(page.relative_to(ROOT)) for page in PAGES]


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_link_and_picture_leads_to_a_file_that_exists(page):
    assert broken_links(page) == []


def test_the_readme_stays_a_front_door():
    length = len((ROOT / "README.md").read_text(encoding="utf-8"))
    assert length < README_LIMIT, (f"README.md is {length:,} characters; move detail to a page "
                                   f"under docs/ (the limit is {README_LIMIT:,})")


def pages_reached(start: Path) -> set[Path]:
    """The Markdown pages that links lead to from ``start``, following them page to page."""
    reached, waiting = set(), [start.resolve()]
    while waiting:
        page = waiting.pop()
        if page in reached or not page.exists():
            continue
        reached.add(page)
        for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
            path = target.partition("#")[0]
            if path.endswith(".md") and not re.match(r"^[a-z][a-z0-9+.-]*:", path, re.I):
                waiting.append((page.parent / path).resolve())
    return reached


def test_every_page_under_docs_is_reached_from_the_readme():
    reached = pages_reached(ROOT / "README.md")
    missing = [page.name for page in PAGES[1:] if page.resolve() not in reached]
    assert missing == [], f"no link leads from README.md to {missing}: add them to its list of pages"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_make_target_named_is_a_target_of_the_makefile(page):
    unknown = make_targets_named(page.read_text(encoding="utf-8")) - makefile_targets(ROOT / "Makefile")
    assert unknown == set(), f"make targets that the Makefile does not have: {sorted(unknown)}"


def test_the_readme_names_every_target_of_the_makefile():
    internal = {"venv"}             # made on the way by every other target
    unnamed = makefile_targets(ROOT / "Makefile") - internal - make_targets_named(
        (ROOT / "README.md").read_text(encoding="utf-8"))
    assert unnamed == set(), f"README.md's table of make targets lacks {sorted(unnamed)}"


def test_the_readme_names_every_command_of_digits():
    unnamed = digits_commands() - commands_named((ROOT / "README.md").read_text(encoding="utf-8"))
    assert unnamed == set(), f"README.md's table of commands lacks {sorted(unnamed)}"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_command_named_is_a_command_of_digits(page):
    unknown = commands_named(page.read_text(encoding="utf-8")) - digits_commands()
    assert unknown == set(), f"python -m digits has no commands {sorted(unknown)}"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_file_of_the_repository_named_in_code_exists(page):
    missing = sorted(path for path in paths_named(page.read_text(encoding="utf-8"))
                     if not (ROOT / path).exists())
    assert missing == [], f"files named that are not in the repository: {missing}"


# -- the checks themselves find what they are for ---------------------------------------

def write_pages(root: Path, readme: str, **docs: str) -> None:
    (root / "docs").mkdir()
    (root / "README.md").write_text(readme, encoding="utf-8")
    for name, text in docs.items():
        (root / "docs" / f"{name}.md").write_text(text, encoding="utf-8")


def test_a_link_to_a_missing_file_or_picture_is_found(tmp_path):
    write_pages(tmp_path, "[ok](docs/a.md) [gone](docs/gone.md) ![pic](docs/images/none.png)\n"
                          "`[in code](docs/ignored.md)` [web](https://example.org/x)\n", a="# A\n")
    assert broken_links(tmp_path / "README.md") == ["docs/gone.md: no such file",
                                                    "docs/images/none.png: no such file"]


def test_a_link_to_a_missing_heading_is_found(tmp_path):
    write_pages(tmp_path, "[yes](docs/a.md#make-replicate-ch6) [no](docs/a.md#no-such-part)\n"
                          "[here](#the-top) [twice](docs/a.md#usage-1)\n# The top\n",
                a="# A\n## make replicate-ch6\n## Usage\n## Usage\n```\n# not a heading\n```\n")
    assert broken_links(tmp_path / "README.md") == ["docs/a.md#no-such-part: no heading #no-such-part in a.md"]


def test_headings_become_githubs_anchors():
    assert slug("Why `replication/` is in git") == "why-replication-is-in-git"
    assert slug("serve: the page in a browser") == "serve-the-page-in-a-browser"
    assert slug("What is promised, and the tests that show it") == "what-is-promised-and-the-tests-that-show-it"


def test_a_page_no_link_leads_to_is_found(tmp_path):
    write_pages(tmp_path, "[a](docs/a.md)\n", a="[b](b.md#part)\n", b="# Part\n", orphan="# Alone\n")
    reached = {page.name for page in pages_reached(tmp_path / "README.md")}
    assert reached == {"README.md", "a.md", "b.md"}


def test_an_unknown_make_target_is_found(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text(".PHONY: train\nSTAMP := x\ntrain: data\n\tpython -m digits train\n"
                        "data $(STAMP)\nreplicate-ch6: data\n", encoding="utf-8")
    text = "Run `make train`, then `make replicate-ch6` and\n```sh\nmake bench BOOK=x\n```\nto make sure."
    assert make_targets_named(text) - makefile_targets(makefile) == {"bench"}


def test_an_unknown_command_is_found():
    text = "```sh\n.venv/bin/python -m digits train --epochs 1\npython -m digits plot x\n```\n`digits serve`"
    assert commands_named(text) == {"train", "plot", "serve"}
    assert commands_named(text) - digits_commands() == {"plot"}


def test_a_missing_file_named_in_code_is_found():
    text = "`digits/nn/layers.py`, `digits/nn/no_such.py`, `scripts/NAME.py`, `results/<id>.json`"
    assert {path for path in paths_named(text) if not (ROOT / path).exists()} == {"digits/nn/no_such.py"}
