"""Lifecycle policies (spec §5): Put/Get/DeleteLifecyclePolicy, previews, and running policies on
the fake's clock.

When policies act: ECR applies a policy "within 24 hours". The fake evaluates a repository's
policy ``Options.lifecycle_interval_seconds`` (24 h) after PutLifecyclePolicy, then an interval
after each evaluation, as jobs on the agenda at exactly those times (``lastEvaluatedAt`` and the
events of what a run does carry the run's time, not the time someone looked). A test that
advances the clock a day therefore sees what real ECR shows a day later at the latest;
``FakeECR.run_lifecycle()`` applies policies at once and restarts the schedule from then.
Replacing a policy keeps the repository's schedule. ``lastEvaluatedAt`` is 0.0 until the first
evaluation, as the AWS CLI example output shows. An interval of 0 or less schedules no runs.

Coalescing: an evaluation that finds nothing to do is followed by none until the repository
changes (a push, deletion, tag move, pull, archive or restore: the reactions this module
subscribes to) or an image's age crosses a since* threshold of the policy
(:func:`~.lifecycle_engine.next_threshold`): the runs in between would find nothing either, so they
are skipped, and ``lastEvaluatedAt`` still reads the last run due on the schedule.

A preview is IN_PROGRESS for ``Options.lifecycle_preview_seconds`` (10) of virtual time, so the
``LifecyclePolicyPreviewComplete`` waiter sees IN_PROGRESS, then COMPLETE after two polls. Its
results are computed on the agenda at the moment it completes, over the repository as it is then,
with the same planner a run uses: a preview lists exactly what an evaluation at that moment does.

Actions go through the operations users call: expire is BatchDeleteImage by digest (up to 100
consecutive expirations per call), transition is UpdateImageStorageClass to ARCHIVE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..agenda import Job
from ..gcpause import paused_gc
from ..store import LifecyclePolicy, LifecyclePreview, Repository
from . import lifecycle_rules
from .archive import update_image_storage_class
from .context import Context
from .errors import (
    LifecyclePolicyNotFoundException,
    LifecyclePolicyPreviewInProgressException,
    LifecyclePolicyPreviewNotFoundException,
)
from .images import DELETE_BATCH, ImageId, batch_delete_image
from .lifecycle_engine import Decision, next_threshold, plan
from .pagination import forbid_paging_with_ids, page
from .reactions import (
    IMAGE_ACTIVATED,
    IMAGE_STORED,
    IMAGES_DELETED,
    REPOSITORY_CHANGED,
    SUBJECT_GONE,
    subscribe,
)
from .registry import operation
from .timeline import for_repository, repository, runs


@dataclass(frozen=True)
class LifecycleAction:
    """One thing a lifecycle evaluation did (what ``FakeECR.run_lifecycle`` reports)."""

    repository: str
    image_digest: str
    image_tags: tuple[str, ...]
    #: "expire" or "transition"
    action: str
    rule_priority: int


# -- running policies -----------------------------------------------------------------------------


def _apply(ctx: Context, repo: Repository, decisions: list[Decision]) -> list[LifecycleAction]:
    expiring: list[ImageId] = []

    def expire_pending() -> None:
        # Consecutive expirations go as one BatchDeleteImage: it deletes its ids in order, as
        # separate calls would, at a hundredth of the per-call cost.
        if expiring:
            batch_delete_image(ctx, repositoryName=repo.name, imageIds=expiring, registryId=repo.registry_id)
            expiring.clear()

    for decision in decisions:
        image_id: ImageId = {"imageDigest": decision.image.digest}
        if decision.action == "expire":
            expiring.append(image_id)
            if len(expiring) == DELETE_BATCH:
                expire_pending()
        else:
            expire_pending()
            update_image_storage_class(
                ctx,
                repositoryName=repo.name,
                imageId=image_id,
                targetStorageClass="ARCHIVE",
                registryId=repo.registry_id,
            )
    expire_pending()
    return [
        LifecycleAction(repo.name, d.image.digest, d.image.tags, d.action, d.rule.priority) for d in decisions
    ]


def _schedule(ctx: Context, repo: Repository, policy: LifecyclePolicy, due: float) -> None:
    """Make ``due`` the policy's next evaluation (a job scheduled before is stale from now on)."""
    policy.next_evaluation_at = due
    if due != math.inf:
        for_repository(ctx, due, "lifecycle", repo, (repo.name, policy))


