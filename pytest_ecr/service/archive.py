"""Image storage classes (spec §3.11): UpdateImageStorageClass, and restores that finish on the clock.

ARCHIVE moves an image to ARCHIVED at once. STANDARD starts a restore: the image is ACTIVATING
until ``Options.restore_seconds`` of virtual time have passed (ECR: "typically up to 20 minutes";
0 makes a restore finish on the next call), then ACTIVE with ``lastActivatedAt`` set to the moment
the restore finished. Pushing an archived image again restores it at once. A restored image is
treated as newly pushed: its old scan is gone and scan on push applies again.

A manifest list / index changes class together with its children (a child on its own cannot):
archiving the list archives the children no still-active list needs, restoring it restores its
archived children.
"""

from __future__ import annotations

from typing import Any

from ..agenda import Job
from ..events import IMAGE_ACTION, REFERRER_ACTION, instant
from ..store import Image, Repository
from .context import Context
from .errors import ImageStorageClassUpdateNotSupportedException
from .images import ImageId, require_image
from .reactions import (
    ARCHIVED_IMAGE_PUSHED,
    IMAGE_ACTIVATED,
    REPOSITORY_CHANGED,
    SUBJECT_GONE,
    notify,
    subscribe,
)
from .registry import operation
from .timeline import for_repository, repository, runs

#: targetStorageClass -> the status an image already in that class has
_IN_CLASS = {"ARCHIVE": "ARCHIVED", "STANDARD": "ACTIVE"}


def _not_supported(
    repo: Repository, image: Image, reason: str
) -> ImageStorageClassUpdateNotSupportedException:
    return ImageStorageClassUpdateNotSupportedException(
        f"The storage class of the image with digest '{image.digest}' in the repository with name "
        f"'{repo.name}' in the registry with id '{repo.registry_id}' cannot be updated: {reason}"
    )


def _check_transition(repo: Repository, image: Image, target: str) -> None:
    parents = repo.parents_of(image.digest)
    if parents:
        raise _not_supported(
            repo,
            image,
            f"it is referenced by the manifest list(s) [{', '.join(parents)}] and moves with them",
        )
    if image.status == "ACTIVATING":
        raise _not_supported(repo, image, "it is being restored from the archive")
    if image.status == _IN_CLASS[target]:
        raise _not_supported(repo, image, f"it is already in the {target} storage class")


def _children(repo: Repository, image: Image) -> list[Image]:
    return [repo.images[d] for d in image.children if d in repo.images]


def _storage_class_event(ctx: Context, repo: Repository, image: Image, target: str, at: float) -> None:
    """``ECR Image Action`` UPDATE_STORAGE_CLASS (the ECR User Guide's archive and restore samples),
    ``ECR Referrer Action`` for an image that has a subject (the guide's referrer restore sample):
    a restore adds ``last-activated-at``; ``artifact-media-type`` is left out when the image has
    none (a manifest list)."""
    detail: dict[str, Any] = {
        "action-type": "UPDATE_STORAGE_CLASS",
        "target-storage-class": target,
        "image-digest": image.digest,
        "repository-name": repo.name,
        "result": "SUCCESS",
        "manifest-media-type": image.media_type,
    }
    if image.artifact_media_type is not None:
        detail["artifact-media-type"] = image.artifact_media_type
    if target == "STANDARD":
        detail["last-activated-at"] = instant(at)
    detail_type = REFERRER_ACTION if image.subject_digest is not None else IMAGE_ACTION
    ctx.store.events.emit(at, detail_type, repo.registry_id, repo.region, [], detail)


def _archive(ctx: Context, repo: Repository, image: Image) -> None:
    now = ctx.clock.now()
    image.status, image.last_archived_at = "ARCHIVED", now
    notify(SUBJECT_GONE, ctx, repo, image.digest)
    _storage_class_event(ctx, repo, image, "ARCHIVE", now)
    for child in _children(repo, image):
        # A child another active list still references must stay pullable.
        if child.status == "ACTIVE" and all(
            repo.images[p].status != "ACTIVE" for p in repo.parents_of(child.digest)
        ):
            child.status, child.last_archived_at = "ARCHIVED", now
            notify(SUBJECT_GONE, ctx, repo, child.digest)
            _storage_class_event(ctx, repo, child, "ARCHIVE", now)


def _begin_restore(ctx: Context, repo: Repository, image: Image) -> None:
    done_at = ctx.clock.now() + ctx.options.restore_seconds
    for member in [image, *(c for c in _children(repo, image) if c.status == "ARCHIVED")]:
        member.status = "ACTIVATING"
        repo.restores[member.digest] = done_at
        for_repository(ctx, done_at, "restore", repo, (repo.name, member.digest, done_at))
    notify(REPOSITORY_CHANGED, ctx, repo)


def _activate(ctx: Context, repo: Repository, image: Image, at: float) -> None:
    repo.restores.pop(image.digest, None)
    image.status, image.last_activated_at = "ACTIVE", at
    # "Scan results from before the image was archived will not be available."
    image.scan = None
    notify(IMAGE_ACTIVATED, ctx, repo, image)  # scanned again, as on push


@subscribe(ARCHIVED_IMAGE_PUSHED)
def restore_now(ctx: Context, repo: Repository, image: Image) -> None:
    """Restore an archived or restoring image, and its children, at once (a re-push)."""
    now = ctx.clock.now()
    for member in [image, *(c for c in _children(repo, image) if c.status != "ACTIVE")]:
        _activate(ctx, repo, member, now)


@runs("restore")
def _finish_restore(ctx: Context, job: Job) -> None:
    """A restore's end: the image is ACTIVE again (unless it was deleted, re-pushed or archived
    and restored anew meanwhile: then this job is stale)."""
    name, digest, done_at = job.payload
    repo = repository(ctx, name)
    if repo is None or repo.restores.get(digest) != done_at:
        return
    image = repo.images.get(digest)
    if image is not None and image.status == "ACTIVATING":
        _activate(ctx, repo, image, done_at)
        _storage_class_event(ctx, repo, image, "STANDARD", done_at)
    else:  # deleted while restoring
        del repo.restores[digest]


@operation("UpdateImageStorageClass")
def update_image_storage_class(
    ctx: Context,
    *,
    repositoryName: str,
    imageId: ImageId,
    targetStorageClass: str,
    registryId: str | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    image = require_image(repo, imageId)
    _check_transition(repo, image, targetStorageClass)
    if targetStorageClass == "ARCHIVE":
        _archive(ctx, repo, image)
    else:
        _begin_restore(ctx, repo, image)
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": {"imageDigest": image.digest, "imageTag": imageId.get("imageTag")},
        "imageStatus": image.status,
    }
