"""Snapshots: seed once per module, start every test from that state (issue #18 item 4).

The oracle of a round trip is the source fake itself: what its clients read just before the
snapshot is what the restored fake's clients must read. Isolation is checked the same way after
mutations of every operation family.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pytest_ecr import FakeECR, Snapshot
from pytest_ecr.snapshot import CopyOnAccess, SnapshotLeak

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPLICA_REGION = "us-west-2"
HOUR = 3600.0
#: a first layer part: every part but the last must be at least 5 MiB (LayerPartTooSmallException)
PART = b"x" * (5 * 1024 * 1024)


def _policy(sid: str, actions: list[str], **resource: str) -> str:
    statement = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**statement, "Action": actions, **resource}]})


POLICY = _policy("pull", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"])
# the registry policy form of the ECR User Guide's "Private registry permissions" (replication)
REGISTRY_POLICY = _policy(
    "replicate",
    ["ecr:CreateRepository", "ecr:ReplicateImage"],
    Resource=f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*",
)
# expire untagged images a day after their push (the ECR User Guide's lifecycle policy examples)
LIFECYCLE = (
    '{"rules": [{"rulePriority": 1, "action": {"type": "expire"}, "selection": {"tagStatus": "untagged", '
    '"countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}}]}'
)


def _read(call: Any, *path: str, **params: Any) -> Any:
    """``call(**params)`` down ``path`` (without its ResponseMetadata), or its error code."""
    try:
        response = call(**params)
    except ClientError as error:
        return error.response["Error"]["Code"]
    response.pop("ResponseMetadata", None)
    for key in path:
        response = response[key]
    return response


def _all(client: Any, operation: str, repository: str) -> Any:
    return client.get_paginator(operation).paginate(repositoryName=repository).build_full_result()


def fingerprint(fake: FakeECR) -> dict[Any, Any]:
    """What clients of ``fake`` read of its state (read-only calls), plus the pending work and the
    events, which no API lists."""
    out: dict[Any, Any] = {}
    for region in (REGION, REPLICA_REGION):
        client = fake.client(region)
        repos = client.describe_repositories()["repositories"]
        out[region, "repositories"] = repos
        out[region, "registry policy"] = _read(client.get_registry_policy)
        out[region, "replication"] = _read(client.describe_registry)
        out[region, "pull through"] = _read(client.describe_pull_through_cache_rules)
        for repo in repos:
            name = repo["repositoryName"]
            images = _all(client, "describe_images", name)["imageDetails"]
            out[region, name, "images"] = sorted(images, key=lambda d: d["imageDigest"])
            out[region, name, "ids"] = _all(client, "list_images", name)["imageIds"]
            out[region, name, "policy"] = _read(
                client.get_repository_policy, "policyText", repositoryName=name
            )
            out[region, name, "lifecycle"] = _read(client.get_lifecycle_policy, repositoryName=name)
            out[region, name, "preview"] = _read(client.get_lifecycle_policy_preview, repositoryName=name)
            tagged = [i for i in images if "v1" in i.get("imageTags", [])]
            out[region, name, "scan v1"] = (
                _read(
                    client.describe_image_scan_findings,
                    "imageScanStatus",
                    "status",
                    repositoryName=name,
                    imageId={"imageTag": "v1"},
                )
                if tagged and name == "app"
                else None
            )
            out[region, name, "tags"] = _read(
                client.list_tags_for_resource, "tags", resourceArn=repo["repositoryArn"]
            )
            out[region, name, "replication status"] = [
                _read(
                    client.describe_image_replication_status, repositoryName=name, imageId={"imageDigest": d}
                )
                for d in sorted(i["imageDigest"] for i in images)
            ]
    out["uploads"] = {
        name: sorted(
            (u.upload_id, u.size, u.sha256.hexdigest()) for u in fake.repository(name).uploads.values()
        )
        for name in fake.store.registry(ACCOUNT, REGION).repositories
    }
    out["agenda"] = [(job.due, job.kind, job.account, job.region) for job in fake.store.agenda.jobs()]
    out["events"] = list(fake.events)
    return out


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[Snapshot, dict[Any, Any]]]:
    """The documented pattern (docs/snapshots.rst): a module-scoped fixture builds its own fake,
    seeds it, and returns its snapshot; it never uses the function-scoped ``ecr``. Here it also
    returns what the source fake's clients read, the oracle of every restore."""
    with FakeECR(ACCOUNT, REGION) as source:
        source.options.scan_seconds = HOUR
        source.options.replication_seconds = HOUR
        source.options.lifecycle_preview_seconds = HOUR
        client = source.client()
        client.put_replication_configuration(
            replicationConfiguration={
                "rules": [
                    {
                        "destinations": [{"region": REPLICA_REGION, "registryId": ACCOUNT}],
                        "repositoryFilters": [{"filter": "app", "filterType": "PREFIX_MATCH"}],
                    }
                ]
            }
        )
        client.put_registry_policy(policyText=REGISTRY_POLICY)
        client.create_pull_through_cache_rule(
            ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws"
        )
        source.create_repository(
            "app", imageScanningConfiguration={"scanOnPush": True}, tags=[{"Key": "team", "Value": "core"}]
        )
        source.create_repository("big", imageTagMutability="IMMUTABLE")
        source.push_images("big", 200, tag="v{n}")
        source.push_image("app", ["v1", "latest"])
        source.push_image(
            "app", "multi", platforms=["linux/amd64", "linux/arm64"], referrers=["application/spdx+json"]
        )
        source.push_image("app", None, pushed_days_ago=3)
        client.set_repository_policy(repositoryName="app", policyText=POLICY)
        client.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=LIFECYCLE)
        client.start_lifecycle_policy_preview(repositoryName="app")
        upload = client.initiate_layer_upload(repositoryName="app")["uploadId"]
        client.upload_layer_part(
            repositoryName="app",
            uploadId=upload,
            partFirstByte=0,
            partLastByte=len(PART) - 1,
            layerPartBlob=PART,
        )
        client.get_authorization_token()
        source.clock.advance(60)  # an offset the restore must bring back
        state = fingerprint(source)
        yield source.snapshot(), state


