"""No tracked file names a path outside the repository: comments, docstrings and docs cite `docs/…` files that
ship with the code, never a machine's home folder or a reference file a reader does not have."""

from __future__ import annotations

import re
import subprocess
from pathlib import PurePosixPath

import pytest

from kis_intel_assets_tests.support import REPO

# Built from parts so this file does not name them itself.
OUTSIDE_PARTS = (
    "/" + "work/", "/" + "root/", "/" + "home/", "/" + "Users/", ".." + "/shared", "shared" + "/reference",
)  # fmt: skip

OUTSIDE = re.compile("|".join(re.escape(part) for part in OUTSIDE_PARTS))
# File names of reference notes kept outside the repository (and of the docs that replace them): a mention
# is fine only as a path to a tracked file, e.g. docs/kiwoom_api.md.
REFERENCE_NAMES = ("kis_api", "krx_market", "protocol", "dagster_and_environment", "kiwoom_api")
REFERENCE = re.compile(r"(?<![\w.-])((?:[\w.-]+/)*(?:" + "|".join(REFERENCE_NAMES) + r")\.md)\b")
# (path, text) pairs that may stay although they match; keep it empty unless a line truly must name one.
ALLOWED: frozenset[tuple[str, str]] = frozenset()


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({type(exc).__name__}): nothing to list")
    return [name for name in out.decode().split("\0") if name]


def outside_paths(path: str, text: str, tracked: set[str]) -> list[str]:
    """`path:line: match` for every mention of a location outside the repository in `text`."""
    folder = PurePosixPath(path).parent
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        hits = [m.group(0) for m in OUTSIDE.finditer(line)]
        for match in REFERENCE.finditer(line):
            name = match.group(1)
            if name not in tracked and str(folder / name) not in tracked:
                hits.append(name)
        found += [f"{path}:{number}: {hit}" for hit in hits if (path, hit) not in ALLOWED]
    return found


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    names = tracked_files()
    tracked = set(names)
    offenders: list[str] = []
    checked = 0
    for name in names:
        data = (REPO / name).read_bytes() if (REPO / name).is_file() else b""
        if b"\0" in data:
            continue  # binary
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # binary in a text-free encoding
        checked += 1
        offenders += outside_paths(name, text, tracked)
    assert checked > 100, f"only {checked} text files were read: the listing is wrong"
    assert offenders == [], "cite a docs/ file inside the repository instead:\n" + "\n".join(offenders)


def test_the_scan_flags_outside_paths_and_accepts_docs_paths() -> None:
    tracked = {"docs/kis_protocol.md", "docs/kiwoom_api.md", "README.md"}
    bad = [
        "see " + "/" + "work/shared/notes.md",
        "per kis_api" + ".md §9",
        "(protocol" + ".md lets us pick)",
        "from .." + "/shared/" + "reference/krx_market" + ".md",
        "cache under " + "/" + "root/.kis",
    ]
    good = [
        "per docs/kis_protocol.md §7",
        "sourced in docs/kiwoom_api.md",
        "a link [Kiwoom](kiwoom_api" + ".md) from inside docs/",
    ]
    for line in bad:
        assert outside_paths("kis_intel_assets/x.py", line, tracked), line
    assert outside_paths("kis_intel_assets/x.py", "\n".join(good[:2]), tracked) == []
    assert outside_paths("docs/krx_rules.md", good[2], tracked) == []
    bare = outside_paths("kis_intel_assets/x.py", good[2], tracked)
    assert bare == ["kis_intel_assets/x.py:1: kiwoom_api" + ".md"]
