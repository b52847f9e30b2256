"""Replication (spec §8.2): PutReplicationConfiguration, DescribeRegistry,
DescribeImageReplicationStatus, and the replication itself between the fake's registries.

How replicas travel: every push (``images.store_image``: PutImage and the fake's push helpers)
into a repository that the registry's rules match queues one replication per destination, due
``Options.replication_seconds`` (30) of virtual time later, as a job on the store's agenda: the
replica appears in the destination registry at the due time, with the source's digest, manifest, media
type, tags and the blobs it references; the status of that destination goes from IN_PROGRESS to
COMPLETE (or FAILED) at the same moment.

Choices where ECR's documentation is silent:

* Replicas are written by PutImage's rules in the destination (so its scan-on-push applies), but
  are never replicated again (no chaining). A push that only adds a tag replicates that tag.
* A destination in another account needs that registry's policy (Region of the destination) to
  allow ``ecr:ReplicateImage`` to the source account, and ``ecr:CreateRepository`` too when the
  repository does not exist there yet; otherwise the status is FAILED with failureCode
  ``ACCESS_DENIED`` and nothing is written. A replica PutImage refuses (e.g. a missing layer)
  fails with the refusal's error code as failureCode.
* ``deleteReplication`` mirrors deletions (BatchDeleteImage by tag or digest, lifecycle
  expirations) to the destinations of the rules that enable it, on the same delay; a tag is only
  removed in the destination if it still names the same digest there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ..agenda import Job
from ..events import REPLICATION_ACTION
from ..store import Blob, Image, PendingReplication, Registry, ReplicationStatus, Repository
from .context import Context, partition_of, repository_arn
from .errors import ECRError, InvalidParameterException, ValidationException
from .images import ImageId, delete_in_batches, require_image, store_image
from .mutability import tag_is_immutable
from .reactions import IMAGE_STORED, IMAGES_DELETED, subscribe
from .registry import operation
from .registry_policy import allows
from .templates import create_repository_for
from .timeline import runs, schedule

MAX_RULES = 10
MAX_DESTINATIONS = 25
ACCESS_DENIED = "ACCESS_DENIED"

Destination = tuple[str, str]  # (registry id, region)


# -- configuration --------------------------------------------------------------------------------


def _destinations(rules: list[dict[str, Any]]) -> dict[Destination, None]:
    return {(d["registryId"], d["region"]): None for rule in rules for d in rule["destinations"]}


@operation("PutReplicationConfiguration")
def put_replication_configuration(
    ctx: Context, *, replicationConfiguration: dict[str, Any]
) -> dict[str, Any]:
    rules = replicationConfiguration["rules"]
    if len(rules) > MAX_RULES:
        raise ValidationException(f"The replication configuration can contain at most {MAX_RULES} rules")
    destinations = _destinations(rules)
    if len(destinations) > MAX_DESTINATIONS:
        raise ValidationException(
            f"The replication configuration can contain at most {MAX_DESTINATIONS} unique destinations"
        )
    for registry_id, region in destinations:
        if (registry_id, region) == (ctx.account, ctx.region):
            raise InvalidParameterException.at(
                "replicationConfiguration",
                "Replication destination cannot be the same as the source registry",
            )
        if partition_of(region) != ctx.partition:
            raise ValidationException(
                f"Replication destination region '{region}' is not in the partition of the source registry "
                f"('{ctx.partition}'); cross-partition replication is not supported"
            )
    ctx.registry().replication_rules = [dict(rule) for rule in rules]
    return {"replicationConfiguration": {"rules": rules}}


@operation("DescribeRegistry")
def describe_registry(ctx: Context) -> dict[str, Any]:
    reg = ctx.registry()
    return {"registryId": reg.account, "replicationConfiguration": {"rules": reg.replication_rules}}


def rule_matches(rule: dict[str, Any], repository: str) -> bool:
    """A rule without filters matches every repository; PREFIX_MATCH filters match by prefix."""
    filters = rule.get("repositoryFilters")
    return not filters or any(repository.startswith(f["filter"]) for f in filters)


def destinations_for(reg: Registry, repository: str) -> dict[Destination, bool]:
    """The destinations of ``reg``'s rules that match ``repository``, each with whether one of
    those rules mirrors deletions there."""
    found: dict[Destination, bool] = {}
    for rule in reg.replication_rules:
        if rule_matches(rule, repository):
            mirror = bool(rule.get("deleteReplication", {}).get("enabled"))
            for d in rule["destinations"]:
                key = (d["registryId"], d["region"])
                found[key] = found.get(key, False) or mirror
    return found


# -- queueing ---------------------------------------------------------------------------------------


def enqueue(ctx: Context, pending: PendingReplication, kind: str = "replication") -> None:
    """Put ``pending`` on the agenda at its due time; ``kind`` names its runner (a backfill's
    replications and phases have their own, in the backfill module)."""
    schedule(ctx, pending.due_at, kind, pending.source_account, pending.source_region, pending)


def snapshot(repo: Repository, image: Image) -> tuple[tuple[Image, ...], tuple[Blob, ...]]:
    """What travels with ``image``: its child manifests (first) and itself, and their blobs."""
    images = (*(repo.images[d] for d in image.children if d in repo.images), image)
    blobs = tuple(repo.blobs[d] for img in images for d in img.blob_digests if d in repo.blobs)
    return images, blobs


def push_replication(
    ctx: Context,
    repo: Repository,
    image: Image,
    tags: tuple[str, ...],
    destination: Destination,
    due_at: float,
) -> PendingReplication:
    images, blobs = snapshot(repo, image)
    return PendingReplication(
        due_at,
        ctx.store.next_seq(),
        "push",
        repo.registry_id,
        repo.region,
        repository=repo.name,
        destination=destination,
        images=images,
        tags=tags,
        blobs=blobs,
    )


@subscribe(IMAGE_STORED)
def on_push(ctx: Context, repo: Repository, image: Image, tag: str | None) -> None:
    """Queue the replication of a push to every destination whose rule matches the repository."""
    if ctx.store.replicating:
        return  # a replica arriving: replication happens once per push
    reg = ctx.store.registry(repo.registry_id, repo.region)
    if not reg.replication_rules:  # the common case, and every seeded image pays for it
        image.replication = None
        return
    due = ctx.clock.now() + ctx.options.replication_seconds
    statuses: list[ReplicationStatus] = []
    for destination in destinations_for(reg, repo.name):
        pending = push_replication(ctx, repo, image, (tag,) if tag else (), destination, due)
        pending.status = ReplicationStatus(destination[1], destination[0])
        statuses.append(pending.status)
        enqueue(ctx, pending)
    image.replication = statuses


@subscribe(IMAGES_DELETED)
def on_delete(ctx: Context, repo: Repository, image_ids: list[ImageId], deleted: list[ImageId]) -> None:
    """Queue the mirroring of a BatchDeleteImage to the destinations whose rule enables it."""
    if ctx.store.replicating or not deleted:
        return
    reg = ctx.store.registry(repo.registry_id, repo.region)
    mirrored = [d for d, mirror in destinations_for(reg, repo.name).items() if mirror]
    if not mirrored:
        return
    gone = {d["imageDigest"] for d in deleted}
    deletions: dict[tuple[str, str | None], None] = {}
    for image_id in image_ids:
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if digest is not None:
            if digest in gone:
                deletions[(digest, None)] = None
        else:
            for d in deleted:
                if d.get("imageTag") == tag:
                    deletions[(d["imageDigest"], tag)] = None
                    break
    due = ctx.clock.now() + ctx.options.replication_seconds
    for destination in mirrored:
        pending = PendingReplication(
            due,
            ctx.store.next_seq(),
            "delete",
            repo.registry_id,
            repo.region,
            repository=repo.name,
            destination=destination,
            deletions=tuple(deletions),
        )
        enqueue(ctx, pending)


# -- settling ---------------------------------------------------------------------------------------


@runs("replication")
def _arrive(ctx: Context, job: Job) -> None:
    arrive(ctx, job.payload)


def arrive(ctx: Context, pending: PendingReplication) -> str | None:
    """A replication's due time: the replica lands (or the deletions are mirrored) in the
    destination registry. The push's failure code, or None."""
    ctx.store.replicating = True
    try:
        # A replica arriving sends ECR Replication Action, not a push's ECR Image Action.
        dest_ctx = dataclasses.replace(
            ctx, account=pending.destination[0], region=pending.destination[1], push_events=False
        )
        if pending.kind != "push":
            _apply_delete(dest_ctx, pending)
            return None
        failure = _apply_push(dest_ctx, pending)
        _replication_event(dest_ctx, pending, failure)
        if pending.status is not None:
            pending.status.status = "FAILED" if failure else "COMPLETE"
            pending.status.failure_code = failure
        return failure
    finally:
        ctx.store.replicating = False


