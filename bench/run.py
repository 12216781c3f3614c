"""Run every benchmark (bench/bench_*.py), collect their JSON results and print the targets.

    python bench/run.py [--quick|--full] [--only NAME ...] [--list]

Each script runs in its own process with `--quick` (the default, what `make bench` does) or
`--full`, writes bench/results/<name>.json and prints its own summary. This prints one table of
every target the results report (met / NOT met) and writes bench/results/summary.json. It exits
non-zero only when a benchmark crashes or times out: a missed target is a finding, not a failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
TIMEOUT = {"quick": 20 * 60, "full": 90 * 60}


def scripts(only: list[str]) -> list[Path]:
    found = sorted(BENCH.glob("bench_*.py"))
    return [s for s in found if not only or any(o in s.stem for o in only)]


def run_one(script: Path, mode: str) -> dict[str, Any]:
    before = {p: p.stat().st_mtime for p in RESULTS.glob("*.json")}
    started = time.monotonic()
    print(f"\n=== {script.name} --{mode}", flush=True)
    try:
        done = subprocess.run(
            [sys.executable, str(script), f"--{mode}"], cwd=ROOT, timeout=TIMEOUT[mode]
        )
        code: int | None = done.returncode
    except subprocess.TimeoutExpired:
        code = None
    seconds = round(time.monotonic() - started, 1)
    written = sorted(
        p.name
        for p in RESULTS.glob("*.json")
        if p.name != "summary.json" and before.get(p) != p.stat().st_mtime
    )
    status = "ok" if code == 0 else "timeout" if code is None else f"exit {code}"
    print(f"=== {script.name}: {status} in {seconds} s, wrote {', '.join(written) or 'nothing'}")
    return {"script": script.name, "status": status, "seconds": seconds, "results": written}


def targets_of(result_file: str) -> list[dict[str, Any]]:
    try:
        data = json.loads((RESULTS / result_file).read_text())
    except (OSError, ValueError):
        return [{"what": f"{result_file}: unreadable", "value": None, "met": None}]
    rows = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        return [{"what": f"{result_file}: no targets reported", "value": None, "met": None}]
    return [r for r in rows if isinstance(r, dict)]


def table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    print("\n" + "=" * 100)
    print(f"{'benchmark / target':<62} {'value':>12} {'unit':<6} {'target':<10} result")
    print("-" * 100)
    every: list[dict[str, Any]] = []
    for run in runs:
        if run["status"] != "ok":
            print(f"{run['script']:<62} {'-':>12} {'':<6} {'':<10} CRASHED ({run['status']})")
        for name in run["results"]:
            for row in targets_of(name):
                every.append(row | {"result_file": name})
                value = row.get("value")
                shown = value if not isinstance(value, float) else f"{value:g}"
                shown = "-" if value is None else shown
                met = {True: "met", False: "NOT met", None: "-"}.get(row.get("met"), "?")
                print(
                    f"{str(row.get('what', '?'))[:62]:<62} {str(shown):>12} "
                    f"{str(row.get('unit', '')):<6} {str(row.get('target', '')):<10} {met}"
                )
    print("=" * 100)
    met = sum(1 for r in every if r.get("met") is True)
    missed = sum(1 for r in every if r.get("met") is False)
    print(f"{met} targets met, {missed} not met; {len(runs)} benchmarks run")
    return every


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="short runs (default)")
    group.add_argument("--full", action="store_true", help="the long variant")
    parser.add_argument("--only", nargs="*", default=[], help="benchmarks whose name has this")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    args = parser.parse_args()
    mode = "full" if args.full else "quick"
    found = scripts(args.only)
    if args.list or not found:
        print("\n".join(s.name for s in found) or "no benchmark found")
        return 0 if found or args.list else 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = [run_one(script, mode) for script in found]
    every = table(runs)
    summary = {"mode": mode, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": runs}
    summary["targets"] = every
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    crashed = [r["script"] for r in runs if r["status"] != "ok"]
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