def evaluate_policy(ctx: Context, repo: Repository) -> list[LifecycleAction]:
    """Apply the repository's lifecycle policy now and schedule its next evaluation."""
    policy = repo.lifecycle_policy
    if policy is None:
        return []
    now = ctx.clock.now()
    interval = policy.interval
    # The actions change the repository: they do not wake a coalesced schedule (there is none).
    policy.coalesced = False
    policy.next_evaluation_at = math.inf
    due = math.inf
    try:
        rules = lifecycle_rules.parse(policy.text)
        with paused_gc():
            decisions = plan(repo.images.values(), rules, now)
            done = _apply(ctx, repo, decisions)
        policy.last_evaluated_at = now
        if interval > 0:
            due = now + interval
            if not decisions:
                # Nothing to do: the next run that can find something is the first after a threshold.
                threshold = next_threshold(repo.images.values(), rules, now)
                if threshold > due:
                    policy.coalesced = True
                    due = (
                        math.inf
                        if threshold == math.inf
                        else now + (math.floor((threshold - now) / interval) + 1) * interval
                    )
    finally:
        _schedule(ctx, repo, policy, due)
    return done


@runs("lifecycle")
def _scheduled_run(ctx: Context, job: Job) -> None:
    name, policy = job.payload
    repo = repository(ctx, name)
    # A deleted policy or repository, or a schedule moved since, leaves this job stale.
    current = repo.lifecycle_policy if repo is not None else None
    if (
        repo is not None
        and current is policy
        and current is not None
        and current.next_evaluation_at == job.due
    ):
        evaluate_policy(ctx, repo)


def last_evaluated_at(policy: LifecyclePolicy, now: float) -> float:
    """When the policy was last evaluated as of ``now``, coalesced runs counted."""
    last = policy.last_evaluated_at
    if policy.coalesced and now >= last + policy.interval:
        last += math.floor((now - last) / policy.interval) * policy.interval
    return last


@subscribe(IMAGE_STORED, IMAGES_DELETED, SUBJECT_GONE, IMAGE_ACTIVATED, REPOSITORY_CHANGED)
def _repository_changed(ctx: Context, repo: Repository, *_: Any) -> None:
    """A change ends a coalesced stretch: the runs so far found nothing, the next one may."""
    policy = repo.lifecycle_policy
    if policy is not None and policy.coalesced:
        policy.last_evaluated_at = last_evaluated_at(policy, ctx.clock.now())
        policy.coalesced = False
        _schedule(ctx, repo, policy, policy.last_evaluated_at + policy.interval)


def install_policy(ctx: Context, repo: Repository, text: str) -> LifecyclePolicy:
    """Give ``repo`` the lifecycle policy ``text`` (normalised), its first evaluation an interval
    from now; a policy replaced keeps its schedule."""
    if repo.lifecycle_policy is not None:
        repo.lifecycle_policy.text = text
        return repo.lifecycle_policy
    interval = ctx.options.lifecycle_interval_seconds
    policy = repo.lifecycle_policy = LifecyclePolicy(text, math.inf, interval=interval)
    _schedule(ctx, repo, policy, ctx.clock.now() + interval if interval > 0 else math.inf)
    return policy


# -- PutLifecyclePolicy / GetLifecyclePolicy / DeleteLifecyclePolicy ---------------------------------


def _require_policy(repo: Repository) -> LifecyclePolicy:
    if repo.lifecycle_policy is None:
        raise LifecyclePolicyNotFoundException.for_repository(repo.name, repo.registry_id)
    return repo.lifecycle_policy


@operation("PutLifecyclePolicy")
def put_lifecycle_policy(
    ctx: Context, *, repositoryName: str, lifecyclePolicyText: str, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    text = lifecycle_rules.normalise(lifecycle_rules.parse(lifecyclePolicyText))
    install_policy(ctx, repo, text)
    return {"registryId": repo.registry_id, "repositoryName": repo.name, "lifecyclePolicyText": text}


def _policy_answer(ctx: Context, repo: Repository, policy: LifecyclePolicy) -> dict[str, Any]:
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "lifecyclePolicyText": policy.text,
        "lastEvaluatedAt": last_evaluated_at(policy, ctx.clock.now()),
    }


