"""Print the README's ONNX-import conformance table: per op, how many of the ONNX project's
conformance cases modelio imports and matches, and why it refuses the others.

    python3 tools/onnx_conformance.py > table.md
    python3 tools/onnx_conformance.py --unlisted   # refusals and passes EXPECTED_REFUSALS misses

The selection and the way a case runs are the test suite's (tests/onnx_import/
onnx_conformance_cases.py); the refusal reasons are test_conformance.py's EXPECTED_REFUSALS.
"""

import collections
import os
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "onnx_import"))

from onnx_conformance_cases import node_cases, outcome, pytorch_cases  # noqa: E402
from test_conformance import EXPECTED_REFUSALS, KNOWN_FAILURES  # noqa: E402

PYTORCH_ROW = "pytorch-converted models"


def tally() -> dict:
    """op -> Counter of outcomes, plus the refusal reasons and failures, per op."""
    rows = collections.defaultdict(lambda: {"cases": 0, "pass": 0, "refused": collections.Counter(),
                                            "other": collections.Counter()})
    for case in (*node_cases(), *pytorch_cases()):
        row = rows[case.op if case.op != "pytorch-converted" else PYTORCH_ROW]
        row["cases"] += 1
        result, detail = outcome(case)
        if result == "pass":
            row["pass"] += 1
        elif result == "refused":
            row["refused"][EXPECTED_REFUSALS.get(case.name, f"unlisted: {detail[:80]}")] += 1
        elif result == "not imported":
            row["other"][f"not imported yet ({detail})"] += 1
        else:
            row["other"][KNOWN_FAILURES.get(case.name, f"fails: {detail[:80]}")] += 1
    return rows


def _reasons(counter: collections.Counter) -> str:
    return "; ".join(f"{count}× {reason}" if count > 1 else reason
                     for reason, count in counter.most_common()) or "—"


def table(rows: dict) -> str:
    lines = ["| op | cases | pass | refused (reasons) | failing / not imported |",
             "|---|---|---|---|---|"]
    ordered = sorted((op for op in rows if op != PYTORCH_ROW), key=str.lower)
    for op in (*ordered, PYTORCH_ROW):
        if op not in rows:
            continue
        row = rows[op]
        refused = sum(row["refused"].values())
        lines.append(f"| {op} | {row['cases']} | {row['pass']} | "
                     f"{refused} ({_reasons(row['refused'])}) | {_reasons(row['other'])} |"
                     if refused else
                     f"| {op} | {row['cases']} | {row['pass']} | 0 | {_reasons(row['other'])} |")
    total = {key: sum(row[key] for row in rows.values()) for key in ("cases", "pass")}
    refused = sum(sum(row["refused"].values()) for row in rows.values())
    lines.append(f"| **total** | {total['cases']} | {total['pass']} | {refused} | "
                 f"{total['cases'] - total['pass'] - refused} |")
    return "\n".join(lines)


def unlisted() -> list:
    """Lines for keeping EXPECTED_REFUSALS true: refusals it lacks, listed cases that pass."""
    lines = []
    for case in (*node_cases(), *pytorch_cases()):
        result, detail = outcome(case)
        if result == "refused" and case.name not in EXPECTED_REFUSALS:
            lines.append(f"    {case.name!r}: {detail[len(case.name) + 2:]!r},  # add")
        elif result == "pass" and case.name in EXPECTED_REFUSALS:
            lines.append(f"    {case.name!r}  # passes now: remove")
    return lines


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sys.argv[1:] == ["--unlisted"]:
            print("\n".join(unlisted()) or "EXPECTED_REFUSALS is up to date")
        else:
            print(table(tally()))


if __name__ == "__main__":
    main()
