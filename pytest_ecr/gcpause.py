"""Pausing the cyclic garbage collector around bulk work on large repositories.

A lifecycle evaluation over 100,000 images allocates a few hundred thousand short-lived, acyclic
objects (snapshots, decisions, ids). Each allocation burst triggers collections that traverse the
whole live heap, which then holds the 100,000 stored images: measured, that is ~40 % of an
evaluation. Reference counting frees these objects anyway, so the collector is paused for the
duration and resumed afterwards (it then runs as usual). Nested or concurrent pauses only resume a
collector that was running when they began.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