@operation("GetLifecyclePolicy")
def get_lifecycle_policy(
    ctx: Context, *, repositoryName: str, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    return _policy_answer(ctx, repo, _require_policy(repo))


@operation("DeleteLifecyclePolicy")
def delete_lifecycle_policy(
    ctx: Context, *, repositoryName: str, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    policy = _require_policy(repo)
    repo.lifecycle_policy = None
    return _policy_answer(ctx, repo, policy)


# -- previews -------------------------------------------------------------------------------------

_CLASS = {"standard": "STANDARD", "archive": "ARCHIVE"}


def _result(decision: Decision) -> dict[str, Any]:
    action: dict[str, Any] = {"type": decision.action.upper()}
    if decision.rule.target_storage_class is not None:
        action["targetStorageClass"] = decision.rule.target_storage_class.upper()
    image = decision.image
    return {
        "imageTags": list(image.tags) or None,
        "imageDigest": image.digest,
        "imagePushedAt": image.pushed_at,
        "action": action,
        "appliedRulePriority": decision.rule.priority,
        "storageClass": _CLASS[image.storage_class],
    }


@runs("lifecycle preview")
def _complete_preview(ctx: Context, job: Job) -> None:
    name, preview = job.payload
    repo = repository(ctx, name)
    current = repo.lifecycle_preview if repo is not None else None
    if repo is not None and current is not None and current is preview:
        _settle(repo, current, job.due)


def _settle(repo: Repository, preview: LifecyclePreview, now: float) -> bool:
    """Whether the preview is complete at ``now``; computes its results the first time it is
    (on the agenda, at its completion)."""
    if now < preview.completes_at:
        return False
    if preview.results is None:
        rules = lifecycle_rules.parse(preview.text)
        with paused_gc():
            preview.results = [_result(d) for d in plan(repo.images.values(), rules, preview.completes_at)]
    return True


@operation("StartLifecyclePolicyPreview")
def start_lifecycle_policy_preview(
    ctx: Context,
    *,
    repositoryName: str,
    registryId: str | None = None,
    lifecyclePolicyText: str | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    if lifecyclePolicyText is not None:
        lifecycle_rules.parse(lifecyclePolicyText)
        text = lifecyclePolicyText
    else:
        text = _require_policy(repo).text
    now = ctx.clock.now()
    if repo.lifecycle_preview is not None and not _settle(repo, repo.lifecycle_preview, now):
        raise LifecyclePolicyPreviewInProgressException(
            "The previous lifecycle policy preview request has not completed. Wait and try again."
        )
    preview = repo.lifecycle_preview = LifecyclePreview(
        text, now, now + ctx.options.lifecycle_preview_seconds
    )
    for_repository(ctx, preview.completes_at, "lifecycle preview", repo, (repo.name, preview))
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "lifecyclePolicyText": text,
        "status": "IN_PROGRESS",
    }


def _matches(result: dict[str, Any], image_id: ImageId) -> bool:
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    return (digest is None or result["imageDigest"] == digest) and (
        tag is None or tag in (result["imageTags"] or ())
    )


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    transitioning = sum(r["action"]["type"] == "TRANSITION" for r in results)
    summary: dict[str, Any] = {
        "expiringImageTotalCount": sum(r["action"]["type"] == "EXPIRE" for r in results)
    }
    if transitioning:
        summary["transitioningImageTotalCounts"] = [
            {"targetStorageClass": "ARCHIVE", "imageTotalCount": transitioning}
        ]
    return summary


@operation("GetLifecyclePolicyPreview")
def get_lifecycle_policy_preview(
    ctx: Context,
    *,
    repositoryName: str,
    registryId: str | None = None,
    imageIds: list[ImageId] | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
    filter: dict[str, str] | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    preview = repo.lifecycle_preview
    if preview is None:
        raise LifecyclePolicyPreviewNotFoundException("There is no dry run for this repository")
    forbid_paging_with_ids("imageIds", "images", imageIds, nextToken, maxResults)
    answer: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "lifecyclePolicyText": preview.text,
        "status": "IN_PROGRESS",
    }
    if not _settle(repo, preview, ctx.clock.now()):
        return answer
    results = preview.results or []
    answer["status"] = "COMPLETE"
    # The summary covers the whole preview, whatever the filter, ids or page.
    answer["summary"] = _summary(results)
    tag_status = (filter or {}).get("tagStatus", "ANY")
    shown = [
        (n, r)
        for n, r in enumerate(results)
        if tag_status == "ANY" or bool(r["imageTags"]) == (tag_status == "TAGGED")
    ]
    if imageIds is not None:
        answer["previewResults"] = [r for _, r in shown if any(_matches(r, i) for i in imageIds)]
        return answer
    found, token = page(
        shown,
        key=lambda item: item[0],
        scope=(
            "GetLifecyclePolicyPreview",
            repo.registry_id,
            repo.region,
            repo.name,
            preview.started_at,
            tag_status,
        ),
        next_token=nextToken,
        max_results=maxResults,
    )
    answer["previewResults"] = [r for _, r in found]
    answer["nextToken"] = token
    return answer
