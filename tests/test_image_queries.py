"""BatchGetImage, BatchDeleteImage, ListImages and DescribeImages (spec §3.6-3.9, §9)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import DOCKER_V2, OCI_MANIFEST, image_manifest

REPO = "app"
ACCOUNT = "123456789012"
BAD_DIGEST = "sha256:XYZ"
DIGEST_REGEX = "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+"


@pytest.fixture
def pushed(ecr):
    """Two images: v1 (tags v1, stable) and v2 (tag latest), plus one untagged image."""
    ecr.create_repository(REPO)
    return {
        "v1": ecr.push_image(REPO, ["v1", "stable"]),
        "v2": ecr.push_image(REPO, ["latest"]),
        "untagged": ecr.push_image(REPO),
    }


# -- BatchGetImage -------------------------------------------------------------------------------


def test_batch_get_by_tag_and_digest(ecr_client, pushed):
    v1 = pushed["v1"]
    result = ecr_client.batch_get_image(
        repositoryName=REPO, imageIds=[{"imageTag": "stable"}, {"imageDigest": v1.digest}]
    )
    assert result["failures"] == []
    assert [i["imageId"] for i in result["images"]] == [
        {"imageDigest": v1.digest, "imageTag": "stable"},
        {"imageDigest": v1.digest},
    ]
    assert all(i["imageManifest"] == v1.manifest for i in result["images"])
    assert result["images"][0]["imageManifestMediaType"] == OCI_MANIFEST


def test_batch_get_failures(ecr_client, pushed):
    v1, v2 = pushed["v1"], pushed["v2"]
    ids = [
        {"imageTag": "missing"},
        {"imageDigest": BAD_DIGEST},
        {"imageTag": "bad tag"},
        {"imageDigest": v1.digest, "imageTag": "latest"},
        {"imageDigest": "sha256:" + "0" * 64},
    ]
    result = ecr_client.batch_get_image(repositoryName=REPO, imageIds=ids)
    assert result["images"] == []
    assert [(f["imageId"], f["failureCode"]) for f in result["failures"]] == [
        ({"imageTag": "missing"}, "ImageNotFound"),
        ({"imageDigest": BAD_DIGEST}, "InvalidImageDigest"),
        ({"imageTag": "bad tag"}, "InvalidImageTag"),
        ({"imageDigest": v1.digest, "imageTag": "latest"}, "ImageTagDoesNotMatchDigest"),
        ({"imageDigest": "sha256:" + "0" * 64}, "ImageNotFound"),
    ]
    assert result["failures"][0]["failureReason"] == "Requested image not found"
    assert result["failures"][1]["failureReason"] == (
        f"Invalid request parameters: image digest should satisfy the regex '{DIGEST_REGEX}'"
    )
    assert v2.digest  # the repository holds other images: failures are per item, not per call


def test_batch_get_missing_digest_and_tag(raw_client, pushed):
    result = raw_client.batch_get_image(repositoryName=REPO, imageIds=[{}])
    assert result["failures"] == [
        {
            "imageId": {},
            "failureCode": "MissingDigestAndTag",
            "failureReason": "Invalid request parameters: both tag and digest cannot be null",
        }
    ]


def test_batch_get_deduplicates(ecr_client, pushed):
    ids = [{"imageTag": "v1"}, {"imageTag": "v1"}]
    assert len(ecr_client.batch_get_image(repositoryName=REPO, imageIds=ids)["images"]) == 1


def test_batch_get_accepted_media_types(ecr, ecr_client, pushed):
    ids = [{"imageTag": "v1"}]
    # user guide, image-manifest-formats: an OCI image has no schema 1 conversion
    schema1_only = ecr_client.batch_get_image(
        repositoryName=REPO,
        imageIds=ids,
        acceptedMediaTypes=["application/vnd.docker.distribution.manifest.v1+json"],
    )
    assert schema1_only["images"] == []
    assert schema1_only["failures"][0]["failureCode"] == "ImageNotFound"
    both = ecr_client.batch_get_image(
        repositoryName=REPO, imageIds=ids, acceptedMediaTypes=[DOCKER_V2, OCI_MANIFEST]
    )
    assert len(both["images"]) == 1


def test_batch_get_records_pull_time(ecr_client, pushed):
    before = ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    assert "lastRecordedPullTime" not in before
    ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])
    after = ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    assert after["lastRecordedPullTime"] >= after["imagePushedAt"]


def test_batch_get_limits(raw_client, pushed):
    with pytest.raises(ClientError) as exc:
        raw_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": f"t{i}"} for i in range(101)])
    assert exc.value.response["Error"] == {
        "Code": "InvalidParameterException",
        "Message": "Invalid parameter at 'imageIds' failed to satisfy constraint: "
        "'Member must have length less than or equal to 100'",
    }
    with pytest.raises(ClientError) as exc:
        raw_client.batch_get_image(repositoryName=REPO, imageIds=[])
    assert exc.value.response["Error"]["Message"] == (
        "Invalid parameter at 'imageIds' failed to satisfy constraint: "
        "'Member must have length greater than or equal to 1'"
    )


def test_batch_get_missing_repository(ecr_client, ecr):
    with pytest.raises(ecr_client.exceptions.RepositoryNotFoundException):
        ecr_client.batch_get_image(repositoryName="nope", imageIds=[{"imageTag": "v1"}])


# -- BatchDeleteImage -----------------------------------------------------------------------------


def test_delete_by_tag_removes_only_the_tag(ecr_client, pushed):
    v1 = pushed["v1"]
    result = ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageTag": "stable"}])
    assert result == {
        "imageIds": [{"imageDigest": v1.digest, "imageTag": "stable"}],
        "failures": [],
        "ResponseMetadata": result["ResponseMetadata"],
    }
    detail = ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageDigest": v1.digest}])[
        "imageDetails"
    ]
    assert detail[0]["imageTags"] == ["v1"]


def test_delete_of_last_tag_deletes_the_image(ecr_client, pushed):
    v2 = pushed["v2"]
    ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageTag": "latest"}])
    digests = {i["imageDigest"] for i in ecr_client.list_images(repositoryName=REPO)["imageIds"]}
    assert v2.digest not in digests


def test_delete_by_digest_reports_every_tag(ecr_client, pushed):
    v1, untagged = pushed["v1"], pushed["untagged"]
    result = ecr_client.batch_delete_image(
        repositoryName=REPO, imageIds=[{"imageDigest": v1.digest}, {"imageDigest": untagged.digest}]
    )
    assert result["imageIds"] == [
        {"imageDigest": v1.digest, "imageTag": "v1"},
        {"imageDigest": v1.digest, "imageTag": "stable"},
        {"imageDigest": untagged.digest},
    ]
    assert result["failures"] == []
    assert ecr_client.list_images(repositoryName=REPO)["imageIds"] == [
        {"imageDigest": pushed["v2"].digest, "imageTag": "latest"}
    ]


def test_delete_failures_are_per_item(ecr_client, pushed):
    v1 = pushed["v1"]
    result = ecr_client.batch_delete_image(
        repositoryName=REPO,
        imageIds=[
            {"imageTag": "missing"},
            {"imageDigest": BAD_DIGEST},
            {"imageDigest": v1.digest, "imageTag": "latest"},
            {"imageTag": "latest"},
        ],
    )
    assert [(f["imageId"], f["failureCode"], f["failureReason"]) for f in result["failures"]] == [
        ({"imageTag": "missing"}, "ImageNotFound", "Requested image not found"),
        (
            {"imageDigest": BAD_DIGEST},
            "InvalidImageDigest",
            f"Invalid request parameters: image digest should satisfy the regex '{DIGEST_REGEX}'",
        ),
        ({"imageDigest": v1.digest, "imageTag": "latest"}, "ImageNotFound", "Requested image not found"),
    ]
    assert result["imageIds"] == [{"imageDigest": pushed["v2"].digest, "imageTag": "latest"}]


def test_delete_missing_repository(ecr_client, ecr):
    with pytest.raises(ClientError) as exc:
        ecr_client.batch_delete_image(repositoryName="nope", imageIds=[{"imageTag": "x"}])
    assert exc.value.response["Error"]["Code"] == "RepositoryNotFoundException"


# -- ListImages -----------------------------------------------------------------------------------


def test_list_images_one_row_per_tag(ecr_client, pushed):
    rows = ecr_client.list_images(repositoryName=REPO)["imageIds"]
    assert sorted(rows, key=lambda r: (r["imageDigest"], r.get("imageTag", ""))) == sorted(
        [
            {"imageDigest": pushed["v1"].digest, "imageTag": "v1"},
            {"imageDigest": pushed["v1"].digest, "imageTag": "stable"},
            {"imageDigest": pushed["v2"].digest, "imageTag": "latest"},
            {"imageDigest": pushed["untagged"].digest},
        ],
        key=lambda r: (r["imageDigest"], r.get("imageTag", "")),
    )


def test_list_images_tag_status_filter(ecr_client, pushed):
    tagged = ecr_client.list_images(repositoryName=REPO, filter={"tagStatus": "TAGGED"})["imageIds"]
    untagged = ecr_client.list_images(repositoryName=REPO, filter={"tagStatus": "UNTAGGED"})["imageIds"]
    assert {r["imageTag"] for r in tagged} == {"v1", "stable", "latest"}
    assert untagged == [{"imageDigest": pushed["untagged"].digest}]


def test_list_images_pages_count_tag_rows(ecr, ecr_client):
    ecr.create_repository(REPO)
    for i in range(120):
        ecr.push_image(REPO, [f"a{i}", f"b{i}"], size=2048)
    first = ecr_client.list_images(repositoryName=REPO)
    assert len(first["imageIds"]) == 100
    assert "nextToken" in first
    pages = list(ecr_client.get_paginator("list_images").paginate(repositoryName=REPO))
    assert [len(p["imageIds"]) for p in pages] == [100, 100, 40]
    assert "nextToken" not in pages[-1]
    rows = [r["imageTag"] for p in pages for r in p["imageIds"]]
    assert len(rows) == len(set(rows)) == 240


def test_list_images_max_results(ecr, ecr_client, raw_client):
    ecr.create_repository(REPO)
    for i in range(5):
        ecr.push_image(REPO, f"t{i}", size=2048)
    pages = list(
        ecr_client.get_paginator("list_images").paginate(
            repositoryName=REPO, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["imageIds"]) for p in pages] == [2, 2, 1]
    with pytest.raises(ClientError) as exc:
        raw_client.list_images(repositoryName=REPO, maxResults=1001)
    assert exc.value.response["Error"]["Message"] == (
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'"
    )


def test_tokens_are_bound_to_their_request(ecr, ecr_client):
    ecr.create_repository(REPO)
    ecr.create_repository("other")
    for i in range(3):
        ecr.push_image(REPO, f"t{i}", size=2048)
    token = ecr_client.list_images(repositoryName=REPO, maxResults=1)["nextToken"]
    for kwargs in (
        {"repositoryName": "other"},
        {"repositoryName": REPO, "filter": {"tagStatus": "TAGGED"}},
    ):
        with pytest.raises(ClientError) as exc:
            ecr_client.list_images(nextToken=token, **kwargs)
        assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ecr_client.list_images(repositoryName=REPO, nextToken="garbage!")
    assert "nextToken" in exc.value.response["Error"]["Message"]


def test_pagination_survives_deletes_between_pages(ecr, ecr_client):
    ecr.create_repository(REPO)
    images = [ecr.push_image(REPO, f"t{i}", size=2048) for i in range(6)]
    first = ecr_client.list_images(repositoryName=REPO, maxResults=3)
    ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": images[0].digest}])
    second = ecr_client.list_images(repositoryName=REPO, maxResults=3, nextToken=first["nextToken"])
    assert [r["imageTag"] for r in first["imageIds"]] == ["t0", "t1", "t2"]
    assert [r["imageTag"] for r in second["imageIds"]] == ["t3", "t4", "t5"]


# -- DescribeImages -------------------------------------------------------------------------------


def test_describe_images_details(ecr, ecr_client, pushed):
    details = {d["imageDigest"]: d for d in ecr_client.describe_images(repositoryName=REPO)["imageDetails"]}
    v1 = details[pushed["v1"].digest]
    assert sorted(v1["imageTags"]) == ["stable", "v1"]
    assert v1["imageSizeInBytes"] == pushed["v1"].size
    assert v1["imageManifestMediaType"] == OCI_MANIFEST
    assert v1["registryId"] == ACCOUNT
    assert v1["repositoryName"] == REPO
    assert v1["imageStatus"] == "ACTIVE"
    assert v1["imagePushedAt"].timestamp() == pytest.approx(pushed["v1"].pushed_at, abs=0.001)
    assert "imageTags" not in details[pushed["untagged"].digest]


def test_describe_images_missing_id_fails_the_whole_call(ecr_client, pushed):
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "v1"}, {"imageTag": "nope"}])
    assert exc.value.response[
        "Error"
    ] == {  # the missing half is quoted 'null' (hashicorp/terraform-provider-aws#35268)
        "Code": "ImageNotFoundException",
        "Message": "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the "
        f"repository with name '{REPO}' in the registry with id '{ACCOUNT}'",
    }
    digest = "sha256:" + "1" * 64
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageDigest": digest}])
    assert exc.value.response["Error"]["Message"].startswith(
        f"The image with imageId {{imageDigest:'{digest}', imageTag:'null'}} does not exist"
    )


def test_describe_images_malformed_digest(ecr_client, pushed):
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageDigest": BAD_DIGEST}])
    assert exc.value.response["Error"] == {
        "Code": "InvalidParameterException",
        "Message": f"Invalid parameter at 'imageDigest' failed to satisfy constraint: "
        f"'must satisfy regular expression '{DIGEST_REGEX}''",
    }


def test_describe_images_ids_exclude_paging(ecr_client, pushed):
    with pytest.raises(ClientError) as exc:
        ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "v1"}], maxResults=5)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"


def test_describe_images_same_image_twice_is_one_detail(ecr_client, pushed):
    ids = [{"imageTag": "v1"}, {"imageTag": "stable"}, {"imageDigest": pushed["v1"].digest}]
    assert len(ecr_client.describe_images(repositoryName=REPO, imageIds=ids)["imageDetails"]) == 1


def test_describe_images_filter_and_paging(ecr, ecr_client):
    ecr.create_repository(REPO)
    for i in range(150):
        ecr.push_image(REPO, f"t{i}" if i % 3 else None, size=2048)
    pages = list(ecr_client.get_paginator("describe_images").paginate(repositoryName=REPO))
    assert [len(p["imageDetails"]) for p in pages] == [100, 50]
    untagged = list(
        ecr_client.get_paginator("describe_images").paginate(
            repositoryName=REPO, filter={"tagStatus": "UNTAGGED"}
        )
    )
    assert sum(len(p["imageDetails"]) for p in untagged) == 50
    assert all("imageTags" not in d for p in untagged for d in p["imageDetails"])


def test_describe_images_with_tag_of_list(ecr, ecr_client):
    ecr.create_repository(REPO)
    text = image_manifest(ecr, REPO)
    ecr_client.put_image(repositoryName=REPO, imageManifest=text, imageTag="x")
    assert ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "x"}])["imageDetails"][0][
        "imageTags"
    ] == ["x"]
