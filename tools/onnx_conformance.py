"""The whole ONNX backend test suite through modelio: numbers, the README table, the ratchet lists.

    python3 tools/onnx_conformance.py              # summary, top missing ops, per-op table (md)
    python3 tools/onnx_conformance.py --update     # rewrite conformance_passing.txt and
                                                   # conformance_round_trip.txt from this run
    python3 tools/onnx_conformance.py --onnxruntime  # also: how many cases onnxruntime passes
    python3 tools/onnx_conformance.py --problems   # every crash, wrong output and broken round trip
    python3 tools/onnx_conformance.py --unlisted   # refusals and passes EXPECTED_REFUSALS misses

The cases and the way one runs are the test suite's (tests/onnx_import/onnx_conformance_cases.py);
the refusal reasons are test_conformance.py's EXPECTED_REFUSALS.
"""

import argparse
import collections
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "onnx_import"))

from onnx_conformance_cases import (  # noqa: E402
    KINDS,
    PASSING_LIST,
    ROUND_TRIP_LIST,
    all_cases,
    missing_ops,
    onnxruntime_outcome,
    round_trip_results,
    suite_results,
    summary_lines,
    write_list,
)
from test_conformance import EXPECTED_REFUSALS, KNOWN_FAILURES  # noqa: E402


def tally(results: dict) -> dict:
    """row (op, or the model kind) -> cases, passes, refusal reasons, other outcomes."""
    cases = {case.name: case for case in all_cases()}
    rows = collections.defaultdict(lambda: {"cases": 0, "pass": 0, "refused": collections.Counter(),
                                            "other": collections.Counter()})
    for name, result in results.items():
        row = rows[result.op if result.kind == "node" else f"{result.kind} models"]
        row["cases"] += 1
        if result.outcome == "pass":
            row["pass"] += 1
        elif result.outcome == "refused" and cases[name].unconverted:
            row["other"][f"no converter ({', '.join(cases[name].unconverted)})"] += 1
        elif result.outcome == "refused":
            row["refused"][EXPECTED_REFUSALS.get(name, f"unlisted: {_after_name(result)[:80]}")] += 1
        elif result.outcome == "not runnable":
            row["other"][f"not runnable ({result.detail})"] += 1
        else:
            row["other"][KNOWN_FAILURES.get(name, f"{result.outcome}: {result.detail[:80]}")] += 1
    return rows


def _after_name(result) -> str:
    return result.detail[len(result.name) + 2:] if result.detail.startswith(result.name) \
        else result.detail


def _reasons(counter: collections.Counter) -> str:
    return "; ".join(f"{count}× {reason}" if count > 1 else reason
                     for reason, count in counter.most_common()) or "—"


def table(rows: dict) -> str:
    lines = ["| op | cases | pass | refused (reasons) | failing / no converter |",
             "|---|---|---|---|---|"]
    models = [f"{kind} models" for kind in KINDS[1:]]
    ordered = sorted((op for op in rows if op not in models), key=str.lower)
    for op in (*ordered, *models):
        if op not in rows:
            continue
        row = rows[op]
        refused = sum(row["refused"].values())
        reasons = f" ({_reasons(row['refused'])})" if refused else ""
        lines.append(f"| {op} | {row['cases']} | {row['pass']} | {refused}{reasons} | "
                     f"{_reasons(row['other'])} |")
    total = {key: sum(row[key] for row in rows.values()) for key in ("cases", "pass")}
    refused = sum(sum(row["refused"].values()) for row in rows.values())
    lines.append(f"| **total** | {total['cases']} | {total['pass']} | {refused} | "
                 f"{total['cases'] - total['pass'] - refused} |")
    return "\n".join(lines)


def unlisted(results: dict) -> list:
    """Lines for keeping EXPECTED_REFUSALS true: refusals by name it lacks, listed cases that
    pass."""
    cases = {case.name: case for case in all_cases()}
    lines = []
    for name, result in sorted(results.items()):
        if result.outcome == "refused" and not cases[name].unconverted \
                and name not in EXPECTED_REFUSALS:
            lines.append(f"    {name!r}: {_after_name(result)!r},  # add")
        elif result.outcome != "refused" and name in EXPECTED_REFUSALS:
            lines.append(f"    {name!r}  # {result.outcome} now: remove")
    return lines


def problems(results: dict, round_trips: dict) -> list:
    lines = [f"{result.outcome}: {name}: {result.detail}" for name, result in sorted(results.items())
             if result.outcome in ("crash", "fail")]
    lines += [f"round trip {outcome}: {name}: {detail}"
              for name, (outcome, detail) in sorted(round_trips.items())
              if outcome not in ("pass", "refused")]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the ratchet lists")
    parser.add_argument("--onnxruntime", action="store_true",
                        help="also count the cases onnxruntime itself passes")
    parser.add_argument("--problems", action="store_true", help="list crashes and wrong outputs")
    parser.add_argument("--unlisted", action="store_true", help="EXPECTED_REFUSALS maintenance")
    parser.add_argument("--top", type=int, default=25, help="how many missing ops to list")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        results = suite_results()
        seconds = time.perf_counter() - start
        if args.unlisted:
            print("\n".join(unlisted(results)) or "EXPECTED_REFUSALS is up to date")
            return
        start = time.perf_counter()
        round_trips = round_trip_results()
        trip_seconds = time.perf_counter() - start
        if args.update:
            write_list(PASSING_LIST, [name for name, result in results.items()
                                      if result.outcome == "pass"],
                       "ONNX backend suite cases modelio imports and runs to the recorded outputs.")
            write_list(ROUND_TRIP_LIST, [name for name, (outcome, _) in round_trips.items()
                                         if outcome == "pass"],
                       "... whose import, exported by modelio.export_onnx, runs in onnxruntime "
                       "to the recorded outputs.")
        if args.problems:
            print("\n".join(problems(results, round_trips)) or "no crash, no wrong output")
            return
        print("\n".join(summary_lines(results, round_trips, top=args.top)))
        print(f"  time: load + import + run {seconds:.1f} s, round trips {trip_seconds:.1f} s")
        if args.onnxruntime:
            runnable = [case for case in all_cases() if case.model is not None and case.data_sets]
            counts = collections.Counter(onnxruntime_outcome(case) for case in runnable)
            print(f"  onnxruntime on the same cases: {counts['pass']} passed, "
                  f"{counts['fail']} wrong outputs, {counts['error']} refused or crashed")
        print()
        print("| missing op | refused cases |\n|---|---|")
        print("\n".join(f"| {op} | {count} |" for op, count
                        in missing_ops(results).most_common(args.top)))
        print()
        print(table(tally(results)))


if __name__ == "__main__":
    main()
