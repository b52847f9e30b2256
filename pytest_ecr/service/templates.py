"""Repository creation templates (spec §8.5) and the repositories ECR creates on a user's behalf.

Skeleton: ``create_repository_for`` is the one entry point replication, pull-through cache and
create-on-push use; template storage, the template operations and matching are filled in by the
creation-templates work.
"""

from __future__ import annotations

from ..store import Repository
from .context import Context
from .repositories import new_repository

#: the ``appliedFor`` values a template can name
APPLIED_FOR = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")


def create_repository_for(ctx: Context, name: str, applied_for: str) -> Repository:
    """Create repository ``name`` in ``ctx``'s registry (``ctx.account`` / ``ctx.region``) as ECR
    does for ``applied_for``: with the settings of the matching creation template, else defaults
    (mutable tags, no scan on push, AES256)."""
    return new_repository(ctx, ctx.registry(), name)
