"""Progress of a long replay: a bar with events/s and ETA on a terminal, log lines otherwise."""

import sys
import time
from typing import TextIO

from projections.engine import Progress

LOG_EVERY = 2.0  # seconds between log lines (not on a terminal)


class ProgressReporter:
    """Call with each ``Progress``; ``done()`` at the end. Writes to standard error: a bar on
    a terminal, else a log line at most every ``LOG_EVERY`` seconds (and at the end)."""

    def __init__(self) -> None:
        self.stream: TextIO = sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.last_log = 0.0

    def __call__(self, progress: Progress) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = progress.applied / elapsed
        remaining = max(progress.head - progress.position, 0)
        eta = remaining / rate if rate > 0 else 0.0
        share = progress.position / progress.head if progress.head else 1.0
        if self.tty:
            filled = int(share * 30)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(
                f"\r{progress.projector} [{bar}] {share:6.1%} {progress.position:,}/"
                f"{progress.head:,} events {rate:,.0f} ev/s ETA {eta:,.0f}s"
            )
            self.stream.flush()
        elif time.monotonic() - self.last_log >= LOG_EVERY or remaining == 0:
            self.last_log = time.monotonic()
            self.stream.write(
                f"event=rebuild_progress projector={progress.projector} "
                f"position={progress.position} head={progress.head} "
                f"rate_per_s={rate:.0f} eta_s={eta:.0f}\n"
            )

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


__all__ = ["ProgressReporter"]
