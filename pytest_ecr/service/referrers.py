"""OCI referrers (spec §3.10): ListImageReferrers over the images whose ``subject`` is a digest,
and referrers following their subject.

When an image is deleted or archived, ECR deletes or archives its referrers (signatures, SBOMs)
"within 24 hours". The fake does it ``Options.referrer_cleanup_seconds`` (a day) after the subject
went, through BatchDeleteImage and UpdateImageStorageClass as a user would, for the referrers of
the referrers too. A subject pushed again (or restored) by then keeps its referrers.
"""

from __future__ import annotations

import json
from typing import Any

from ..agenda import Job
from ..store import Image, Repository
from .archive import update_image_storage_class
from .context import Context
from .errors import InvalidParameterException
from .images import delete_in_batches
from .manifests import DIGEST_RE
from .pagination import page
from .reactions import SUBJECT_GONE, subscribe
from .registry import operation
from .timeline import for_repository, repository, runs

#: The model's default page (the API reference page says 50; the model's documentation says 20).
DEFAULT_PAGE = 20


def referrer(image: Image) -> dict[str, Any]:
    """The ``ImageReferrer`` for an image that has a subject."""
    annotations = json.loads(image.manifest).get("annotations")
    return {
        "digest": image.digest,
        "mediaType": image.media_type,
        # The OCI rule: the manifest's artifactType, else its config's media type.
        "artifactType": image.artifact_media_type,
        "size": len(image.manifest.encode("utf-8")),
        "annotations": annotations if isinstance(annotations, dict) and annotations else None,
        "artifactStatus": image.status,
    }


@operation("ListImageReferrers")
def list_image_referrers(
    ctx: Context,
    *,
    repositoryName: str,
    subjectId: dict[str, str],
    registryId: str | None = None,
    filter: dict[str, Any] | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    subject = subjectId["imageDigest"]
    if not DIGEST_RE.fullmatch(subject):
        raise InvalidParameterException.pattern("imageDigest", DIGEST_RE.pattern)
    types = set((filter or {}).get("artifactTypes") or [])
    status = (filter or {}).get("artifactStatus", "ACTIVE")
    # An unknown subject is not an error: a registry must list referrers pushed before their subject.
    selected = (
        image
        for image in repo.images.referrers(subject)
        if (status == "ANY" or image.status == status) and (not types or image.artifact_media_type in types)
    )
    found, token = page(
        selected,
        key=lambda image: image.seq,
        scope=(
            "ListImageReferrers",
            repo.registry_id,
            repo.region,
            repo.name,
            subject,
            sorted(types),
            status,
        ),
        next_token=nextToken,
        max_results=maxResults,
        default_page=DEFAULT_PAGE,
    )
    return {"referrers": [referrer(image) for image in found], "nextToken": token}


# -- referrers follow their subject ---------------------------------------------------------------


@subscribe(SUBJECT_GONE)
def follow_subject(ctx: Context, repo: Repository, digest: str) -> None:
    """``digest`` was just deleted or archived: its referrers, if any, follow in due time (a
    later follow-up of the same subject replaces this one)."""
    if repo.images.has_referrers(digest):
        due = repo.referrer_followups[digest] = ctx.clock.now() + ctx.options.referrer_cleanup_seconds
        for_repository(ctx, due, "referrers", repo, (repo.name, digest, due))


def _descendants(repo: Repository, subject: str) -> list[Image]:
    """The referrers of ``subject``, of those referrers, and so on, each once."""
    found: dict[str, Image] = {}
    pending = [subject]
    while pending:
        for image in repo.images.referrers(pending.pop()):
            if image.digest not in found:
                found[image.digest] = image
                pending.append(image.digest)
    return list(found.values())


@runs("referrers")
def _follow(ctx: Context, job: Job) -> None:
    """Delete (archive) the referrers of a subject deleted (archived) long enough ago."""
    name, subject, due_at = job.payload
    repo = repository(ctx, name)
    if repo is not None and repo.referrer_followups.get(subject) == due_at:
        del repo.referrer_followups[subject]
        image = repo.images.get(subject)
        followers = _descendants(repo, subject)
        if image is None:
            delete_in_batches(ctx, repo, [{"imageDigest": f.digest} for f in followers])
        elif image.status == "ARCHIVED":
            for follower in followers:
                if follower.status == "ACTIVE" and not repo.parents_of(follower.digest):
                    update_image_storage_class(
                        ctx,
                        repositoryName=repo.name,
                        imageId={"imageDigest": follower.digest},
                        targetStorageClass="ARCHIVE",
                        registryId=repo.registry_id,
                    )
