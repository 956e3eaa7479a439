"""Progress display for slow command-line steps: a spinner line on stderr, only when it helps.

A step shows nothing unless it lasts longer than `DELAY_SECONDS` *and* the stream is a terminal,
so pipelines, CI logs and tests that capture stderr see no progress output at all:

    with progress.step("loading model.keras"):
        model = load_model("model.keras")

Format loaders report per-item progress with `progress.advance(done, total)`; outside a step (the
library used from Python) that call does nothing.
"""

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

DELAY_SECONDS = 1.0
REFRESH_SECONDS = 0.1
SPINNER = "|/-\\"

_enabled = True
_active: "_Step | None" = None


def set_enabled(enabled: bool) -> None:
    """Turn every progress display off (`modelio -q`) or back on."""
    global _enabled
    _enabled = bool(enabled)


def advance(done: int, total: int) -> None:
    """Report that `done` of `total` items (weights, layers) of the current step are finished."""
    step_in_progress = _active
    if step_in_progress is not None:
        step_in_progress.done, step_in_progress.total = done, total


@contextlib.contextmanager
def step(label: str, stream=None, delay: float | None = None) -> Iterator[None]:
    """Show `label`, a spinner, the elapsed time and any `advance` count on `stream` (default
    stderr) while the block runs, starting after `delay` seconds (default `DELAY_SECONDS`), and only
    when `stream.isatty()`. The line is erased when the block ends, so the final output is clean."""
    global _active
    stream = sys.stderr if stream is None else stream
    if not _enabled or not _is_terminal(stream) or _active is not None:
        yield
        return
    current = _Step(label, stream, DELAY_SECONDS if delay is None else delay)
    _active = current
    current.start()
    try:
        yield
    finally:
        _active = None
        current.stop()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class _Step:
    """One displayed step: a daemon thread redraws the line until `stop`."""

    def __init__(self, label: str, stream, delay: float):
        self.label, self.stream, self.delay = label, stream, delay
        self.done, self.total = 0, 0
        self.started = time.monotonic()
        self.shown = False
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modelio-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._finished.set()
        self._thread.join()
        if self.shown:
            self._write("\r\033[K")

    def line(self, frame: int) -> str:
        elapsed = time.monotonic() - self.started
        count = f" {self.done}/{self.total}" if self.total else ""
        return f"{SPINNER[frame % len(SPINNER)]} {self.label}{count} ({elapsed:.1f}s)"

    def _run(self) -> None:
        if self._finished.wait(self.delay):
            return
        frame = 0
        while not self._finished.is_set():
            self.shown = True
            self._write("\r\033[K" + self.line(frame))
            frame += 1
            self._finished.wait(REFRESH_SECONDS)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: progress is not worth an error
            pass