@pytest.fixture
def restored(ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]) -> FakeECR:
    """The documented per-test half of the pattern: the test's ``ecr``, restored."""
    ecr.restore(seeded[0])
    return ecr


def test_the_seeded_state_has_every_kind_of_state(seeded: tuple[Snapshot, dict[Any, Any]]) -> None:
    """The oracle is worth something only if the source really holds pending work of each kind."""
    _, state = seeded
    kinds = {kind for _, kind, _, _ in state["agenda"]}
    # scans of the scan-on-push pushes, replications to us-west-2, the lifecycle's next run, its preview
    assert {"scan", "replication", "lifecycle", "lifecycle preview"} <= kinds
    assert len(state[REGION, "big", "images"]) == 200
    assert {tuple(sorted(d.get("imageTags", []))) for d in state[REGION, "app", "images"]} >= {
        ("latest", "v1")
    }
    assert state[REGION, "app", "scan v1"] == "IN_PROGRESS"
    assert state[REGION, "app", "preview"]["status"] == "IN_PROGRESS"
    assert [e["detail-type"] for e in state["events"]].count("ECR Image Action") >= 200


def test_restore_round_trips_everything(ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]) -> None:
    snapshot, state = seeded
    ecr.restore(snapshot)
    assert fingerprint(ecr) == state
    # the 60 s the source's clock was advanced by (a freeze is the test's own, not restored)
    assert abs(ecr.clock.now() - time.time() - 60) < 1
    # the open layer upload goes on where it stopped (its hash carried over)
    client = ecr.client()
    upload = next(iter(ecr.repository("app").uploads))
    client.upload_layer_part(
        repositoryName="app",
        uploadId=upload,
        partFirstByte=len(PART),
        partLastByte=len(PART) + 2,
        layerPartBlob=b"end",
    )
    digest = "sha256:" + hashlib.sha256(PART + b"end").hexdigest()
    done = client.complete_layer_upload(repositoryName="app", uploadId=upload, layerDigests=[digest])
    assert done["layerDigest"] == digest
    # the authorization token issued before the snapshot is still one the fake knows
    assert len(ecr.store.tokens) == 1


def test_pending_work_runs_in_each_restore_alone(
    ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]
) -> None:
    snapshot, state = seeded
    ecr.restore(snapshot)
    ecr.clock.advance(2 * HOUR)
    client = ecr.client()
    scan = client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert scan["imageScanStatus"]["status"] == "COMPLETE"
    replica = ecr.client(REPLICA_REGION).describe_images(repositoryName="app")["imageDetails"]
    assert len(replica) == len(state[REGION, "app", "images"])
    assert client.get_lifecycle_policy_preview(repositoryName="app")["status"] == "COMPLETE"
    # the snapshot still holds the work pending: a second restore starts from it again
    ecr.restore(snapshot)
    assert fingerprint(ecr) == state


