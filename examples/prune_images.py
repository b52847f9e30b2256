"""Prune an ECR repository: drop old untagged images and all but the newest K tagged images.

Usage: python -m examples.prune_images --repository app --keep 5 --untagged-days 14 [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

#: BatchDeleteImage accepts at most this many image ids per call.
BATCH_SIZE = 100


class PruneError(Exception):
    """The repository could not be pruned at all (nothing was deleted)."""


class RepositoryNotFoundError(PruneError):
    """The repository does not exist; the botocore ClientError is the ``__cause__``."""


@dataclass(frozen=True)
class Image:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
    #: the image this one refers to (a signature, an SBOM: OCI ``subject``), if any
    subject: str | None = None


@dataclass(frozen=True)
class DeleteFailure:
    digest: str | None
    code: str
    reason: str


@dataclass
class PruneReport:
    repository: str
    dry_run: bool
    kept: list[Image] = field(default_factory=list)
    #: images the policy selected for deletion (on a dry run, what would be deleted)
    selected: list[Image] = field(default_factory=list)
    #: signatures, SBOMs and other referrers: never judged on their own (they are untagged), they
    #: stay with their subject, and ECR deletes a deleted subject's referrers within 24 hours
    referrers: list[Image] = field(default_factory=list)
    #: digests ECR confirmed deleted (always empty on a dry run)
    deleted: list[str] = field(default_factory=list)
    failures: list[DeleteFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _images(client: ECRClient, repository: str) -> Iterator[Image]:
    """Every image of the repository, once each (DescribeImages gives one detail per image)."""
    for page in client.get_paginator("describe_images").paginate(repositoryName=repository):
        for detail in page["imageDetails"]:
            yield Image(
                digest=detail["imageDigest"],
                tags=tuple(detail.get("imageTags", ())),
                pushed_at=detail["imagePushedAt"],
                subject=detail.get("subjectManifestDigest"),
            )


def _select(
    images: list[Image], now: datetime, untagged_older_than_days: float, keep_tags: int
) -> tuple[list[Image], list[Image]]:
    """(kept, to delete), newest first."""
    newest_first = sorted(images, key=lambda i: (i.pushed_at, i.digest), reverse=True)
    cutoff = now - timedelta(days=untagged_older_than_days)
    kept: list[Image] = []
    doomed: list[Image] = []
    tagged_kept = 0
    for image in newest_first:
        if not image.tags:
            (doomed if image.pushed_at < cutoff else kept).append(image)
        elif tagged_kept < keep_tags:
            tagged_kept += 1
            kept.append(image)
        else:
            doomed.append(image)
    return kept, doomed


def _delete(client: ECRClient, repository: str, digests: list[str], report: PruneReport) -> None:
    for start in range(0, len(digests), BATCH_SIZE):
        batch = digests[start : start + BATCH_SIZE]
        response = client.batch_delete_image(
            repositoryName=repository, imageIds=[{"imageDigest": d} for d in batch]
        )
        # One id per deleted tag comes back: count each image once.
        confirmed = dict.fromkeys(
            i["imageDigest"] for i in response.get("imageIds", []) if "imageDigest" in i
        )
        report.deleted.extend(confirmed)
        report.failures.extend(
            DeleteFailure(
                f["imageId"].get("imageDigest"), f.get("failureCode", "Unknown"), f.get("failureReason", "")
            )
            for f in response.get("failures", [])
        )


def prune(
    client: ECRClient,
    repository: str,
    *,
    untagged_older_than_days: float,
    keep_tags: int,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PruneReport:
    """Apply the policy to ``repository``; per-image delete failures are reported, not raised."""
    if keep_tags < 0 or untagged_older_than_days < 0:
        raise ValueError("keep_tags and untagged_older_than_days must not be negative")
    now = now or datetime.now(timezone.utc)
    try:
        images = list(_images(client, repository))
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
            raise RepositoryNotFoundError(f"repository {repository!r} does not exist") from err
        raise
    report = PruneReport(repository, dry_run)
    report.referrers = [i for i in images if i.subject is not None]
    judged = [i for i in images if i.subject is None]
    report.kept, report.selected = _select(judged, now, untagged_older_than_days, keep_tags)
    if not dry_run:
        _delete(client, repository, [i.digest for i in report.selected], report)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.prune_images",
        description="Delete old untagged images and all but the newest tagged images of an ECR repository.",
    )
    parser.add_argument("--repository", required=True)
    parser.add_argument("--keep", type=int, default=10, help="tagged images to keep, newest first")
    parser.add_argument(
        "--untagged-days", type=float, default=14, help="delete untagged images older than this"
    )
    parser.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)

    import boto3

    client = boto3.client("ecr", region_name=args.region)
    try:
        report = prune(
            client,
            args.repository,
            untagged_older_than_days=args.untagged_days,
            keep_tags=args.keep,
            dry_run=args.dry_run,
        )
    except PruneError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    verb = "would delete" if report.dry_run else "deleted"
    count = len(report.selected) if report.dry_run else len(report.deleted)
    print(f"{args.repository}: kept {len(report.kept)}, {verb} {count}")
    deleted = set(report.deleted)
    for image in report.selected:
        if report.dry_run or image.digest in deleted:
            print(f"  {image.digest} {','.join(image.tags) or '<untagged>'} {image.pushed_at:%Y-%m-%d}")
    for failure in report.failures:
        print(f"error: {failure.digest}: {failure.code}: {failure.reason}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
