"""The ONNX backend suite's summary line in the pytest terminal summary (CI runs without -s)."""

import sys


def pytest_terminal_summary(terminalreporter):
    cases = sys.modules.get("onnx_conformance_cases")
    if cases is None or not cases.suite_results.cache_info().currsize:
        return  # the conformance tests did not run in this session
    round_trips = cases.round_trip_results() \
        if cases.round_trip_results.cache_info().currsize else None
    terminalreporter.section("ONNX backend test suite")
    for line in cases.summary_lines(cases.suite_results(), round_trips):
        terminalreporter.write_line(line)