def _mutate_everything(fake: FakeECR) -> None:
    """One mutation of each operation family, on shared repositories and registry settings."""
    client = fake.client()
    fake.push_image("app", "v1")  # the tag moves
    client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "latest"}])
    client.put_image(
        repositoryName="big",
        imageManifest=client.batch_get_image(repositoryName="big", imageIds=[{"imageTag": "v1"}])["images"][
            0
        ]["imageManifest"],
        imageTag="another",
    )
    client.delete_repository(repositoryName="big", force=True)
    client.delete_repository_policy(repositoryName="app")
    client.delete_lifecycle_policy(repositoryName="app")
    client.tag_resource(resourceArn=fake.repository("app").arn, tags=[{"Key": "team", "Value": "other"}])
    client.put_image_scanning_configuration(
        repositoryName="app", imageScanningConfiguration={"scanOnPush": False}
    )
    client.delete_registry_policy()
    client.put_replication_configuration(replicationConfiguration={"rules": []})
    client.delete_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public")
    client.create_repository(repositoryName="new")
    upload = next(iter(fake.repository("app").uploads))
    client.upload_layer_part(
        repositoryName="app",
        uploadId=upload,
        partFirstByte=len(PART),
        partLastByte=len(PART),
        layerPartBlob=b"!",
    )
    fake.repository("app").images[next(iter(fake.repository("app").images))].tags.append("direct")
    fake.events.clear()
    fake.clock.advance(2 * HOUR)  # runs the pending work
    fake.client(REPLICA_REGION).describe_images(repositoryName="app")


def test_mutations_after_restore_leave_the_snapshot_alone(
    ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]
) -> None:
    snapshot, state = seeded
    ecr.restore(snapshot)
    _mutate_everything(ecr)
    assert fingerprint(ecr) != state
    ecr.restore(snapshot)
    assert fingerprint(ecr) == state


@pytest.mark.parametrize("order", ["first", "second"])
def test_each_test_starts_from_the_snapshot(
    ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]], order: str
) -> None:
    """Two tests of one module: whichever runs second sees what the first changed undone."""
    snapshot, state = seeded
    ecr.restore(snapshot)
    assert fingerprint(ecr) == state
    _mutate_everything(ecr)


def test_a_snapshot_of_a_restored_fake_shares_what_was_not_touched(
    ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]
) -> None:
    snapshot, _ = seeded
    ecr.restore(snapshot)
    repositories = ecr.store.registry(ACCOUNT, REGION).repositories
    assert isinstance(repositories, CopyOnAccess)
    shared = snapshot.registries[ACCOUNT, REGION].repositories
    # nothing is copied by the restore itself
    assert repositories.shared("big") is shared["big"]
    assert repositories.shared("app") is shared["app"]
    ecr.push_image("app", "v2")
    assert repositories.shared("app") is None
    again = ecr.snapshot()
    assert again.registries[ACCOUNT, REGION].repositories["big"] is shared["big"]
    assert again.registries[ACCOUNT, REGION].repositories["app"] is not shared["app"]
    other = FakeECR(ACCOUNT, REGION)
    other.restore(again)
    assert {tuple(sorted(i.tags)) for i in other.repository("app").images.values()} >= {("v2",)}
    assert len(other.repository("big").images) == 200
    assert len(ecr.repository("big").images) == 200


def test_images_pushed_after_a_restore_are_new_images(restored: FakeECR) -> None:
    ecr = restored
    before = set(ecr.repository("big").images)
    fresh = ecr.push_images("big", 3)
    assert not before & set(fresh)
    assert len(ecr.repository("big").images) == 203


def test_a_shared_repository_reached_around_the_copy_fails_loudly(restored: FakeECR) -> None:
    repositories = restored.store.registry(ACCOUNT, REGION).repositories
    placeholder = dict.__getitem__(repositories, "big")  # what a path around the accessors would get
    with pytest.raises(SnapshotLeak, match="repository 'big' of a restored snapshot"):
        placeholder.images  # noqa: B018
    assert len(dict(repositories)["big"].images) == 200  # dict(d) goes through __getitem__: a copy


def test_events_read_after_restore_are_copies(ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]) -> None:
    snapshot, state = seeded
    ecr.restore(snapshot)
    ecr.events[0]["detail"]["repository-name"] = "changed"
    ecr.restore(snapshot)
    assert ecr.events[0] == state["events"][0]


def test_restore_keeps_the_tests_call_log(ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]) -> None:
    """The call log records what this test's clients asked (docs/snapshots.rst): the seeding
    fake's calls are not in it, and a restore does not erase what came before it."""
    snapshot, _ = seeded
    ecr.client().describe_repositories()
    ecr.restore(snapshot)
    ecr.client().describe_repositories(repositoryNames=["app"])
    assert [c.operation for c in ecr.calls] == ["DescribeRepositories", "DescribeRepositories"]


