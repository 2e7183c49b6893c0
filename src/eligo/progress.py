"""A progress line for long jobs on a terminal."""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """A progress line on a terminal (count, rate, ETA); silent when ``stream`` is None."""

    def __init__(self, total: int, stream: TextIO | None, *, noun: str = "patients") -> None:
        self.total, self.stream, self.start, self.n, self.last = total, stream, time.perf_counter(), 0, 0.0
        self.noun = noun

    def tick(self) -> None:
        self.n += 1
        now = time.perf_counter()
        if self.stream is None or (now - self.last < 0.2 and self.n < self.total):
            return
        self.last = now
        rate = self.n / max(now - self.start, 1e-9)
        eta = (self.total - self.n) / rate if rate else 0
        eta_text = f"{int(eta // 60)}m{int(eta % 60):02d}s"
        self.stream.write(f"\r  {self.n}/{self.total} {self.noun}  {rate:.1f}/s  ETA {eta_text} ")
        self.stream.flush()

    def done(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
