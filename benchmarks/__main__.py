"""`python -m benchmarks [--quick]`: every benchmark module of the project, one table.

Each module in this folder with a `run(quick: bool) -> list[dict]` is run in name order; a module that
fails is reported as a row (with its error) instead of hiding the others' results. Quick mode keeps the
whole table to a few minutes with smaller universes; full mode uses production sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import time
import traceback
import warnings
from pathlib import Path

import dagster as dg

FOLDER = Path(__file__).resolve().parent


def benchmark_modules() -> list[str]:
    return sorted(path.stem for path in FOLDER.glob("*.py") if not path.stem.startswith("_"))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_module(name: str, quick: bool) -> tuple[list[dict], float]:
    started = time.monotonic()
    try:
        rows = importlib.import_module(f"benchmarks.{name}").run(quick)
    except Exception as exc:  # one broken benchmark must not hide the others
        traceback.print_exc()
        rows = [
            {
                "benchmark": "FAILED",
                "value": "",
                "unit": "",
                "ratio": None,
                "note": f"{type(exc).__name__}: {exc}"[:200],
            }
        ]
    return rows, time.monotonic() - started


def format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller universes, a few minutes in total")
    parser.add_argument("--only", nargs="*", default=None, help="module names to run (default: all)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)

    table: list[tuple[str, dict]] = []
    timings = []
    for name in args.only or benchmark_modules():
        print(f"… {name}", flush=True)
        rows, seconds = run_module(name, args.quick)
        table += [(name, row) for row in rows]
        timings.append(f"{name} {seconds:.0f} s")

    mode = "quick" if args.quick else "full"
    print(
        f"\nkis-intel benchmarks ({mode}) — {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} — "
        f"{os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), {cpu_model()}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'module':<11} {'benchmark':<56} {'value':>11} {'unit':<8} {'ratio':>7}  note")
    for module, row in table:
        ratio = "" if row.get("ratio") is None else format_value(float(row["ratio"]))
        print(
            f"{module:<11} {row['benchmark']:<56} {format_value(row['value']):>11} {row['unit']:<8} "
            f"{ratio:>7}  {row.get('note', '')}"
        )
    print(f"\ntime per module: {', '.join(timings)}")


if __name__ == "__main__":
    main()
