"""Replication backfill (spec §8.3): Start/StopReplicationBackfill,
DescribeReplicationBackfillResults, ListReplicationBackfills.

A backfill replicates the images that already exist in the repositories the replication rules
send to its destination, through the same replication as pushes (see
:mod:`~pytest_ecr.service.replication`), its phases and replications jobs on the agenda. On the
fake's clock:

* PREPARING for ``Options.backfill_preparation_seconds`` (60) after the start; the set of
  replications (one per image and tag, one per untagged image; images of a manifest list travel
  with it) is the one that exists when the backfill starts; an image deleted before preparation
  ends fails with failureCode IMAGE_NOT_FOUND;
* IN_PROGRESS while its replications travel (``Options.replication_seconds``, 30);
* COMPLETE when all have finished, whatever their outcome: failed replications show in
  ``progress`` and ``results`` (the fake never fails a backfill as a whole, so never reports FAILED);
* Stop while PREPARING → STOPPED at once (``progress`` stays null); while IN_PROGRESS → STOPPING
  until the replications already started finish, then STOPPED. Stopping anything else is
  ReplicationBackfillInvalidStatusException.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..agenda import Job
from ..store import Backfill, PendingReplication, Registry
from .context import Context
from .errors import (
    LimitExceededException,
    ReplicationBackfillInProgressException,
    ReplicationBackfillInvalidStatusException,
    ReplicationBackfillNotFoundException,
    ValidationException,
)
from .pagination import page
from .registry import operation
from .replication import arrive, enqueue, push_replication, rule_matches
from .timeline import runs

#: backfills in progress per registry
MAX_IN_PROGRESS = 10
ACTIVE = ("PREPARING", "IN_PROGRESS", "STOPPING")
TERMINAL = ("COMPLETE", "FAILED", "STOPPED")
#: terminal backfills are listed for 90 days after they end
RETENTION_SECONDS = 90 * 86400.0


def _rules_to(reg: Registry, destination: dict[str, str]) -> list[dict[str, Any]]:
    """The replication rules of ``reg`` that send to ``destination``."""
    wanted = (destination["registryId"], destination["region"])
    return [
        r
        for r in reg.replication_rules
        if any((d["registryId"], d["region"]) == wanted for d in r["destinations"])
    ]


def _replications(rules: list[dict[str, Any]], reg: Registry) -> list[tuple[str, str, str | None]]:
    items: list[tuple[str, str, str | None]] = []
    for repo in reg.repositories.values():
        if not any(rule_matches(r, repo.name) for r in rules):
            continue
        for image in repo.images.values():
            if image.status != "ACTIVE" or (not image.tags and repo.parents_of(image.digest)):
                continue  # archived images stay; a list's untagged children go with the list
            tags: list[str | None] = [*image.tags] or [None]
            items.extend((repo.name, image.digest, tag) for tag in tags)
    return items


@operation("StartReplicationBackfill")
def start_replication_backfill(
    ctx: Context, *, destination: dict[str, str], registryId: str | None = None
) -> dict[str, Any]:
    reg = ctx.registry(registryId)
    rules = _rules_to(reg, destination)
    if not rules:
        raise ValidationException(
            f"The destination with region '{destination['region']}' and registry id "
            f"'{destination['registryId']}' is not in the replication configuration of the registry "
            f"with id '{reg.account}'"
        )
    active = [b for b in reg.backfills.values() if b.status in ACTIVE]
    if any(b.destination["region"] == destination["region"] for b in active):
        raise ReplicationBackfillInProgressException(
            f"A replication backfill is already in progress for the destination region '{destination['region']}'"
        )
    if len(active) >= MAX_IN_PROGRESS:
        raise LimitExceededException(
            f"The registry with id '{reg.account}' already has the maximum number of replication backfills "
            f"in progress, which is '{MAX_IN_PROGRESS}'"
        )
    now = ctx.clock.now()
    backfill = Backfill(
        str(uuid.uuid4()),
        reg.account,
        reg.region,
        {"region": destination["region"], "registryId": destination["registryId"]},
        now,
        _replications(rules, reg),
    )
    reg.backfills[backfill.backfill_id] = backfill
    due = now + ctx.options.backfill_preparation_seconds
    enqueue(
        ctx,
        PendingReplication(due, ctx.store.next_seq(), "prepare", reg.account, reg.region, backfill=backfill),
        "backfill prepared",
    )
    return _head(backfill)


@runs("backfill prepared")
def finish_preparing(ctx: Context, job: Job) -> None:
    """The end of a backfill's PREPARING: its replications set off (unless it was stopped)."""
    pending: PendingReplication = job.payload
    backfill = pending.backfill
    if backfill is None or backfill.status != "PREPARING":
        return
    backfill.prepared = True
    backfill.status = "IN_PROGRESS"
    reg = ctx.store.registry(backfill.registry_id, backfill.region)
    due = pending.due_at + ctx.options.replication_seconds
    destination = (backfill.destination["registryId"], backfill.destination["region"])
    for name, digest, tag in backfill.items:
        repo = reg.repositories.get(name)
        image = repo.images.get(digest) if repo is not None else None
        if repo is None or image is None:  # deleted since the start: nothing to send
            backfill.results.append(_result(name, digest, tag, "IMAGE_NOT_FOUND"))
            continue
        replica = push_replication(ctx, repo, image, (tag,) if tag else (), destination, due)
        replica.backfill = backfill
        backfill.in_flight += 1
        enqueue(ctx, replica, "backfill replication")
    if not backfill.in_flight:
        backfill.status, backfill.ended_at = "COMPLETE", pending.due_at


