"""kis_intel_assets/settings.py is the one module that reads the process environment; the `kis-intel` CLI
(cli.py) is the only other one allowed to, should it have to hand an environment to a child process."""

from __future__ import annotations

import re
from pathlib import Path

import kis_intel_assets

PACKAGE = Path(kis_intel_assets.__file__).parent
ALLOWED = {"settings.py", "cli.py"}
# `os.environ` / `os.getenv` in any form, `from os import environ`, and reads of a mapping named environ.
READS_ENVIRONMENT = re.compile(r"\bos\.environ\b|\bgetenv\b|\bfrom os import .*\benviron\b|\benviron\.get\b")


def environment_readers(package: Path) -> list[str]:
    """`file:line: code` for every line of `package` that reads the environment outside ALLOWED."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if READS_ENVIRONMENT.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = environment_readers(PACKAGE)
    assert not offenders, "read the environment through kis_intel_assets.settings:\n" + "\n".join(offenders)


def test_the_scan_names_each_way_of_reading_the_environment(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text('import os\nURL = os.environ.get("X")\n')  # allowed
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "reader.py").write_text(
        "import os\n"
        'a = os.environ["A"]\n'
        'b = os.getenv("B")\n'
        "from os import environ\n"
        "def c(environ):\n"
        '    return environ.get("C", "")\n'
        "pid = os.getpid()\n"
    )
    assert [line.split(": ")[0] for line in environment_readers(tmp_path)] == [
        "sub/reader.py:2",
        "sub/reader.py:3",
        "sub/reader.py:4",
        "sub/reader.py:6",
    ]
