"""Promote an image inside an ECR repository: point a release tag (``prod``) at a tested image.

The image is named by a tag (``staging-<sha>``) or a digest. Its manifest is read with
``BatchGetImage`` and put again, byte for byte, under the release tag with ``PutImage``: the
retagging recipe of the ECR user guide, with no image pull or push. The digest stays the same
(a multi-arch index is promoted as the index, its platform images untouched), the image the
release tag named before stays in the repository (untagged if that was its last tag), and a
repository whose release tag is immutable refuses to move it.

Usage: python -m examples.promote_image --repository app --source staging-4f2a9c1 [--to prod]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import ImageIdentifierTypeDef, ImageTypeDef

#: every manifest type ECR stores; without acceptedMediaTypes ECR may not return an index
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class PromotionError(Exception):
    """The image could not be promoted; nothing changed."""


class SourceNotFoundError(PromotionError):
    """The repository, or the image to promote, does not exist."""


class TagImmutableError(PromotionError):
    """The release tag already names another image and the repository's tags are immutable."""


@dataclass(frozen=True)
class Promotion:
    repository: str
    tag: str
    digest: str
    media_type: str
    #: the image the tag named before, if any (it stays in the repository)
    previous: str | None
    #: False when the tag already named the image (nothing was written)
    changed: bool


def _image_id(ref: str) -> ImageIdentifierTypeDef:
    return {"imageDigest": ref} if DIGEST.fullmatch(ref) else {"imageTag": ref}


def _get(client: ECRClient, repository: str, refs: list[str]) -> tuple[dict[str, ImageTypeDef], set[str]]:
    """(ref -> image found, refs not found) in one BatchGetImage call."""
    try:
        answer = client.batch_get_image(
            repositoryName=repository,
            imageIds=[_image_id(ref) for ref in refs],
            acceptedMediaTypes=MANIFEST_TYPES,
        )
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
            raise SourceNotFoundError(f"repository {repository!r} does not exist") from err
        raise
    found: dict[str, ImageTypeDef] = {}
    for image in answer["images"]:
        ids = image["imageId"]
        for ref in refs:
            if ref in (ids.get("imageTag"), ids.get("imageDigest")) and ref not in found:
                found[ref] = image
    missing: set[str] = set()
    for failure in answer["failures"]:
        ref = failure["imageId"].get("imageTag") or failure["imageId"].get("imageDigest", "")
        if failure.get("failureCode") != "ImageNotFound":
            raise PromotionError(
                f"{repository}:{ref}: {failure.get('failureCode')}: {failure.get('failureReason')}"
            )
        missing.add(ref)
    return found, missing


def promote(client: ECRClient, repository: str, source: str, tag: str = "prod") -> Promotion:
    """Point ``tag`` at the image ``source`` (a tag or a digest) of ``repository``."""
    if DIGEST.fullmatch(tag) or not tag:
        raise ValueError(f"the release tag must be a tag, not {tag!r}")
    found, missing = _get(client, repository, [source] if source == tag else [source, tag])
    if source in missing:
        raise SourceNotFoundError(f"{repository}: no image {source!r} to promote")
    image = found[source]
    digest = image["imageId"]["imageDigest"]
    current = found.get(tag)
    previous = current["imageId"]["imageDigest"] if current else None
    media_type = image.get("imageManifestMediaType", "")
    if previous == digest:
        return Promotion(repository, tag, digest, media_type, previous, changed=False)
    try:
        client.put_image(
            repositoryName=repository,
            imageManifest=image["imageManifest"],
            imageManifestMediaType=media_type,
            imageTag=tag,
            imageDigest=digest,  # ECR checks it: the manifest must not have changed on the way
        )
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code == "ImageTagAlreadyExistsException":
            raise TagImmutableError(
                f"{repository}: tag {tag!r} is immutable and names {previous}; it cannot move to {digest}"
            ) from err
        if code == "ImageAlreadyExistsException":  # someone promoted the same image meanwhile
            return Promotion(repository, tag, digest, media_type, previous, changed=False)
        raise
    return Promotion(repository, tag, digest, media_type, previous, changed=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.promote_image",
        description="Point a release tag of an ECR repository at an image named by tag or digest.",
    )
    parser.add_argument("--repository", required=True)
    parser.add_argument("--source", required=True, help="tag or digest (sha256:...) of the image to promote")
    parser.add_argument("--to", default="prod", help="the release tag (default prod)")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)

    import boto3

    client = boto3.client("ecr", region_name=args.region)
    try:
        done = promote(client, args.repository, args.source, args.to)
    except PromotionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if done.changed:
        print(f"{done.repository}:{done.tag} -> {done.digest} (was {done.previous or 'unset'})")
    else:
        print(f"{done.repository}:{done.tag} already names {done.digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
