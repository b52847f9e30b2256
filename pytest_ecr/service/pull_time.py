"""Pull-time update exclusions (spec §8.8): Register/Deregister/ListPullTimeUpdateExclusions.

A registry keeps up to 100 IAM role or user ARNs whose pulls ECR does not record: BatchGetImage
by such a caller leaves ``lastRecordedPullTime`` as it was (and so does not protect the image from
lifecycle ``sinceImagePulled`` rules). The caller is the principal of the client's credentials
(``FakeECR.client(principal=...)``); a plain client is its account's root, which is never
excluded. The exclusions of the registry that holds the image apply.
"""

from __future__ import annotations

from typing import Any

from ..store import Repository
from .context import Context
from .errors import ExclusionAlreadyExistsException, ExclusionNotFoundException, LimitExceededException
from .pagination import page
from .registry import operation

#: the model's PullTimeUpdateExclusionList maximum
MAX_EXCLUSIONS = 100


def records_pulls(ctx: Context, repo: Repository) -> bool:
    """Whether a pull from ``repo`` by the caller updates the image's last recorded pull time."""
    exclusions = ctx.store.registry(repo.registry_id, repo.region).pull_time_exclusions
    return ctx.principal not in exclusions


@operation("RegisterPullTimeUpdateExclusion")
def register_pull_time_update_exclusion(ctx: Context, *, principalArn: str) -> dict[str, Any]:
    reg = ctx.registry()
    if principalArn in reg.pull_time_exclusions:
        raise ExclusionAlreadyExistsException(
            f"The principal '{principalArn}' is already excluded from pull time updates in the "
            f"registry with id '{reg.account}'"
        )
    if len(reg.pull_time_exclusions) >= MAX_EXCLUSIONS:
        raise LimitExceededException(
            f"The registry with id '{reg.account}' already has the maximum allowed number of pull time "
            f"update exclusions which is '{MAX_EXCLUSIONS}'"
        )
    created = reg.pull_time_exclusions[principalArn] = ctx.clock.now()
    return {"principalArn": principalArn, "createdAt": created}


@operation("DeregisterPullTimeUpdateExclusion")
def deregister_pull_time_update_exclusion(ctx: Context, *, principalArn: str) -> dict[str, Any]:
    reg = ctx.registry()
    if reg.pull_time_exclusions.pop(principalArn, None) is None:
        raise ExclusionNotFoundException(
            f"The principal '{principalArn}' is not excluded from pull time updates in the registry "
            f"with id '{reg.account}'"
        )
    return {"principalArn": principalArn}


@operation("ListPullTimeUpdateExclusions")
def list_pull_time_update_exclusions(
    ctx: Context, *, maxResults: int | None = None, nextToken: str | None = None
) -> dict[str, Any]:
    reg = ctx.registry()
    # Sorted by ARN: a stable order that pages resume in, whatever is registered in between.
    found, token = page(
        sorted(reg.pull_time_exclusions),
        key=lambda arn: arn,
        scope=("ListPullTimeUpdateExclusions", reg.account, reg.region),
        next_token=nextToken,
        max_results=maxResults,
    )
    return {"pullTimeUpdateExclusions": found, "nextToken": token}
