"""OCI referrers (spec §3.10) and seeding real images: multi-arch, artifacts, OCI layouts."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from helpers import OCI_INDEX, OCI_MANIFEST, make_layout, sha256

from pytest_ecr import FakeError
from pytest_ecr.protocol.model import service_model

SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM = "application/spdx+json"


# -- ListImageReferrers ---------------------------------------------------------------------------


@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "referrers": [SIG, SBOM]}]})
def test_referrers_of_an_image(ecr, ecr_client):
    subject = ecr.repository("app").tag_index["v1"]
    referrers = ecr_client.list_image_referrers(repositoryName="app", subjectId={"imageDigest": subject})[
        "referrers"
    ]
    assert sorted(r["artifactType"] for r in referrers) == sorted([SIG, SBOM])
    stored = ecr.repository("app").images
    for r in referrers:
        assert r["mediaType"] == OCI_MANIFEST
        assert r["size"] == len(stored[r["digest"]].manifest.encode())
        assert r["artifactStatus"] == "ACTIVE"
    # The referrers are images of the repository too, untagged, with their subject recorded.
    details = ecr_client.describe_images(
        repositoryName="app", imageIds=[{"imageDigest": r["digest"]} for r in referrers]
    )
    assert {d["subjectManifestDigest"] for d in details["imageDetails"]} == {subject}


@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "referrers": [SIG, SBOM, SBOM]}]})
def test_referrers_filter_by_artifact_type(ecr, ecr_client):
    subject = ecr.repository("app").tag_index["v1"]
    sboms = ecr_client.list_image_referrers(
        repositoryName="app", subjectId={"imageDigest": subject}, filter={"artifactTypes": [SBOM]}
    )["referrers"]
    assert [r["artifactType"] for r in sboms] == [SBOM, SBOM]
    if service_model().shape_for("ArtifactTypeList").metadata["max"] < 2:
        return  # this botocore's model predates filters on several artifact types
    both = ecr_client.list_image_referrers(
        repositoryName="app", subjectId={"imageDigest": subject}, filter={"artifactTypes": [SBOM, SIG]}
    )["referrers"]
    assert len(both) == 3


def test_referrers_annotations_and_paging(ecr, ecr_client):
    ecr.create_repository("app")
    subject = ecr.push_image("app", "v1").digest
    for i in range(25):
        ecr.push_artifact("app", subject, SIG, annotations={"index": str(i)}, payload=f"sig {i}".encode())
    first = ecr_client.list_image_referrers(repositoryName="app", subjectId={"imageDigest": subject})
    assert len(first["referrers"]) == 20  # the model's default page
    second = ecr_client.list_image_referrers(
        repositoryName="app", subjectId={"imageDigest": subject}, nextToken=first["nextToken"]
    )
    assert len(second["referrers"]) == 5
    assert "nextToken" not in second
    indexes = [r["annotations"]["index"] for r in first["referrers"] + second["referrers"]]
    assert indexes == [str(i) for i in range(25)]


def test_referrers_of_unknown_subject_is_empty(ecr, ecr_client):
    ecr.create_repository("app")
    result = ecr_client.list_image_referrers(
        repositoryName="app", subjectId={"imageDigest": "sha256:" + "a" * 64}
    )
    assert result["referrers"] == []


def test_referrers_errors(ecr, ecr_client, raw_client):
    ecr.create_repository("app")
    with pytest.raises(ecr_client.exceptions.RepositoryNotFoundException):
        ecr_client.list_image_referrers(
            repositoryName="nope", subjectId={"imageDigest": "sha256:" + "a" * 64}
        )
    with pytest.raises(ClientError) as exc:
        ecr_client.list_image_referrers(repositoryName="app", subjectId={"imageDigest": "nope"})
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        raw_client.list_image_referrers(
            repositoryName="app", subjectId={"imageDigest": "sha256:" + "a" * 64}, maxResults=51
        )
    assert exc.value.response["Error"]["Message"] == (
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 50'"
    )


def test_archived_referrers_are_hidden_by_default(ecr, ecr_client):
    ecr.create_repository("app")
    subject = ecr.push_image("app", "v1").digest
    sig = ecr.push_artifact("app", subject, SIG)
    ecr.repository("app").images[sig.digest].status = "ARCHIVED"
    assert (
        ecr_client.list_image_referrers(repositoryName="app", subjectId={"imageDigest": subject})["referrers"]
        == []
    )
    archived = ecr_client.list_image_referrers(
        repositoryName="app", subjectId={"imageDigest": subject}, filter={"artifactStatus": "ANY"}
    )["referrers"]
    assert [(r["digest"], r["artifactStatus"]) for r in archived] == [(sig.digest, "ARCHIVED")]


def test_push_artifact_needs_its_subject(ecr):
    ecr.create_repository("app")
    with pytest.raises(FakeError) as exc:
        ecr.push_artifact("app", "sha256:" + "b" * 64, SIG)
    assert exc.value.code == "ImageNotFoundException"


# -- referrers follow their subject -----------------------------------------------------------------

DAY = 86400


def referrer_statuses(client, subject):
    found = client.list_image_referrers(
        repositoryName="app", subjectId={"imageDigest": subject}, filter={"artifactStatus": "ANY"}
    )["referrers"]
    return {r["digest"]: r["artifactStatus"] for r in found}


def listed(client):
    return {
        i["imageDigest"]
        for i in client.list_images(repositoryName="app", filter={"tagStatus": "ANY"})["imageIds"]
    }


@pytest.fixture
def signed(ecr):
    """An image v1 with a signature and an SBOM, the SBOM signed too, and an unrelated image v2."""
    ecr.create_repository("app")
    subject = ecr.push_image("app", "v1").digest
    sig = ecr.push_artifact("app", subject, SIG).digest
    sbom = ecr.push_artifact("app", subject, SBOM).digest
    sbom_sig = ecr.push_artifact("app", sbom, SIG).digest
    other = ecr.push_image("app", "v2").digest
    return subject, {sig, sbom, sbom_sig}, other


@pytest.mark.parametrize("delete_by", ["digest", "tag"])
def test_referrers_are_deleted_a_day_after_their_subject(ecr, ecr_client, ecr_clock, signed, delete_by):
    subject, referrers, other = signed
    image_id = {"imageDigest": subject} if delete_by == "digest" else {"imageTag": "v1"}
    assert ecr_client.batch_delete_image(repositoryName="app", imageIds=[image_id])["failures"] == []
    assert ecr.options.referrer_cleanup_seconds == DAY
    # Still there (and listed as referrers of the now missing subject) until the day is over.
    ecr_clock.advance(seconds=DAY - 1)
    assert listed(ecr_client) == {*referrers, other}
    assert len(referrer_statuses(ecr_client, subject)) == 2  # the signature and the SBOM
    ecr_clock.advance(seconds=1)
    assert listed(ecr_client) == {other}
    described = ecr_client.describe_images(repositoryName="app", filter={"tagStatus": "ANY"})["imageDetails"]
    assert [d["imageDigest"] for d in described] == [other]
    # Deleted as a BatchDeleteImage would: their digests are gone, not hidden.
    failures = ecr_client.batch_get_image(
        repositoryName="app", imageIds=[{"imageDigest": d} for d in sorted(referrers)]
    )["failures"]
    assert {(f["imageId"]["imageDigest"], f["failureCode"]) for f in failures} == {
        (d, "ImageNotFound") for d in referrers
    }


def test_a_subject_pushed_again_keeps_its_referrers(ecr, ecr_client, ecr_clock, signed):
    subject, referrers, other = signed
    manifest = ecr.repository("app").images[subject].manifest
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": subject}])
    ecr_clock.advance(seconds=3600)
    ecr_client.put_image(
        repositoryName="app",
        imageManifest=manifest,
        imageManifestMediaType=ecr.repository("app").images[other].media_type,
    )
    ecr_clock.advance(seconds=DAY)
    assert listed(ecr_client) == {subject, *referrers, other}


def test_referrers_of_other_images_stay(ecr, ecr_client, ecr_clock, signed):
    subject, referrers, other = signed
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": other}])
    ecr_clock.advance(seconds=DAY)
    assert listed(ecr_client) == {subject, *referrers}


def test_referrers_are_archived_a_day_after_their_subject(ecr, ecr_client, ecr_clock, signed):
    subject, referrers, other = signed
    start = ecr_clock.now().timestamp()
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageDigest": subject}, targetStorageClass="ARCHIVE"
    )
    ecr_clock.advance(seconds=DAY - 1)
    assert set(referrer_statuses(ecr_client, subject).values()) == {"ACTIVE"}
    ecr_clock.advance(seconds=1)
    sig, sbom = (
        r["digest"]
        for r in ecr_client.list_image_referrers(
            repositoryName="app", subjectId={"imageDigest": subject}, filter={"artifactStatus": "ANY"}
        )["referrers"]
    )
    assert referrer_statuses(ecr_client, subject) == {sig: "ARCHIVED", sbom: "ARCHIVED"}
    details = ecr_client.describe_images(
        repositoryName="app", imageIds=[{"imageDigest": d} for d in referrers]
    )["imageDetails"]
    assert {d["imageStatus"] for d in details} == {"ARCHIVED"}
    assert all(d["lastArchivedAt"].timestamp() >= start + DAY for d in details)
    assert ecr.repository("app").images[other].status == "ACTIVE"


def test_a_restored_subject_keeps_its_referrers_active(ecr, ecr_client, ecr_clock, signed):
    subject, _, _ = signed
    ecr.options.restore_seconds = 60
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageDigest": subject}, targetStorageClass="ARCHIVE"
    )
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageDigest": subject}, targetStorageClass="STANDARD"
    )
    ecr_clock.advance(seconds=DAY)
    assert set(referrer_statuses(ecr_client, subject).values()) == {"ACTIVE"}


def test_lifecycle_expiry_takes_the_referrers_along(ecr, ecr_client, ecr_clock, signed):
    subject, referrers, other = signed
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["v*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    ecr_client.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=json.dumps(policy))
    expired = ecr.run_lifecycle("app")
    assert [(a.image_digest, a.action) for a in expired] == [(subject, "expire")]
    assert listed(ecr_client) == {*referrers, other}
    ecr_clock.advance(seconds=DAY)
    assert listed(ecr_client) == {other}


def test_referrer_cleanup_seconds_is_an_option(ecr, ecr_client, signed):
    subject, referrers, other = signed
    assert referrers <= listed(ecr_client)
    ecr.options.referrer_cleanup_seconds = 0
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": subject}])
    assert listed(ecr_client) == {other}


# -- multi-arch seeding ---------------------------------------------------------------------------


@pytest.mark.ecr_seed(images={"app": [{"tags": ["v1"], "platforms": ["linux/amd64", "linux/arm64/v8"]}]})
def test_multi_arch_seed(ecr, ecr_client):
    [image] = ecr_client.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])["images"]
    assert image["imageManifestMediaType"] == OCI_INDEX
    index = json.loads(image["imageManifest"])
    platforms = [m["platform"] for m in index["manifests"]]
    assert platforms == [
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64", "variant": "v8"},
    ]
    children = [m["digest"] for m in index["manifests"]]
    got = ecr_client.batch_get_image(repositoryName="app", imageIds=[{"imageDigest": d} for d in children])
    assert [json.loads(i["imageManifest"])["mediaType"] for i in got["images"]] == [
        OCI_MANIFEST,
        OCI_MANIFEST,
    ]
    # The children are untagged images that the index protects from deletion by digest.
    untagged = ecr_client.list_images(repositoryName="app", filter={"tagStatus": "UNTAGGED"})["imageIds"]
    assert sorted(r["imageDigest"] for r in untagged) == sorted(children)
    result = ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": children[0]}])
    assert result["failures"][0]["failureCode"] == "ImageReferencedByManifestList"


def test_multi_arch_docker_list(ecr):
    ecr.create_repository("app")
    pushed = ecr.push_image("app", "v1", platforms=["linux/amd64", "linux/arm64"], format="docker")
    assert pushed.media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert len(pushed.children) == 2
    sizes = [ecr.repository("app").images[d].size for d in pushed.children]
    assert pushed.size == max(sizes)


def test_bad_platform_is_a_clear_error(ecr):
    ecr.create_repository("app")
    with pytest.raises(ValueError, match="os/architecture"):
        ecr.push_image("app", "v1", platforms=["amd64"])


# -- OCI image layouts ----------------------------------------------------------------------------


def test_import_oci_layout_byte_for_byte(ecr, ecr_client, tmp_path):
    written = make_layout(tmp_path, {"v1": ["linux/amd64"], "multi": ["linux/amd64", "linux/arm64"]})
    ecr.create_repository("app")
    pushed = ecr.import_oci_layout("app", tmp_path)
    assert [p.tags for p in pushed] == [("v1",), ("multi",)]
    for tag in ("v1", "multi"):
        [image] = ecr_client.batch_get_image(repositoryName="app", imageIds=[{"imageTag": tag}])["images"]
        assert image["imageManifest"].encode() == written[image["imageId"]["imageDigest"]]
    # every manifest of the layout, children included, is an image; every blob is in the repository
    assert set(ecr.repository("app").images) == set(written)
    for data in written.values():
        doc = json.loads(data)
        for blob in [doc.get("config"), *doc.get("layers", [])]:
            if blob:
                stored = ecr.repository("app").blobs[blob["digest"]]
                assert stored.content is not None
                assert sha256(stored.content) == blob["digest"]


def test_seed_entry_imports_an_oci_layout(ecr, ecr_client, tmp_path):
    """What ``ecr_seed(images={"app": [{"oci_layout": DIR, "tags": [...]}]})`` does."""
    make_layout(tmp_path, {"v1": ["linux/amd64"]})
    ecr.seed(images={"app": [{"oci_layout": tmp_path, "tags": ["imported"]}]})
    rows = ecr_client.list_images(repositoryName="app")["imageIds"]
    assert [r.get("imageTag") for r in rows] == ["imported"]


def test_import_rejects_a_corrupt_layout(ecr, tmp_path):
    written = make_layout(tmp_path, {"v1": ["linux/amd64"]})
    digest = next(iter(written))
    (tmp_path / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(b"tampered")
    ecr.create_repository("app")
    with pytest.raises(ValueError, match="does not match its digest"):
        ecr.import_oci_layout("app", tmp_path)
    with pytest.raises(ValueError, match="is not an OCI image layout"):
        ecr.import_oci_layout("app", tmp_path / "blobs")