def _result(repository: str, digest: str, tag: str | None, failure: str | None) -> dict[str, Any]:
    return {
        "repositoryName": repository,
        "imageId": {"imageDigest": digest, "imageTag": tag},
        "status": "FAILED" if failure else "COMPLETE",
        "failureCode": failure,
    }


@runs("backfill replication")
def record_result(ctx: Context, job: Job) -> None:
    """One of a backfill's replications lands (or fails to): its result is recorded."""
    pending: PendingReplication = job.payload
    failure = arrive(ctx, pending)
    backfill = pending.backfill
    assert backfill is not None
    image = pending.images[-1]
    result = _result(pending.repository, image.digest, pending.tags[0] if pending.tags else None, failure)
    if image.children:
        # The children travel with the list: they share its outcome.
        result["subImageFailureCodes"] = [failure] if failure else []
    backfill.results.append(result)
    backfill.in_flight -= 1
    if backfill.in_flight == 0:
        backfill.status = "STOPPED" if backfill.status == "STOPPING" else "COMPLETE"
        backfill.ended_at = pending.due_at


def _find(ctx: Context, registry_id: str | None, backfill_id: str) -> tuple[Registry, Backfill]:
    reg = ctx.registry(registry_id)
    backfill = reg.backfills.get(backfill_id)
    if backfill is None:
        raise ReplicationBackfillNotFoundException(
            f"The replication backfill with id '{backfill_id}' does not exist in the registry with id '{reg.account}'"
        )
    return reg, backfill


def _head(backfill: Backfill) -> dict[str, Any]:
    return {
        "registryId": backfill.registry_id,
        "replicationBackfillId": backfill.backfill_id,
        "destination": backfill.destination,
        "status": backfill.status,
        "startedAt": backfill.started_at,
    }


def _progress(backfill: Backfill) -> dict[str, Any] | None:
    if not backfill.prepared:
        return None
    failed = [r for r in backfill.results if r["status"] == "FAILED"]
    return {
        "totalReplicationCount": len(backfill.items),
        "completedReplicationCount": len(backfill.results) - len(failed),
        "failedReplicationCount": len(failed),
        "failureCodes": sorted({r["failureCode"] for r in failed}),
    }


@operation("StopReplicationBackfill")
def stop_replication_backfill(
    ctx: Context, *, replicationBackfillId: str, registryId: str | None = None
) -> dict[str, Any]:
    _, backfill = _find(ctx, registryId, replicationBackfillId)
    if backfill.status == "PREPARING":
        backfill.status, backfill.ended_at = "STOPPED", ctx.clock.now()
    elif backfill.status == "IN_PROGRESS":
        backfill.status = "STOPPING"
    else:
        raise ReplicationBackfillInvalidStatusException(
            f"The replication backfill with id '{replicationBackfillId}' cannot be stopped because its status "
            f"is {backfill.status}"
        )
    return _head(backfill)


@operation("DescribeReplicationBackfillResults")
def describe_replication_backfill_results(
    ctx: Context,
    *,
    replicationBackfillId: str,
    registryId: str | None = None,
    resultStatusFilter: str | None = None,
    maxResults: int | None = None,
    nextToken: str | None = None,
) -> dict[str, Any]:
    _, backfill = _find(ctx, registryId, replicationBackfillId)
    done = backfill.status in TERMINAL
    rows = [
        (i, r)
        for i, r in enumerate(backfill.results if done else [])
        if resultStatusFilter is None or r["status"] == resultStatusFilter
    ]
    found, token = page(
        rows,
        key=lambda row: row[0],
        scope=("DescribeReplicationBackfillResults", backfill.backfill_id, resultStatusFilter),
        next_token=nextToken,
        max_results=maxResults,
    )
    return {
        **_head(backfill),
        "progress": _progress(backfill),
        "results": [r for _, r in found],
        "endedAt": backfill.ended_at,
        "nextToken": token,
    }


@operation("ListReplicationBackfills")
def list_replication_backfills(
    ctx: Context,
    *,
    registryId: str | None = None,
    maxResults: int | None = None,
    nextToken: str | None = None,
) -> dict[str, Any]:
    reg = ctx.registry(registryId)
    now = ctx.clock.now()
    rows = [
        (i, b)
        for i, b in enumerate(reg.backfills.values())
        if b.ended_at is None or now - b.ended_at < RETENTION_SECONDS
    ]
    found, token = page(
        rows,
        key=lambda row: row[0],
        scope=("ListReplicationBackfills", reg.account, reg.region),
        next_token=nextToken,
        max_results=maxResults,
        default_page=25,
    )
    backfills = [
        {
            "replicationBackfillId": b.backfill_id,
            "destination": b.destination,
            "status": b.status,
            "progress": _progress(b),
            "startedAt": b.started_at,
            "endedAt": b.ended_at,
        }
        for _, b in found
    ]
    return {"registryId": reg.account, "backfills": backfills, "nextToken": token}
