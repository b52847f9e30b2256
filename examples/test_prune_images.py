"""Tests of the prune tool, run against pytest-ecr's fake ECR (no AWS account, no network)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from examples.prune_images import BATCH_SIZE, RepositoryNotFoundError, main, prune

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def images_by_digest(client: Any, repository: str) -> dict[str, dict[str, Any]]:
    """The repository's images as ECR describes them now, walking every page."""
    pages = client.get_paginator("describe_images").paginate(repositoryName=repository)
    return {d["imageDigest"]: d for page in pages for d in page["imageDetails"]}


def tags_of(client: Any, repository: str) -> set[str]:
    return {tag for d in images_by_digest(client, repository).values() for tag in d.get("imageTags", [])}


# -- untagged images ----------------------------------------------------------------------------


@pytest.mark.ecr_seed(
    images={
        "app": [
            {"tags": [], "pushed_days_ago": 40, "size": 4001},
            {"tags": [], "pushed_days_ago": 15, "size": 4002},
            {"tags": [], "pushed_days_ago": 10, "size": 4003},
            {"tags": [], "pushed_days_ago": 0, "size": 4004},
            {"tags": ["v1"], "pushed_days_ago": 90, "size": 4005},
        ]
    }
)
def test_untagged_images_older_than_threshold_are_deleted(ecr, ecr_client):
    before = images_by_digest(ecr_client, "app")
    digest_of_size = {d["imageSizeInBytes"]: digest for digest, d in before.items()}
    old = [digest_of_size[4001], digest_of_size[4002]]

    report = prune(ecr_client, "app", untagged_older_than_days=14, keep_tags=5)

    assert sorted(report.deleted) == sorted(old)
    assert report.ok
    ecr.calls.assert_called("BatchDeleteImage", times=1, repositoryName="app")
    [call] = ecr.calls.filter("BatchDeleteImage")
    assert sorted(i["imageDigest"] for i in call.params["imageIds"]) == sorted(old)
    after = images_by_digest(ecr_client, "app")
    # The recent untagged images and the (old, but tagged) v1 stay.
    assert set(after) == set(before) - set(old)
    assert {d["imageSizeInBytes"] for d in after.values()} == {4003, 4004, 4005}


@pytest.mark.parametrize(("days_ago", "deleted"), [(14, False), (14.001, True)])
def test_untagged_threshold_is_strictly_older_than(ecr, ecr_client, ecr_repo, days_ago, deleted):
    ecr.clock.freeze(at=1_700_000_000.0)
    image = ecr.push_image(ecr_repo.name, pushed_days_ago=days_ago)
    now = datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)

    report = prune(ecr_client, ecr_repo.name, untagged_older_than_days=14, keep_tags=1, now=now)

    assert (image.digest in report.deleted) is deleted
    assert (image.digest in images_by_digest(ecr_client, ecr_repo.name)) is not deleted


# -- tagged images ------------------------------------------------------------------------------

# Pushed out of date order, so the tool must sort by imagePushedAt rather than trust listing order.
VERSIONS = [("v4", 3), ("v1", 50), ("v6", 1), ("v2", 20), ("v5", 2), ("v3", 10)]


@pytest.mark.parametrize(
    ("keep", "kept"), [(0, []), (1, ["v6"]), (3, ["v6", "v5", "v4"]), (6, "all"), (9, "all")]
)
@pytest.mark.ecr_seed(images={"app": [{"tags": [tag], "pushed_days_ago": days} for tag, days in VERSIONS]})
def test_keeps_the_newest_tagged_images(ecr, ecr_client, keep, kept):
    expected = {tag for tag, _ in VERSIONS} if kept == "all" else set(kept)

    report = prune(ecr_client, "app", untagged_older_than_days=14, keep_tags=keep)

    assert tags_of(ecr_client, "app") == expected
    assert len(report.deleted) == len(VERSIONS) - len(expected)
    assert [i.tags[0] for i in report.kept] == sorted(expected, reverse=True)  # newest first
    if len(expected) == len(VERSIONS):
        ecr.calls.assert_not_called("BatchDeleteImage")


@pytest.mark.ecr_seed(
    images={
        "app": [
            {"tags": ["v1"], "pushed_days_ago": 3},
            {"tags": ["v2"], "pushed_days_ago": 2},
            {"tags": ["v3", "latest", "stable"], "pushed_days_ago": 1},
        ]
    }
)
def test_an_image_with_several_tags_counts_once(ecr, ecr_client):
    report = prune(ecr_client, "app", untagged_older_than_days=14, keep_tags=2)

    # Counting tags (ListImages rows) instead of images would keep only the v3 image.
    assert tags_of(ecr_client, "app") == {"v3", "latest", "stable", "v2"}
    assert [i.tags for i in report.kept] == [("v3", "latest", "stable"), ("v2",)]
    assert len(report.deleted) == 1

    # Deleting a many-tagged image: ECR answers one id per tag, the report names the image once.
    report = prune(ecr_client, "app", untagged_older_than_days=14, keep_tags=0)

    last = ecr.calls.filter("BatchDeleteImage")[-1]
    assert len(last.response["imageIds"]) == 4  # v2, and v3/latest/stable
    assert len(report.deleted) == len(set(report.deleted)) == 2
    assert images_by_digest(ecr_client, "app") == {}