def _replication_event(dest_ctx: Context, pending: PendingReplication, failure: str | None) -> None:
    """``ECR Replication Action`` (the ECR User Guide's samples for a completed and a failed
    replication): sent in the destination registry when the replica lands (or fails to), with the
    destination repository's ARN in ``resources``; ``image-tag`` only if the push named a tag."""
    account, region = dest_ctx.account, dest_ctx.region
    detail = {
        "result": "FAILED" if failure else "SUCCESS",
        "repository-name": pending.repository,
        "image-digest": pending.images[-1].digest,
        "source-account": pending.source_account,
        "action-type": "REPLICATE",
        "source-region": pending.source_region,
    }
    if pending.tags:
        detail["image-tag"] = pending.tags[0]
    resources = [repository_arn(account, region, pending.repository)]
    dest_ctx.store.events.emit(pending.due_at, REPLICATION_ACTION, account, region, resources, detail)


def _permitted(dest_ctx: Context, pending: PendingReplication, creates_repository: bool) -> bool:
    if dest_ctx.account == pending.source_account:
        return True  # within an account, replication needs no registry policy
    reg = dest_ctx.registry()
    return allows(reg, pending.source_account, "ecr:ReplicateImage") and (
        not creates_repository or allows(reg, pending.source_account, "ecr:CreateRepository")
    )


