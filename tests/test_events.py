"""ecr.events: the EventBridge events ECR would have sent, through real boto3 clients."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

import pytest
from helpers import KEEP_ONE_LIFECYCLE, image_manifest

from pytest_ecr import FakeECR, ScanFailure

ACCOUNT = "123456789012"
OTHER = "222222222222"
START = "2026-06-01T12:00:00Z"
ENVELOPE = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
IMAGE_ACTION_KEYS = {"result", "repository-name", "image-digest", "action-type"}


def at(seconds: float) -> str:
    """The event ``time`` ``seconds`` after START."""
    start = datetime(2026, 6, 1, 12, tzinfo=timezone.utc).timestamp()
    return datetime.fromtimestamp(start + seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def put(ecr: FakeECR, client, repository: str, tag: str | None = None, label: str = "x") -> str:
    manifest = image_manifest(ecr, repository, label=label)
    params = {"repositoryName": repository, "imageManifest": manifest}
    if tag is not None:
        params["imageTag"] = tag
    return client.put_image(**params)["image"]["imageId"]["imageDigest"]


def check_envelope(event: dict) -> None:
    assert list(event) == ENVELOPE
    assert event["version"] == "0"
    assert event["source"] == "aws.ecr"
    assert str(uuid.UUID(event["id"])) == event["id"]
    assert TIME_RE.fullmatch(event["time"])
    assert json.loads(json.dumps(event)) == event


@pytest.mark.ecr_time(START)
def test_put_image_with_and_without_a_tag(ecr, ecr_client):
    ecr.create_repository("app")
    tagged = put(ecr, ecr_client, "app", "v1")
    ecr.clock.advance(5)
    untagged = put(ecr, ecr_client, "app", label="y")
    first, second = ecr.events
    for event in (first, second):
        check_envelope(event)
        assert event["detail-type"] == "ECR Image Action"
        assert (event["account"], event["region"], event["resources"]) == (ACCOUNT, "us-east-1", [])
    assert (first["time"], second["time"]) == (at(0), at(5))
    assert first["detail"] == {
        "result": "SUCCESS",
        "repository-name": "app",
        "image-digest": tagged,
        "action-type": "PUSH",
        "image-tag": "v1",
    }
    assert set(second["detail"]) == IMAGE_ACTION_KEYS  # no image-tag: the push named none
    assert second["detail"]["image-digest"] == untagged


def test_retag_and_a_moved_tag_are_pushes(ecr, ecr_client):
    ecr.create_repository("app")
    old = put(ecr, ecr_client, "app", "latest")
    manifest = ecr_client.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "latest"}])["images"][
        0
    ]
    ecr_client.put_image(repositoryName="app", imageManifest=manifest["imageManifest"], imageTag="v1")
    new = put(ecr, ecr_client, "app", "latest", label="y")  # "latest" moves to the new image
    pushes = [(e["detail"]["image-digest"], e["detail"]["image-tag"]) for e in ecr.events]
    assert pushes == [(old, "latest"), (old, "v1"), (new, "latest")]


def test_failed_operations_send_nothing(ecr, ecr_client):
    ecr.create_repository("frozen", imageTagMutability="IMMUTABLE")
    put(ecr, ecr_client, "frozen", "v1")
    with pytest.raises(ecr_client.exceptions.ImageTagAlreadyExistsException):
        put(ecr, ecr_client, "frozen", "v1", label="y")
    answer = ecr_client.batch_delete_image(repositoryName="frozen", imageIds=[{"imageTag": "missing"}])
    assert answer["failures"]
    assert len(ecr.events) == 1


def test_batch_delete_by_tag_and_by_digest(ecr, ecr_client):
    ecr.create_repository("app")
    two_tags = ecr.push_image("app", ["v1", "latest"])
    untagged = ecr.push_image("app")
    ecr.events.clear()
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    ecr_client.batch_delete_image(
        repositoryName="app", imageIds=[{"imageDigest": two_tags.digest}, {"imageDigest": untagged.digest}]
    )
    deletes = [
        (e["detail"]["action-type"], e["detail"]["image-digest"], e["detail"].get("image-tag"))
        for e in ecr.events
    ]
    # one event per image id the response reports deleted: the untag, then the image by its tags
    assert deletes == [
        ("DELETE", two_tags.digest, "v1"),
        ("DELETE", two_tags.digest, "latest"),
        ("DELETE", untagged.digest, None),
    ]


@pytest.mark.ecr_time(START)
def test_lifecycle_expiry_sends_deletes_when_the_policy_runs(ecr, ecr_client):
    ecr.create_repository("app")
    old = ecr.push_image("app", "old", pushed_days_ago=3)
    ecr.push_image("app", "new")
    ecr_client.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=KEEP_ONE_LIFECYCLE)
    ecr.clock.advance(86400)  # the evaluation is due; reading the events applies it
    [delete] = ecr.events.filter("ECR Image Action", action_type="DELETE")
    assert delete["detail"]["image-digest"] == old.digest
    assert delete["time"] == at(86400)
    assert old.digest not in ecr.repository("app").images


@pytest.mark.ecr_time(START)
def test_basic_scan_event_dated_at_completion_and_sent_unread(ecr, ecr_client):
    ecr.create_repository("app", imageScanningConfiguration={"scanOnPush": True})
    findings = [
        {"name": f"CVE-{n}", "severity": s} for n, s in enumerate(["HIGH", "CRITICAL", "HIGH", "LOW"])
    ]
    ecr.options.scan_findings = lambda request: findings
    digest = put(ecr, ecr_client, "app", "v1")
    assert ecr.events.filter("ECR Image Scan") == []  # still scanning
    ecr.clock.advance(3600)  # nobody reads the scan; the event is there, dated when it completed
    [scan] = ecr.events.filter("ECR Image Scan")
    check_envelope(scan)
    assert scan["time"] == at(10)
    assert scan["resources"] == [f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/app"]
    assert scan["detail"] == {
        "scan-status": "COMPLETE",
        "repository-name": "app",
        "finding-severity-counts": {"CRITICAL": 1, "HIGH": 2, "LOW": 1},  # only severities present
        "image-digest": digest,
        "image-tags": ["v1"],
    }
    read = ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert read["imageScanFindings"]["imageScanCompletedAt"].strftime("%Y-%m-%dT%H:%M:%SZ") == scan["time"]
    assert len(ecr.events.filter("ECR Image Scan")) == 1  # reading the scan sends nothing more


@pytest.mark.ecr_time(START)
def test_scan_without_findings_and_failed_scans(ecr, ecr_client):
    ecr.create_repository("app")
    clean = ecr.push_image("app", "clean")
    broken = ecr.push_image(
        "app", "broken", findings=ScanFailure("UnsupportedImageError: no", "UNSUPPORTED_IMAGE")
    )
    for tag in ("clean", "broken"):
        ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": tag})
    ecr.clock.advance(60)
    [scan] = ecr.events.filter("ECR Image Scan")  # a scan that did not complete sends none
    assert scan["detail"]["image-digest"] == clean.digest != broken.digest
    assert scan["detail"]["finding-severity-counts"] == {}


def test_enhanced_scanning_frequency_change(ecr, ecr_client):
    ecr.create_repository("prod-api")
    ecr.create_repository("tools")
    ecr_client.put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {
                "scanFrequency": "CONTINUOUS_SCAN",
                "repositoryFilters": [{"filter": "prod", "filterType": "WILDCARD"}],
            }
        ],
    )
    [change] = ecr.events.filter("ECR Scan Resource Change")
    check_envelope(change)
    assert change["detail"] == {
        "action-type": "SCAN_FREQUENCY_CHANGE",
        "repositories": [
            {
                "repository-name": "prod-api",
                "repository-arn": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/prod-api",
                "scan-frequency": "CONTINUOUS_SCAN",
                "previous-scan-frequency": "MANUAL",
            }
        ],
        "resource-type": "REPOSITORY",
        "scan-type": "ENHANCED",
    }
    ecr.push_image("prod-api", "v1")
    ecr.clock.advance(3600)
    assert ecr.events.filter("ECR Image Scan") == []  # enhanced scan results come from Inspector


@pytest.mark.ecr_time(START)
def test_replication_event_in_the_destination(ecr, ecr_client):
    ecr.create_repository("app")
    ecr_client.put_replication_configuration(
        replicationConfiguration={
            "rules": [
                {
                    "destinations": [
                        {"region": "eu-west-1", "registryId": ACCOUNT},
                        {"region": "us-east-1", "registryId": OTHER},
                    ]
                }
            ]
        }
    )
    digest = put(ecr, ecr_client, "app", "v1")
    ecr.clock.advance(60)
    done, denied = ecr.events.filter("ECR Replication Action")
    check_envelope(done)
    assert (done["account"], done["region"], done["time"]) == (ACCOUNT, "eu-west-1", at(30))
    assert done["resources"] == [f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/app"]
    assert done["detail"] == {
        "result": "SUCCESS",
        "repository-name": "app",
        "image-digest": digest,
        "source-account": ACCOUNT,
        "action-type": "REPLICATE",
        "source-region": "us-east-1",
        "image-tag": "v1",
    }
    # the other account has no registry policy allowing it: the replication fails
    assert (denied["account"], denied["region"], denied["detail"]["result"]) == (OTHER, "us-east-1", "FAILED")
    # the replica's arrival is a replication, not a push: the only push is the source's
    assert [(e["region"], e["detail"]["action-type"]) for e in ecr.events.filter("ECR Image Action")] == [
        ("us-east-1", "PUSH")
    ]
    assert digest in ecr.repository("app", region="eu-west-1").images


@pytest.mark.ecr_time(START)
def test_pull_through_cache_event(ecr, ecr_client):
    ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    digest = ecr.upstream_image("quay.io", "coreos/etcd", "v3")
    ecr.clock.advance(7)
    ecr_client.batch_get_image(repositoryName="quay/coreos/etcd", imageIds=[{"imageTag": "v3"}])
    ecr_client.batch_get_image(repositoryName="quay/coreos/etcd", imageIds=[{"imageTag": "v3"}])  # cached
    ecr_client.batch_get_image(repositoryName="quay/coreos/etcd", imageIds=[{"imageTag": "missing"}])
    [event] = ecr.events  # no push event for the cache fill, nothing for the failed pull
    check_envelope(event)
    assert (event["detail-type"], event["time"]) == ("ECR Pull Through Cache Action", at(7))
    assert event["resources"] == [f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/quay/coreos/etcd"]
    assert event["detail"] == {
        "rule-version": "1",
        "sync-status": "SUCCESS",
        "ecr-repository-prefix": "quay",
        "repository-name": "quay/coreos/etcd",
        "upstream-registry-url": "quay.io",
        "image-tag": "v3",
        "image-digest": digest,
    }


@pytest.mark.ecr_time(START)
def test_archive_and_restore(ecr, ecr_client):
    ecr.options.restore_seconds = 600
    ecr.create_repository("app")
    image = ecr.push_image("app", "v1", referrers=["application/spdx+json"])
    [sbom] = ecr_client.list_image_referrers(repositoryName="app", subjectId={"imageDigest": image.digest})[
        "referrers"
    ]
    ecr.events.clear()
    for digest in (image.digest, sbom["digest"]):
        ecr_client.update_image_storage_class(
            repositoryName="app", imageId={"imageDigest": digest}, targetStorageClass="ARCHIVE"
        )
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageDigest": sbom["digest"]}, targetStorageClass="STANDARD"
    )
    ecr.clock.advance(1000)
    archived, referrer_archived, restored = ecr.events
    assert (archived["detail-type"], archived["detail"]) == (
        "ECR Image Action",
        {
            "action-type": "UPDATE_STORAGE_CLASS",
            "target-storage-class": "ARCHIVE",
            "image-digest": image.digest,
            "repository-name": "app",
            "result": "SUCCESS",
            "manifest-media-type": image.media_type,
            "artifact-media-type": "application/vnd.oci.image.config.v1+json",
        },
    )
    assert referrer_archived["detail-type"] == restored["detail-type"] == "ECR Referrer Action"
    assert restored["time"] == at(600)
    assert restored["detail"]["target-storage-class"] == "STANDARD"
    assert restored["detail"]["artifact-media-type"] == "application/spdx+json"
    assert restored["detail"]["last-activated-at"] == "2026-06-01T12:10:00Z"


def test_filter(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.create_repository("web")
    ecr.push_image("app", "v1")
    untagged = ecr.push_image("app")
    ecr.push_image("web", "v1")
    ecr_client.batch_delete_image(repositoryName="web", imageIds=[{"imageTag": "v1"}])
    assert len(ecr.events.filter()) == len(ecr.events) == 4
    assert len(ecr.events.filter("ECR Image Action", action_type="PUSH")) == 3
    assert len(ecr.events.filter(repository_name="web", image_tag="v1")) == 2
    [found] = ecr.events.filter(action_type="PUSH", image_tag=None)  # None: the field is absent
    assert found["detail"]["image-digest"] == untagged.digest
    assert ecr.events.filter("ECR Image Scan") == []
    assert ecr.events[-1]["detail"]["action-type"] == "DELETE"
    assert "ECR Image Action" in repr(ecr.events)
    ecr.events.clear()
    assert len(ecr.events) == 0
    assert list(ecr.events) == []


@pytest.mark.ecr_time(START)
def test_events_are_in_time_order(ecr, ecr_client):
    ecr.options.restore_seconds = 1200
    ecr.create_repository("app")
    ecr.create_repository("web")
    image = ecr.push_image("app", "v1")
    ecr.push_image("app", "old", pushed_days_ago=1)  # a seeded past push sorts first
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageDigest": image.digest}, targetStorageClass="ARCHIVE"
    )
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageDigest": image.digest}, targetStorageClass="STANDARD"
    )
    ecr.clock.advance(2000)
    put(ecr, ecr_client, "web", "v1")  # the restore finished before this push, unread
    times = [e["time"] for e in ecr.events]
    assert times == sorted(times)
    assert [e["detail"].get("target-storage-class", e["detail"]["action-type"]) for e in ecr.events] == [
        "PUSH",
        "PUSH",
        "ARCHIVE",
        "STANDARD",
        "PUSH",
    ]
    assert times[0] == at(-86400)
    assert times[3] == at(1200)


def test_events_in_server_mode(ecr, ecr_server):
    import base64
    from http.client import HTTPConnection

    client = ecr_server.client()
    client.create_repository(repositoryName="team/app")
    digest = put(ecr, client, "team/app", "v1")
    # a registry PUT of a manifest is a push too
    manifest = image_manifest(ecr, "team/app", label="over-http")
    conn = HTTPConnection(ecr_server.registry, timeout=10)
    token = base64.b64encode(f"AWS:{ecr_server.password}".encode()).decode()
    conn.request(
        "PUT",
        "/v2/team/app/manifests/v2",
        body=manifest,
        headers={
            "Authorization": f"Basic {token}",
            "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        },
    )
    assert conn.getresponse().status == 201
    conn.close()
    client.batch_delete_image(repositoryName="team/app", imageIds=[{"imageDigest": digest}])
    assert [(e["detail"]["action-type"], e["detail"]["image-tag"]) for e in ecr.events] == [
        ("PUSH", "v1"),
        ("PUSH", "v2"),
        ("DELETE", "v1"),
    ]


def test_every_event_is_json_with_the_documented_keys(ecr, ecr_client):
    ecr.create_repository("app", imageScanningConfiguration={"scanOnPush": True})
    ecr_client.create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    ecr.upstream_image("quay.io", "coreos/etcd", "v3")
    ecr_client.put_replication_configuration(
        replicationConfiguration={
            "rules": [{"destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}]}]
        }
    )
    image = ecr.push_image("app", "v1")
    ecr_client.batch_get_image(repositoryName="quay/coreos/etcd", imageIds=[{"imageTag": "v3"}])
    ecr_client.update_image_storage_class(
        repositoryName="app", imageId={"imageDigest": image.digest}, targetStorageClass="ARCHIVE"
    )
    ecr.clock.advance(60)
    ecr_client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    events = list(ecr.events)
    kinds = {e["detail-type"] for e in events}
    assert kinds == {
        "ECR Image Action",
        "ECR Image Scan",
        "ECR Replication Action",
        "ECR Pull Through Cache Action",
    }
    for event in events:
        check_envelope(event)
    assert json.loads(json.dumps(events)) == events
    assert len({e["id"] for e in events}) == len(events)
    assert [e["id"] for e in ecr.events] == [e["id"] for e in events]  # ids stay as first read
