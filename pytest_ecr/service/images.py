"""Images: PutImage, BatchGetImage, BatchDeleteImage, ListImages, DescribeImages (spec §3)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..store import Blob, Image, Repository
from . import manifests, scan_results
from .context import Context
from .conversion import negotiate
from .errors import (
    ImageAlreadyExistsException,
    ImageDigestDoesNotMatchException,
    ImageNotFoundException,
    ImageTagAlreadyExistsException,
    InvalidParameterException,
    LayersNotFoundException,
    LimitExceededException,
    ReferencedImagesNotFoundException,
)
from .manifests import DIGEST_RE, TAG_RE
from .mutability import tag_is_immutable
from .pagination import forbid_paging_with_ids, page
from .pull_time import records_pulls
from .reactions import (
    ARCHIVED_IMAGE_PUSHED,
    IMAGE_PUSHED,
    IMAGE_STORED,
    IMAGES_DELETED,
    PULL_REQUESTED,
    REPOSITORY_CHANGED,
    SUBJECT_GONE,
    ask,
    notify,
)
from .registry import operation

MAX_IMAGES = 100_000
MAX_TAGS_PER_IMAGE = 1000

ImageId = dict[str, str]


def _bracketed(digests: list[str]) -> str:
    return "[" + ", ".join(digests) + "]"


def _check_put_inputs(tag: str | None, digest: str | None) -> None:
    if tag is not None and not TAG_RE.fullmatch(tag):
        raise InvalidParameterException.pattern("imageTag", TAG_RE.pattern)
    if digest is not None and not DIGEST_RE.fullmatch(digest):
        raise InvalidParameterException.pattern("imageDigest", DIGEST_RE.pattern)


def _check_references(repo: Repository, manifest: manifests.Manifest) -> None:
    where = f"repository with name '{repo.name}' in the registry with id '{repo.registry_id}'"
    if manifest.is_list:
        missing = [d for d in manifest.children if d not in repo.images]
        if missing:
            raise ReferencedImagesNotFoundException(
                f"Images with digests {_bracketed(missing)} required for pushing image into {where} do not exist"
            )
        return
    missing = [d for d in manifest.blob_digests if d not in repo.blobs]
    if missing:
        raise LayersNotFoundException(
            f"Layers with digests {_bracketed(missing)} required for pushing image into {where} do not exist"
        )


def _size(repo: Repository, manifest: manifests.Manifest) -> int:
    if manifest.is_list:
        # "the max size of all manifests in the list"
        return max((repo.images[d].size for d in manifest.children), default=0)
    if manifest.schema1_blob_digests:
        return sum(repo.blobs[d].size for d in manifest.schema1_blob_digests)
    return manifest.declared_size


def store_image(
    ctx: Context,
    repo: Repository,
    text: str,
    media_type: str | None = None,
    tag: str | None = None,
    digest: str | None = None,
    pushed_at: float | None = None,
) -> Image:
    """PutImage's rules, shared by the API handler and the fake's own push helpers."""
    _check_put_inputs(tag, None)  # the helpers' tags too: a tag PutImage refuses is never stored
    manifest = manifests.parse(text, media_type)
    actual = manifests.digest_of(text)
    if digest is not None and digest != actual:
        raise ImageDigestDoesNotMatchException(
            f"The digest '{digest}' provided does not match the digest '{actual}' of the image manifest"
        )
    _check_references(repo, manifest)
    image = repo.images.get(actual)
    # Pushing an archived (or restoring) image again restores it at once (spec §3.5 step 6).
    restores = image is not None and image.status != "ACTIVE"
    if image is not None and not restores and (tag is None or tag in image.tags):
        raise ImageAlreadyExistsException(
            f"Image with digest '{actual}' and tag '{tag if tag is not None else 'null'}' already exists in "
            f"the repository with name '{repo.name}' in registry with id '{repo.registry_id}'"
        )
    holder = repo.tag_index.get(tag) if tag is not None else None
    if holder == actual:
        holder = None  # a restoring re-push of a tag the image already has moves nothing
    if tag is not None and holder is not None and tag_is_immutable(repo, tag):
        raise ImageTagAlreadyExistsException(
            f"The image tag '{tag}' already exists in the '{repo.name}' repository and cannot be "
            "overwritten because the repository is immutable."
        )
    adds_tag = tag is not None and (image is None or tag not in image.tags)
    if image is not None and adds_tag and len(image.tags) >= MAX_TAGS_PER_IMAGE:
        raise LimitExceededException(
            f"The image with digest '{actual}' already has the maximum allowed number of tags "
            f"which is '{MAX_TAGS_PER_IMAGE}'"
        )
    if image is None and len(repo.images) >= MAX_IMAGES:
        raise LimitExceededException(
            f"The repository with name '{repo.name}' in registry with id '{repo.registry_id}' already has "
            f"the maximum allowed number of images which is '{MAX_IMAGES}'"
        )
    new = image is None
    if image is None:
        image = Image(
            digest=actual,
            manifest=text,
            media_type=manifest.media_type,
            size=_size(repo, manifest),
            pushed_at=ctx.clock.now() if pushed_at is None else pushed_at,
            seq=ctx.store.next_seq(),
            artifact_media_type=manifest.artifact_media_type,
            subject_digest=manifest.subject_digest,
            children=manifest.children,
            blob_digests=manifest.blob_digests,
        )
        repo.images[actual] = image
        for descriptor in manifest.blobs:
            # An uploaded blob learns its media type from the first manifest that references it.
            blob = repo.blobs[descriptor.digest]
            if blob.media_type is None:
                blob.media_type = descriptor.media_type
    if tag is not None and adds_tag:
        if holder is not None:
            # The tag moves; the image it leaves stays, untagged if that was its last tag.
            repo.images[holder].tags.remove(tag)
        image.tags.append(tag)
        repo.tag_index[tag] = actual
    if new:
        notify(IMAGE_PUSHED, ctx, repo, image)  # scans, signing jobs
    elif restores:
        notify(ARCHIVED_IMAGE_PUSHED, ctx, repo, image)  # restored at once
    notify(IMAGE_STORED, ctx, repo, image, tag)  # replication
    if ctx.push_events:
        # The push happened when the image says it was pushed (a seeded past, a replica's arrival).
        at = image.pushed_at if new else ctx.clock.now() if pushed_at is None else pushed_at
        ctx.store.events.image_action(at, "PUSH", repo.registry_id, repo.region, repo.name, actual, tag)
    return image


def store_with_blobs(
    ctx: Context,
    repo: Repository,
    manifest: str,
    media_type: str | None,
    blobs: Iterable[Blob],
    tag: str | None = None,
    pushed_at: float | None = None,
) -> Image:
    """Make ``blobs`` available in ``repo`` (those it lacks), then :func:`store_image`: what a
    push does when the blobs come from elsewhere (the fake's helpers, signatures, an upstream)."""
    for blob in blobs:
        repo.blobs.setdefault(blob.digest, blob)
    return store_image(ctx, repo, manifest, media_type, tag, pushed_at=pushed_at)


@operation("PutImage")
def put_image(
    ctx: Context,
    *,
    repositoryName: str,
    imageManifest: str,
    registryId: str | None = None,
    imageManifestMediaType: str | None = None,
    imageTag: str | None = None,
    imageDigest: str | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    _check_put_inputs(imageTag, imageDigest)
    image = store_image(ctx, repo, imageManifest, imageManifestMediaType, imageTag, imageDigest)
    return {
        "image": {
            "registryId": repo.registry_id,
            "repositoryName": repo.name,
            "imageId": {"imageDigest": image.digest, "imageTag": imageTag},
            "imageManifest": image.manifest,
            "imageManifestMediaType": image.media_type,
        }
    }


def _failure(image_id: ImageId, code: str, reason: str) -> dict[str, Any]:
    return {"imageId": dict(image_id), "failureCode": code, "failureReason": reason}


def _id_failure(image_id: ImageId) -> dict[str, Any] | None:
    """The per-item failure the Batch* operations give a malformed image id."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if digest is None and tag is None:
        return _failure(
            image_id, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"
        )
    if digest is not None and not DIGEST_RE.fullmatch(digest):
        return _failure(
            image_id,
            "InvalidImageDigest",
            f"Invalid request parameters: image digest should satisfy the regex '{DIGEST_RE.pattern}'",
        )
    if tag is not None and not TAG_RE.fullmatch(tag):
        return _failure(
            image_id,
            "InvalidImageTag",
            f"Invalid request parameters: image tag should satisfy the regex '{TAG_RE.pattern}'",
        )
    return None


def _find(repo: Repository, image_id: ImageId) -> Image | None:
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if digest is None:
        digest = repo.tag_index.get(tag or "")
    return repo.images.get(digest) if digest is not None else None


NOT_FOUND_REASON = "Requested image not found"


@operation("BatchGetImage")
def batch_get_image(
    ctx: Context,
    *,
    repositoryName: str,
    imageIds: list[ImageId],
    registryId: str | None = None,
    acceptedMediaTypes: list[str] | None = None,
) -> dict[str, Any]:
    # A pull-through cache rule first fetches what the cache lacks (creating the repository).
    fetched = ask(PULL_REQUESTED, ctx, repositoryName, registryId, imageIds)
    upstream = fetched or {}
    if fetched is not None and repositoryName not in ctx.registry(registryId).repositories:
        # Nothing could be fetched, so nothing was created: every id fails.
        return {
            "images": [],
            "failures": [
                _id_failure(i) or upstream.get(n) or _failure(i, "ImageNotFound", NOT_FOUND_REASON)
                for n, i in enumerate(imageIds)
            ],
        }
    repo = ctx.repository(repositoryName, registryId)
    images: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None]] = set()
    now = ctx.clock.now()
    records = records_pulls(ctx, repo)  # not for a principal excluded from pull-time updates
    pulled = False
    for position, image_id in enumerate(imageIds):
        failure = _id_failure(image_id) or upstream.get(position)
        image = _find(repo, image_id) if failure is None else None
        tag = image_id.get("imageTag")
        if failure is not None:
            failures.append(failure)
        elif image is None:
            failures.append(_failure(image_id, "ImageNotFound", NOT_FOUND_REASON))
        elif tag is not None and tag not in image.tags:
            failures.append(
                _failure(
                    image_id,
                    "ImageTagDoesNotMatchDigest",
                    "Invalid request parameters: tag does not match digest",
                )
            )
        elif image.status != "ACTIVE":
            failures.append(
                _failure(
                    image_id, "ImageInaccessible", f"The image is {image.status.lower()} and cannot be pulled"
                )
            )
        elif (image.digest, tag) in seen:
            continue
        # An id with a digest is a pull by digest, never converted (aws/containers-roadmap#1075).
        elif (
            served := negotiate(repo, image, acceptedMediaTypes, None if "imageDigest" in image_id else tag)
        ) is None:
            failures.append(_failure(image_id, "ImageNotFound", NOT_FOUND_REASON))
        else:
            seen.add((image.digest, tag))
            if records:
                image.last_pulled_at = now
                pulled = True
            images.append(
                {
                    "registryId": repo.registry_id,
                    "repositoryName": repo.name,
                    "imageId": {"imageDigest": served.digest, "imageTag": tag},
                    "imageManifest": served.manifest,
                    "imageManifestMediaType": served.media_type,
                }
            )
    if pulled:
        notify(REPOSITORY_CHANGED, ctx, repo)  # lifecycle's sinceImagePulled
    return {"images": images, "failures": failures}


def _delete_image(repo: Repository, image: Image) -> list[ImageId]:
    del repo.images[image.digest]
    for tag in image.tags:
        del repo.tag_index[tag]
    return [{"imageDigest": image.digest, "imageTag": t} for t in image.tags] or [
        {"imageDigest": image.digest}
    ]


@operation("BatchDeleteImage")
def batch_delete_image(
    ctx: Context, *, repositoryName: str, imageIds: list[ImageId], registryId: str | None = None
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    deleted: list[ImageId] = []
    failures: list[dict[str, Any]] = []
    for image_id in imageIds:
        failure = _id_failure(image_id)
        image = _find(repo, image_id) if failure is None else None
        tag = image_id.get("imageTag")
        if failure is not None:
            failures.append(failure)
        elif image is None or (tag is not None and tag not in image.tags):
            failures.append(_failure(image_id, "ImageNotFound", NOT_FOUND_REASON))
        elif "imageDigest" not in image_id:
            # By tag: only the tag goes, and the image with it if that was its last tag, unless a
            # manifest list still references the image (it then stays, untagged).
            image.tags.remove(tag or "")
            del repo.tag_index[tag or ""]
            if not image.tags and not repo.parents_of(image.digest):
                del repo.images[image.digest]
            deleted.append({"imageDigest": image.digest, "imageTag": tag or ""})
        elif parents := repo.parents_of(image.digest):
            failures.append(
                _failure(
                    image_id,
                    "ImageReferencedByManifestList",
                    f"Requested image referenced by manifest list: {_bracketed(parents)}",
                )
            )
        else:
            deleted.extend(_delete_image(repo, image))
    if deleted:
        # One event per image id the response reports deleted, with its tag if it has one.
        now, record = ctx.clock.now(), ctx.store.events.image_action
        for gone in deleted:
            record(
                now,
                "DELETE",
                repo.registry_id,
                repo.region,
                repo.name,
                gone["imageDigest"],
                gone.get("imageTag"),
            )
    notify(IMAGES_DELETED, ctx, repo, imageIds, deleted)  # replication mirrors deletions
    for digest in dict.fromkeys(d["imageDigest"] for d in deleted):
        if digest not in repo.images:
            notify(SUBJECT_GONE, ctx, repo, digest)  # its referrers follow
    return {"imageIds": deleted, "failures": failures}


#: image ids per BatchDeleteImage call: the operation's own limit
DELETE_BATCH = 100


def delete_in_batches(ctx: Context, repo: Repository, image_ids: list[ImageId]) -> None:
    """BatchDeleteImage of any number of ids, ``DELETE_BATCH`` per call: how the fake's own
    deletions (mirrored replica deletions, referrers following their subject) go through the
    operation's rules."""
    for start in range(0, len(image_ids), DELETE_BATCH):
        batch_delete_image(
            ctx,
            repositoryName=repo.name,
            imageIds=image_ids[start : start + DELETE_BATCH],
            registryId=repo.registry_id,
        )


def _status_matches(image: Image, wanted: str) -> bool:
    return wanted == "ANY" or image.status == wanted


def _seq_of(key: Any) -> int:
    """Where to resume from a token's key: its seq, or the start for a key of another shape
    (which ``page`` then compares as it always has)."""
    return key if isinstance(key, int) and not isinstance(key, bool) else -1


@operation("ListImages")
def list_images(
    ctx: Context,
    *,
    repositoryName: str,
    registryId: str | None = None,
    nextToken: str | None = None,
    maxResults: int | None = None,
    filter: dict[str, str] | None = None,
) -> dict[str, Any]:
    repo = ctx.repository(repositoryName, registryId)
    tag_status = (filter or {}).get("tagStatus", "ANY")
    image_status = (filter or {}).get("imageStatus", "ACTIVE")

    any_status = image_status == "ANY"
    tagged, untagged = tag_status != "UNTAGGED", tag_status != "TAGGED"

    def rows(images: Iterable[Image]) -> Iterator[ImageId]:
        # Every call of a paginated walk runs this for a page of images: attribute reads and
        # allocations kept out of the common case (one tag, ACTIVE); rows are the output itself.
        for image in images:
            if not any_status and image.status != image_status:
                continue
            tags = image.tags
            if tags:
                if tagged:
                    for tag in tags if len(tags) == 1 else sorted(tags):
                        yield {"imageDigest": image.digest, "imageTag": tag}
            elif untagged:
                yield {"imageDigest": image.digest}

    def key(row: ImageId) -> tuple[int, str]:
        # Only asked of the rows a page skips or ends with, all of them images that exist.
        return repo.images[row["imageDigest"]].seq, row.get("imageTag", "")

    found, token = page(
        rows(repo.images.values()),
        key=key,
        scope=("ListImages", repo.registry_id, repo.region, repo.name, tag_status, image_status),
        next_token=nextToken,
        max_results=maxResults,
        seek=lambda after: rows(
            repo.images.from_seq(_seq_of(after[0] if isinstance(after, tuple) and after else None))
        ),
    )
    return {"imageIds": found, "nextToken": token}


def detail(repo: Repository, image: Image) -> dict[str, Any]:
    """The ``ImageDetail`` structure."""
    return {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageDigest": image.digest,
        "imageTags": list(image.tags) or None,
        "imageSizeInBytes": image.size,
        "imagePushedAt": image.pushed_at,
        "imageManifestMediaType": image.media_type,
        "artifactMediaType": image.artifact_media_type,
        "lastRecordedPullTime": image.last_pulled_at,
        "subjectManifestDigest": image.subject_digest,
        "imageStatus": image.status,
        "lastArchivedAt": image.last_archived_at,
        "lastActivatedAt": image.last_activated_at,
        **scan_results.detail_members(image.scan),
    }


def require_image(repo: Repository, image_id: ImageId, field: str = "imageId") -> Image:
    """The image an API-level ``imageId`` names (tag and digest must agree), or ECR's whole-call
    error: InvalidParameterException for a malformed id, ImageNotFoundException otherwise."""
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    if digest is None and tag is None:
        raise InvalidParameterException.at(field, "Member must specify an imageDigest or an imageTag")
    _check_put_inputs(tag, digest)
    image = _find(repo, image_id)
    if image is None or (tag is not None and tag not in image.tags):
        raise ImageNotFoundException.for_image(image_id, repo.name, repo.registry_id)
    return image


def _describe_ids(repo: Repository, image_ids: list[ImageId]) -> list[dict[str, Any]]:
    found: dict[str, Image] = {}
    for image_id in image_ids:
        image = require_image(repo, image_id, "imageIds")
        found.setdefault(image.digest, image)
    return [detail(repo, image) for image in found.values()]


@operation("DescribeImages")
def describe_images(
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
    forbid_paging_with_ids("imageIds", "images", imageIds, nextToken, maxResults)
    if imageIds is not None:
        return {"imageDetails": _describe_ids(repo, imageIds)}
    tag_status = (filter or {}).get("tagStatus", "ANY")
    image_status = (filter or {}).get("imageStatus", "ACTIVE")

    def selected(images: Iterable[Image]) -> Iterator[Image]:
        for image in images:
            if _status_matches(image, image_status) and (
                tag_status == "ANY" or bool(image.tags) == (tag_status == "TAGGED")
            ):
                yield image

    found, token = page(
        selected(repo.images.values()),
        key=lambda image: image.seq,
        scope=("DescribeImages", repo.registry_id, repo.region, repo.name, tag_status, image_status),
        next_token=nextToken,
        max_results=maxResults,
        seek=lambda after: selected(repo.images.from_seq(_seq_of(after))),
    )
    return {"imageDetails": [detail(repo, image) for image in found], "nextToken": token}
