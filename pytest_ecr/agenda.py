"""The agenda: every piece of work that waits on time, as one heap of jobs by due time.

Real ECR finishes scans, restores, signing jobs, replications, lifecycle runs and previews on its
own schedule. The fake keeps each as a :class:`Job` here, ordered by ``(due, seq)``: ties go in
scheduling order. What a job does is looked up by its ``kind`` in the service layer's runner
table (:mod:`pytest_ecr.service.timeline`); this module knows no domain. Plain data, no clock.
"""

from __future__ import annotations

import copy
import heapq
import itertools
from collections.abc import Iterable, Iterator
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
    #: after a restore (:mod:`pytest_ecr.snapshot`): ids of the heap's jobs that are still the
    #: snapshot's, and the memo each is copied through when it is run or listed
    _shared: frozenset[int] = frozenset()
    _memo: dict[int, Any] = field(default_factory=dict)

    def adopt(
        self,
        entries: Iterable[tuple[float, int, Job]],
        shared: frozenset[int],
        memo: dict[int, Any],
        seq: int,
    ) -> None:
        """Take a snapshot's jobs (a heap, shared until each is used) and go on numbering at ``seq``."""
        self._heap, self._shared, self._memo, self._seq = list(entries), shared, memo, itertools.count(seq)

    def _own(self, at: int) -> Job:
        """The job at heap position ``at``, copied first if it is still a snapshot's (the copy
        keeps its (due, seq), so the heap stays a heap)."""
        due, seq, job = self._heap[at]
        if self._shared and id(job) in self._shared:
            job = copy.deepcopy(job, self._memo)
            self._heap[at] = (due, seq, job)
        return job

    def schedule(self, due: float, kind: str, account: str, region: str, payload: Any = None) -> Job:
        job = Job(due, next(self._seq), kind, account, region, payload)
        heapq.heappush(self._heap, (due, job.seq, job))
        return job

    def next_due(self) -> float | None:
        """The due time of the earliest job still to run, or None."""
        heap = self._heap
        while heap and self._own(0).cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, until: float) -> Job | None:
        """The earliest job due at or before ``until`` (taken off the agenda), or None."""
        due = self.next_due()
        if due is None or due > until:
            return None
        return heapq.heappop(self._heap)[2]

    def entries(self) -> list[tuple[float, int, Job]]:
        """Every heap entry, each job copied first if it is still a snapshot's (for a new snapshot)."""
        return [(due, seq, self._own(at)) for at, (due, seq, _) in enumerate(list(self._heap))]

    def jobs(self, kind: str | None = None) -> list[Job]:
        """The jobs still to run (of ``kind``), in the order they will run."""
        owned = [self._own(at) for at in range(len(self._heap))]
        return [j for j in sorted(owned, key=_order) if not j.cancelled and kind in (None, j.kind)]

    def __len__(self) -> int:
        return sum(not j.cancelled for _, _, j in self._heap)  # a shared job is as its copy would be


def _order(job: Job) -> tuple[float, int]:
    return job.due, job.seq