# -- many images --------------------------------------------------------------------------------


def test_large_repository_is_paged_and_deleted_in_batches(ecr, ecr_client, ecr_repo):
    repo = ecr_repo.name
    untagged = [ecr.push_image(repo, size=1024, pushed_days_ago=30).digest for _ in range(230)]
    tagged = [ecr.push_image(repo, f"build-{n}", size=1024, pushed_days_ago=20 - n).digest for n in range(20)]
    newest = tagged[-5:]

    report = prune(ecr_client, repo, untagged_older_than_days=14, keep_tags=5)

    # 250 images: three DescribeImages pages, the later ones asked for with the previous nextToken.
    describes = ecr.calls.filter("DescribeImages", repositoryName=repo)
    assert [len(c.response["imageDetails"]) for c in describes] == [100, 100, 50]
    assert "nextToken" not in describes[0].params
    assert [c.params["nextToken"] for c in describes[1:]] == [c.response["nextToken"] for c in describes[:-1]]
    # 245 deletions: batches of at most 100, every digest exactly once.
    deletes = ecr.calls.assert_called("BatchDeleteImage", times=3, repositoryName=repo)
    assert [len(c.params["imageIds"]) for c in deletes] == [BATCH_SIZE, BATCH_SIZE, 45]
    sent = [i["imageDigest"] for c in deletes for i in c.params["imageIds"]]
    assert sorted(sent) == sorted(untagged + tagged[:-5])
    assert all(c.response["failures"] == [] for c in deletes)
    assert sorted(report.deleted) == sorted(sent)
    assert set(images_by_digest(ecr_client, repo)) == set(newest)


# -- a moved tag --------------------------------------------------------------------------------


def test_a_moved_tag_leaves_an_untagged_image_pruned_after_threshold(ecr, ecr_client, ecr_repo):
    repo = ecr_repo.name
    first = ecr.push_image(repo, "latest", pushed_days_ago=5)
    second = ecr.push_image(repo, "latest")
    assert "imageTags" not in images_by_digest(ecr_client, repo)[first.digest]  # the tag moved

    report = prune(ecr_client, repo, untagged_older_than_days=14, keep_tags=1)

    # Untagged, but pushed 5 days ago: too recent. And it no longer counts against keep_tags=1.
    ecr.calls.assert_not_called("BatchDeleteImage")
    assert {i.digest for i in report.kept} == {first.digest, second.digest}

    later = datetime.now(timezone.utc) + timedelta(days=10)
    report = prune(ecr_client, repo, untagged_older_than_days=14, keep_tags=1, now=later)

    ecr.calls.assert_called("BatchDeleteImage", times=1, imageIds=[{"imageDigest": first.digest}])
    assert report.deleted == [first.digest]
    remaining = images_by_digest(ecr_client, repo)
    assert list(remaining) == [second.digest]
    assert remaining[second.digest]["imageTags"] == ["latest"]


# -- dry run ------------------------------------------------------------------------------------


@pytest.mark.ecr_seed(
    images={
        "app": [{"tags": [], "pushed_days_ago": 30}, {"tags": ["v1"], "pushed_days_ago": 9}, ["v2", "latest"]]
    }
)
def test_dry_run_deletes_nothing(ecr, ecr_client):
    before = images_by_digest(ecr_client, "app")

    report = prune(ecr_client, "app", untagged_older_than_days=14, keep_tags=1, dry_run=True)

    ecr.calls.assert_not_called("BatchDeleteImage")
    assert report.dry_run
    assert report.deleted == []
    assert sorted(i.tags for i in report.selected) == [(), ("v1",)]
    assert images_by_digest(ecr_client, "app") == before


# -- referrers --------------------------------------------------------------------------------------


def test_signatures_stay_with_their_image_and_follow_it_out(ecr, ecr_client, ecr_repo, ecr_clock):
    """Signatures are untagged: judged as untagged images, a kept image would lose its own."""
    repo = ecr_repo.name
    old = ecr.push_image(repo, "v1")
    old_sig = ecr.push_artifact(repo, old.digest).digest  # signed when pushed, as CI does
    ecr_clock.advance(days=30)
    new = ecr.push_image(repo, "v2")
    new_sig = ecr.push_artifact(repo, new.digest).digest
    ecr_clock.advance(days=30)  # both signatures are now untagged images older than 14 days

    report = prune(ecr_client, repo, untagged_older_than_days=14, keep_tags=1)

    assert report.ok
    assert report.deleted == [old.digest]
    assert sorted(i.digest for i in report.referrers) == sorted([old_sig, new_sig])
    assert set(images_by_digest(ecr_client, repo)) == {new.digest, new_sig, old_sig}
    # ECR deletes the signature of the deleted image within a day; the kept image keeps its own.
    ecr_clock.advance(days=1)
    assert set(images_by_digest(ecr_client, repo)) == {new.digest, new_sig}


