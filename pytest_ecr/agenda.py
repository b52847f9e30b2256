"""The agenda: every piece of work that waits on time, as one heap of jobs by due time.

Real ECR finishes scans, restores, signing jobs, replications, lifecycle runs and previews on its
own schedule. The fake keeps each as a :class:`Job` here, ordered by ``(due, seq)``: ties go in
scheduling order. What a job does is looked up by its ``kind`` in the service layer's runner
table (:mod:`pytest_ecr.service.timeline`); this module knows no domain. Plain data, no clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Job:
    """One delayed effect: run the runner of ``kind`` on ``payload`` at ``due``, in the registry
    of ``account`` in ``region``."""

    due: float
    seq: int
    kind: str
    account: str
    region: str
    payload: Any = None
    cancelled: bool = False


@dataclass
class Agenda:
    _heap: list[tuple[float, int, Job]] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=itertools.count)

    def schedule(self, due: float, kind: str, account: str, region: str, payload: Any = None) -> Job:
        job = Job(due, next(self._seq), kind, account, region, payload)
        heapq.heappush(self._heap, (due, job.seq, job))
        return job

    def next_due(self) -> float | None:
        """The due time of the earliest job still to run, or None."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, until: float) -> Job | None:
        """The earliest job due at or before ``until`` (taken off the agenda), or None."""
        due = self.next_due()
        if due is None or due > until:
            return None
        return heapq.heappop(self._heap)[2]

    def jobs(self, kind: str | None = None) -> list[Job]:
        """The jobs still to run (of ``kind``), in the order they will run."""
        return [j for _, _, j in sorted(self._heap) if not j.cancelled and kind in (None, j.kind)]

    def __len__(self) -> int:
        return sum(not j.cancelled for _, _, j in self._heap)
