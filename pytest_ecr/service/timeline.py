"""Scheduling delayed work on the store's agenda, and the table of what each kind of job does.

A domain module schedules a job (:func:`schedule`) and registers the function that runs it
(:func:`runs`); :func:`pytest_ecr.service.catalog.run_due` runs due jobs in due order. A runner
takes the context of the job's registry (the clock reading the job's due time) and the job, and
checks that what it is about to finish still exists: a deleted image, a replaced policy or a
re-pushed archive leaves a stale job that does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..agenda import Job
from ..store import Repository
from .context import Context

Runner = Callable[[Context, Job], None]
R = TypeVar("R", bound=Runner)

RUNNERS: dict[str, Runner] = {}


def runs(kind: str) -> Callable[[R], R]:
    """Decorate the function that runs jobs of ``kind``."""

    def register(func: R) -> R:
        RUNNERS[kind] = func
        return func

    return register


def schedule(ctx: Context, due: float, kind: str, account: str, region: str, payload: Any = None) -> Job:
    """Put a job of ``kind`` on the agenda, due at ``due`` in the registry of ``account`` in
    ``region``. A due time already past (an image seeded in the past) runs at the next chance,
    reading now: the clock never runs backwards for a job."""
    return ctx.store.agenda.schedule(max(due, ctx.clock.now()), kind, account, region, payload)


def for_repository(ctx: Context, due: float, kind: str, repo: Repository, payload: Any = None) -> Job:
    """:func:`schedule` in the registry of ``repo``."""
    return schedule(ctx, due, kind, repo.registry_id, repo.region, payload)


def repository(ctx: Context, name: str) -> Repository | None:
    """Repository ``name`` of the job's registry, if it still exists (a runner's first check)."""
    reg = ctx.store.registries.get((ctx.account, ctx.region))
    return reg.repositories.get(name) if reg is not None else None