# -- failures and errors ------------------------------------------------------------------------


@pytest.fixture
def multi_arch(ecr, ecr_client, ecr_repo):
    """A tagged multi-arch index whose two platform images are untagged and old, and one stray image.

    ECR refuses to delete an image that a manifest list references, so pruning the platform
    images fails per item (``ImageReferencedByManifestList``) while the stray one is deleted.
    """
    repo = ecr_repo.name
    children = [ecr.push_image(repo, pushed_days_ago=30) for _ in range(2)]
    stray = ecr.push_image(repo, pushed_days_ago=30)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": c.media_type, "digest": c.digest, "size": len(c.manifest.encode())}
            for c in children
        ],
    }
    put = ecr_client.put_image(repositoryName=repo, imageManifest=json.dumps(index), imageTag="v1")
    return repo, [c.digest for c in children], stray.digest, put["image"]["imageId"]["imageDigest"]


def test_delete_failures_are_reported(ecr_client, multi_arch):
    repo, children, stray, index = multi_arch

    report = prune(ecr_client, repo, untagged_older_than_days=14, keep_tags=1)

    assert not report.ok
    assert report.deleted == [stray]  # the rest of the batch still went through
    assert sorted((f.digest, f.code) for f in report.failures) == sorted(
        (c, "ImageReferencedByManifestList") for c in children
    )
    assert all(f.reason.startswith("Requested image referenced by manifest list") for f in report.failures)
    remaining = images_by_digest(ecr_client, repo)
    assert set(remaining) == {*children, index}


def test_missing_repository_is_a_clear_error(ecr, ecr_client):
    with pytest.raises(RepositoryNotFoundError, match="repository 'nope' does not exist") as excinfo:
        prune(ecr_client, "nope", untagged_older_than_days=14, keep_tags=5)

    cause = excinfo.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == "RepositoryNotFoundException"
    [call] = ecr.calls.assert_called("DescribeImages", times=1, repositoryName="nope")
    assert call.error_code == "RepositoryNotFoundException"
    ecr.calls.assert_not_called("BatchDeleteImage")


def test_other_client_errors_propagate(ecr_client):
    with pytest.raises(ClientError) as excinfo:
        prune(ecr_client, "Not A Valid Name", untagged_older_than_days=14, keep_tags=5)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameterException"


@pytest.mark.parametrize("bad", [{"keep_tags": -1}, {"untagged_older_than_days": -1}])
def test_negative_settings_are_rejected(ecr, ecr_client, ecr_repo, bad):
    with pytest.raises(ValueError, match="must not be negative"):
        prune(ecr_client, ecr_repo.name, **{"untagged_older_than_days": 14, "keep_tags": 5, **bad})
    assert len(ecr.calls) == 0


# -- command line -------------------------------------------------------------------------------


@pytest.mark.ecr_seed(
    images={"app": [{"tags": [], "pushed_days_ago": 30}, {"tags": ["v1"], "pushed_days_ago": 2}, "v2"]}
)
def test_cli_prunes_with_the_default_client(ecr, capsys):
    assert main(["--repository", "app", "--keep", "1", "--untagged-days", "14"]) == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0] == "app: kept 1, deleted 2"
    assert "<untagged>" in out
    assert " v1 " in out
    ecr.calls.assert_called("BatchDeleteImage", times=1, repositoryName="app")
    assert tags_of(ecr.client(), "app") == {"v2"}


@pytest.mark.ecr_seed(images={"app": [{"tags": [], "pushed_days_ago": 30}, "v1"]})
def test_cli_dry_run(ecr, capsys):
    assert main(["--repository", "app", "--keep", "5", "--dry-run"]) == 0

    assert capsys.readouterr().out.splitlines()[0] == "app: kept 1, would delete 1"
    ecr.calls.assert_not_called("BatchDeleteImage")


def test_cli_missing_repository(ecr, capsys):
    assert main(["--repository", "nope", "--keep", "5"]) == 2

    assert capsys.readouterr().err == "error: repository 'nope' does not exist\n"
    ecr.calls.assert_called("DescribeImages", times=1, repositoryName="nope")


def test_cli_reports_failures_and_exits_1(capsys, multi_arch):
    repo, children, stray, index = multi_arch

    assert main(["--repository", repo, "--keep", "1"]) == 1

    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"{repo}: kept 1, deleted 1"  # kept the index; its platform images failed
    assert re.fullmatch(rf"  {stray} <untagged> \d{{4}}-\d\d-\d\d", out.splitlines()[1])
    assert len(out.splitlines()) == 2
    reason = f"Requested image referenced by manifest list: [{index}]"
    assert sorted(err.splitlines()) == sorted(
        f"error: {c}: ImageReferencedByManifestList: {reason}" for c in children
    )
