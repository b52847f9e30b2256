"""The service layer assembled: every domain module imported, so that their handlers, job
runners and reaction subscriptions are registered; and the one place delayed work runs.

Domain modules import only what lies below them (context, store, errors, the registration
tables of :mod:`.registry`, :mod:`.timeline` and :mod:`.reactions`); this module is the only one
that imports them all, and nothing in the service layer imports it.
"""

from __future__ import annotations

from ..clock import Clock
from ..store import Store
from . import (  # noqa: F401  (imported to register their handlers, runners and reactions)
    accounts,
    archive,
    auth,
    backfill,
    images,
    layers,
    lifecycle,
    policies,
    pull_through_rules,
    pull_time,
    referrers,
    registry_policy,
    replication,
    repositories,
    scanning,
    signing,
    tagging,
    templates,
)
from .context import Context, Options
from .registry import HANDLERS, Handler
from .timeline import RUNNERS


def handlers() -> dict[str, Handler]:
    """Every operation the fake answers, by name."""
    return HANDLERS


def run_due(store: Store, clock: Clock, options: Options) -> int:
    """Run the jobs due by now in due-time order (ties in scheduling order), each with the clock
    reading its due time; jobs those runs schedule run too if they are due by now. Returns how
    many ran. The caller holds the fake's lock."""
    until, agenda, ran = clock.now(), store.agenda, 0
    while (job := agenda.pop_due(until)) is not None:
        with clock.reading(job.due):
            RUNNERS[job.kind](Context(store, clock, job.account, job.region, options), job)
        ran += 1
    return ran
