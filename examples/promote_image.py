"""Promote an image: point a release tag (``prod``) at a tested image, in its own repository or in
the replica ECR replication made of it in another region or account.

The image is named by a tag (``staging-<sha>``) or a digest. Its manifest is read with
``BatchGetImage`` and put again, byte for byte, under the release tag with ``PutImage``: the
retagging recipe of the ECR user guide, with no image pull or push. The digest stays the same
(a multi-arch index is promoted as the index, its platform images untouched), the image the
release tag named before stays in the repository (untagged if that was its last tag), and a
repository whose release tag is immutable refuses to move it.

Across regions or accounts (``promote_replica``), the image is not copied by the tool: ECR's
replication copies it. The tool finds the source image's digest, polls
``DescribeImageReplicationStatus`` until the replica in the destination registry is ``COMPLETE``
(failing on ``FAILED``, on no replication rule covering the destination, or after a deadline), then
promotes the replica by digest in the destination: the tag there names exactly the tested bytes.

Usage: python -m examples.promote_image --repository app --source staging-4f2a9c1 [--to prod]
                                        [--to-region eu-west-1 [--to-account 222222222222]]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
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


class ReplicationError(PromotionError):
    """The replica in the destination registry is not there, and will not be in time."""


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


def replication_status(
    source: ECRClient, repository: str, digest: str, region: str, registry_id: str
) -> tuple[str, str | None]:
    """(status, failureCode) of the image's replication to ``registry_id`` in ``region``."""
    answer = source.describe_image_replication_status(
        repositoryName=repository, imageId={"imageDigest": digest}
    )
    for entry in answer["replicationStatuses"]:
        if entry.get("region") == region and entry.get("registryId") == registry_id:
            return entry.get("status", ""), entry.get("failureCode")
    raise ReplicationError(
        f"{repository}@{digest} is not replicated to {registry_id} in {region}: no replication rule "
        "of the source registry covered it when it was pushed"
    )


def promote_replica(
    source: ECRClient,
    destination: ECRClient,
    repository: str,
    source_ref: str,
    tag: str = "prod",
    *,
    destination_registry: str,
    wait_seconds: float = 1800.0,
    poll_seconds: float = 15.0,
    sleep: Callable[[float], object] = time.sleep,
) -> Promotion:
    """Promote the replica of ``source_ref`` (tag or digest in ``repository`` of ``source``'s
    registry) to ``tag`` in the same-named repository of ``destination`` (a client for the
    destination region, with credentials of ``destination_registry``'s account).

    ``sleep`` is how the tool waits between polls (a test passes a virtual clock's advance).
    """
    found, missing = _get(source, repository, [source_ref])
    if source_ref in missing:
        raise SourceNotFoundError(f"{repository}: no image {source_ref!r} to promote")
    digest = found[source_ref]["imageId"]["imageDigest"]
    region = destination.meta.region_name
    waited = 0.0
    while True:
        status, failure = replication_status(source, repository, digest, region, destination_registry)
        if status == "COMPLETE":
            return promote(destination, repository, digest, tag)
        if status == "FAILED":
            raise ReplicationError(
                f"{repository}@{digest}: replication to {destination_registry} in {region} failed ({failure})"
            )
        if waited >= wait_seconds:
            raise ReplicationError(
                f"{repository}@{digest}: replication to {destination_registry} in {region} still "
                f"{status} after {waited:.0f} s"
            )
        sleep(poll_seconds)
        waited += poll_seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.promote_image",
        description="Point a release tag of an ECR repository, or of its replica in another region or "
        "account, at an image named by tag or digest.",
    )
    parser.add_argument("--repository", required=True)
    parser.add_argument("--source", required=True, help="tag or digest (sha256:...) of the image to promote")
    parser.add_argument("--to", default="prod", help="the release tag (default prod)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--to-region", default=None, help="promote the replica in this region")
    parser.add_argument(
        "--to-account", default=None, help="the replica's registry (default: the caller's account)"
    )
    args = parser.parse_args(argv)

    import boto3

    client = boto3.client("ecr", region_name=args.region)
    try:
        if args.to_region is None and args.to_account is None:
            done = promote(client, args.repository, args.source, args.to)
        else:
            # The destination client uses the same credentials: a role that may tag in the
            # destination account (for another account, configure a profile for it instead).
            destination = boto3.client("ecr", region_name=args.to_region or client.meta.region_name)
            registry = args.to_account or client.describe_registry()["registryId"]
            done = promote_replica(
                client, destination, args.repository, args.source, args.to, destination_registry=registry
            )
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
