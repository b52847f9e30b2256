"""The fake's single source of time.

By default the clock follows ``time.time()``, so a freeze started by freezegun or time-machine is
respected, wherever it puts time. It can also be frozen and advanced explicitly; advancing never
goes backwards.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class Clock:
    def __init__(self) -> None:
        self._frozen_at: float | None = None
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current virtual time, epoch seconds."""
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else time.time()
            return base + self._offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def freeze(self, at: float | None = None) -> None:
        """Stop following wall time; stay at ``at`` (default: now)."""
        target = self.now() if at is None else at
        with self._lock:
            self._frozen_at = target
            self._offset = 0.0

    def advance(self, seconds: float) -> None:
        """Move virtual time forward (never backwards)."""
        if seconds < 0:
            raise ValueError("the ECR clock never goes backwards")
        with self._lock:
            self._offset += seconds