def _apply_push(dest_ctx: Context, pending: PendingReplication) -> str | None:
    """Write a replica into the destination registry; the failure code, or None."""
    repo = dest_ctx.registry().repositories.get(pending.repository)
    if not _permitted(dest_ctx, pending, repo is None):
        return ACCESS_DENIED
    try:
        if repo is None:
            repo = create_repository_for(dest_ctx, pending.repository, "REPLICATION")
        for blob in pending.blobs:
            if blob.digest not in repo.blobs:
                repo.blobs[blob.digest] = dataclasses.replace(blob)
        *children, image = pending.images
        for child in children:
            if child.digest not in repo.images:
                store_image(dest_ctx, repo, child.manifest, child.media_type, pushed_at=pending.due_at)
        # An immutable destination keeps its tag: the image arrives without it.
        tags = [t for t in pending.tags if not _held_elsewhere(repo, t, image.digest)]
        present = repo.images.get(image.digest)
        if present is None or present.status != "ACTIVE":
            first = tags.pop(0) if tags else None
            store_image(dest_ctx, repo, image.manifest, image.media_type, first, pushed_at=pending.due_at)
        for tag in tags:
            if tag not in repo.images[image.digest].tags:
                store_image(dest_ctx, repo, image.manifest, image.media_type, tag)
    except ECRError as err:
        return err.code
    return None


def _held_elsewhere(repo: Repository, tag: str, digest: str) -> bool:
    holder = repo.tag_index.get(tag)
    return holder is not None and holder != digest and tag_is_immutable(repo, tag)


def _apply_delete(dest_ctx: Context, pending: PendingReplication) -> None:

    repo = dest_ctx.registry().repositories.get(pending.repository)
    if repo is None or not _permitted(dest_ctx, pending, False):
        return
    ids: list[ImageId] = []
    for digest, tag in pending.deletions:
        if tag is None and digest in repo.images:
            ids.append({"imageDigest": digest})
        elif tag is not None and repo.tag_index.get(tag) == digest:
            ids.append({"imageTag": tag})
    delete_in_batches(dest_ctx, repo, ids)


# -- DescribeImageReplicationStatus ---------------------------------------------------------------


def _statuses(image: Image) -> Iterator[dict[str, Any]]:
    for s in image.replication or ():
        yield {
            "region": s.region,
            "registryId": s.registry_id,
            "status": s.status,
            "failureCode": s.failure_code,
        }


@operation("DescribeImageReplicationStatus")
def describe_image_replication_status(
    ctx: Context, *, repositoryName: str, imageId: ImageId, registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    image = require_image(repo, imageId)
    return {
        "repositoryName": repo.name,
        "imageId": {"imageDigest": image.digest, "imageTag": imageId.get("imageTag")},
        "replicationStatuses": list(_statuses(image)),
    }