def test_restore_refuses_what_is_not_a_snapshot_or_another_account(
    seeded: tuple[Snapshot, dict[Any, Any]],
) -> None:
    snapshot, _ = seeded
    with pytest.raises(
        TypeError, match=re.escape("restore() takes a Snapshot from FakeECR.snapshot(), not dict")
    ):
        FakeECR().restore({})  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match="account 123456789012 in us-east-1; this fake is account 210987654321"
    ):
        FakeECR("210987654321").restore(snapshot)


def test_module_scoped_seed_with_pytester(pytester: pytest.Pytester) -> None:
    """The pattern of docs/snapshots.rst as a user writes it: no ScopeMismatch, and the second
    test does not see the first test's changes."""
    pytester.makepyfile(
        """
        import pytest
        from pytest_ecr import FakeECR

        @pytest.fixture(scope="module")
        def seeded():
            fake = FakeECR()
            fake.create_repository("app")
            fake.push_images("app", 1000, tag="v{n}")
            return fake.snapshot()

        @pytest.fixture
        def ecr_seeded(ecr, seeded):
            ecr.restore(seeded)
            return ecr

        def test_deletes(ecr_seeded):
            client = ecr_seeded.client()
            client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v0"}])
            assert len(client.list_images(repositoryName="app", maxResults=1000)["imageIds"]) == 999

        def test_sees_all(ecr_seeded):
            client = ecr_seeded.client()
            assert len(client.list_images(repositoryName="app", maxResults=1000)["imageIds"]) == 1000
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "error")
    result.assert_outcomes(passed=2)


def test_a_deep_copy_of_an_image_table_carries_its_indexes_apart() -> None:
    fake = FakeECR()
    fake.create_repository("app")
    index = fake.push_image("app", "multi", platforms=["linux/amd64", "linux/arm64"])
    fake.push_artifact("app", index.digest)
    table = fake.repository("app").images
    copied = copy.deepcopy(table)
    children = list(fake.repository("app").images[index.digest].children)
    assert len(children) == 2
    assert [copied.parents(child) for child in children] == [[index.digest], [index.digest]]
    assert [i.digest for i in copied.referrers(index.digest)] == [
        i.digest for i in table.referrers(index.digest)
    ]
    assert [i.digest for i in copied.from_seq(0)] == [i.digest for i in table.from_seq(0)]
    assert all(copied[d] is not table[d] and copied[d].tags is not table[d].tags for d in table)
    del copied[index.digest]
    assert table.parents(children[0]) == [index.digest]
    assert copied.parents(children[0]) == []
    assert index.digest in table


def _scanned_after_two_hours(fake: FakeECR) -> set[str]:
    fake.clock.advance(2 * HOUR)
    return {e["detail"]["image-digest"] for e in fake.events.filter("ECR Image Scan")}


def test_pending_work_survives_a_snapshot_of_a_restored_fake(
    ecr: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]
) -> None:
    """Jobs copied out of the snapshot (listing them copies them) while their repository is still
    shared: the second snapshot must keep each job with its repository's objects, so each scan
    job still completes its image's scan (and sends its event) as after a plain restore."""
    snapshot, state = seeded
    ecr.restore(snapshot)
    expected = _scanned_after_two_hours(ecr)
    assert len(expected) >= 3  # the pushes to the scan-on-push repository
    ecr.restore(snapshot)
    assert {job.kind for job in ecr.store.agenda.jobs()} >= {"scan", "replication"}
    again = ecr.snapshot()
    ecr.restore(again)
    assert fingerprint(ecr) == state
    assert _scanned_after_two_hours(ecr) == expected
    replica = ecr.client(REPLICA_REGION).describe_images(repositoryName="app")["imageDetails"]
    assert len(replica) == len(state[REGION, "app", "images"])


def test_registry_settings_are_the_tests_own_after_a_restore(
    restored: FakeECR, seeded: tuple[Snapshot, dict[Any, Any]]
) -> None:
    """The registry's scan start times (its basic-scan quota) and settings are copies: a scan
    started after the restore counts in this test only."""
    snapshot, _ = seeded
    kept = snapshot.registries[ACCOUNT, REGION]
    starts = list(kept.scan_starts)
    assert len(starts) >= 3  # the scan-on-push pushes
    restored.client().start_image_scan(repositoryName="big", imageId={"imageTag": "v1"})
    assert len(restored.store.registry(ACCOUNT, REGION).scan_starts) == len(starts) + 1
    assert kept.scan_starts == starts
    restored.store.registry(ACCOUNT, REGION).replication_rules.clear()
    assert kept.replication_rules[0]["destinations"] == [{"region": REPLICA_REGION, "registryId": ACCOUNT}]
