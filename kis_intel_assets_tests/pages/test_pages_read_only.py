"""The pages only read: every domain rule lives in kis_intel_assets.analytics, materialized into tables.

The rule this test enforces, over every module of kis_intel_assets/pages/ (read with `ast`, so an import
inside a function counts as much as one at the top):

1. No page module imports anything from kis_intel_assets.analytics or kis_intel_assets.defs.analytics
   (the modules that hold the rules and the assets that run them) except the names listed in
   ANALYTICS_ALLOWED. A name may be listed when it is a single analytics function that computes one
   figure the page shows, or a constant the page quotes in its text; each entry says which. Today the
   list holds one constant and one function (the sector map's); every other figure is read from a table.
2. No page module imports numpy except the drawing module (NUMPY_ALLOWED): figures.py scales colours and
   axes with it, which is formatting, not a rule.

Adding an import that breaks the rule fails here; widening the rule means editing these two lists.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kis_intel_assets.pages

PAGES_DIR = Path(kis_intel_assets.pages.__file__).parent
PAGES_PACKAGE = "kis_intel_assets.pages"
RULE_PACKAGES = ("kis_intel_assets.analytics", "kis_intel_assets.defs.analytics")
# page module → the dotted names it may import from RULE_PACKAGES, each with why.
ANALYTICS_ALLOWED: dict[str, set[str]] = {
    "views.py": {
        # A constant quoted on /rotation ("too few signals to judge (n < 30)"); the stored `judged`
        # column is the rule's outcome, which the page reads.
        "kis_intel_assets.analytics.scorecard.MIN_SIGNALS_TO_JUDGE",
        # The one function behind the /sectors treemap and its table (stocks' and sectors' numbers).
        "kis_intel_assets.analytics.sector_map.sector_map",
    },
}
NUMPY_ALLOWED = {"figures.py"}


def imported(path: Path) -> set[str]:
    """Every import of a module as a dotted name: `import a.b` → a.b, `from a import b` → a.b (b may
    be a module or a name in it), relative imports resolved against kis_intel_assets.pages."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = PAGES_PACKAGE.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def page_modules() -> list[Path]:
    modules = sorted(PAGES_DIR.glob("*.py"))
    assert {"views.py", "queries.py", "figures.py"} <= {path.name for path in modules}
    return modules


def test_pages_import_no_analytics_rule_beyond_the_allowance() -> None:
    for path in page_modules():
        allowed = ANALYTICS_ALLOWED.get(path.name, set())
        rules = {name for name in imported(path) if within(name, RULE_PACKAGES)}
        assert rules <= allowed, f"pages/{path.name} imports {sorted(rules - allowed)}"


def test_only_the_drawing_module_imports_numpy() -> None:
    for path in page_modules():
        if path.name not in NUMPY_ALLOWED:
            numpy = {name for name in imported(path) if within(name, ("numpy",))}
            assert not numpy, f"pages/{path.name} imports {sorted(numpy)}"


def test_the_walk_sees_every_import_form(tmp_path: Path) -> None:
    """So the two tests above cannot pass by missing an import written another way."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import numpy as np\n"
        "from numpy import nan\n"
        "from kis_intel_assets import analytics\n"
        "from kis_intel_assets.analytics.short_overheat import closeness\n"
        "from ..analytics import short_overheat\n"
        "def later():\n    import kis_intel_assets.defs.analytics.reads\n"
    )
    assert imported(sample) == {
        "numpy",
        "numpy.nan",
        "kis_intel_assets.analytics",
        "kis_intel_assets.analytics.short_overheat.closeness",
        "kis_intel_assets.analytics.short_overheat",
        "kis_intel_assets.defs.analytics.reads",
    }
    assert within("kis_intel_assets.analytics", RULE_PACKAGES)
    assert not within("kis_intel_assets.analytics_extra", RULE_PACKAGES)
