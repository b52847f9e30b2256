"""One agenda for delayed work (issue #17): effects happen at their due time, in time order across
domains, whoever looks and whenever; advancing the clock runs them; idle lifecycle runs coalesce.

Expected times are the documented delays of ``Options`` (docs/fixtures.rst): scans 10 s,
replication 30 s, restores 1200 s ("typically takes up to 20 minutes", ECR User Guide, archiving
images), lifecycle runs every 86400 s from PutLifecyclePolicy ("within 24 hours", ECR User Guide,
lifecycle policies), the policy examples as issue #17 states them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from pytest_ecr.service import lifecycle

pytestmark = pytest.mark.ecr_time("2026-01-01T00:00:00Z")

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
REPO = "app"
OTHER_REGION = "eu-west-1"


def at(**delta: float) -> str:
    """The EventBridge ``time`` of T0 + delta (whole seconds, as events carry it)."""
    return (T0 + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def policy(*rules: dict[str, Any]) -> str:
    return json.dumps({"rules": list(rules)}).ljust(100)


KEEP_ONE_UNTAGGED = {
    "rulePriority": 1,
    "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
    "action": {"type": "expire"},
}
EXPIRE_AFTER_30_DAYS = {
    "rulePriority": 1,
    "selection": {
        "tagStatus": "any",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 30,
    },
    "action": {"type": "expire"},
}


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The times of the lifecycle evaluations the fake plans (a spy on the planner a run uses)."""
    seen: list[float] = []
    real = lifecycle.plan

    def spy(images: Any, rules: Any, now: float) -> Any:
        seen.append(now)
        return real(images, rules, now)

    monkeypatch.setattr(lifecycle, "plan", spy)
    return seen


def test_lifecycle_runs_at_its_due_times_not_at_the_read(ecr, ecr_client, evaluations):
    # issue #17: put a policy at T0, advance 73 h: lastEvaluatedAt is T0 + 72 h (the last run
    # due), and the DELETE of the image the first run expired is dated T0 + 24 h.
    ecr_client.create_repository(repositoryName=REPO)
    old = ecr.push_image(REPO, [], pushed_days_ago=2)
    ecr.push_image(REPO, [], pushed_days_ago=1)
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=policy(KEEP_ONE_UNTAGGED))
    ecr.clock.advance(73 * 3600)

    got = ecr_client.get_lifecycle_policy(repositoryName=REPO)
    assert got["lastEvaluatedAt"] == T0 + timedelta(hours=72)
    deletes = ecr.events.filter("ECR Image Action", action_type="DELETE")
    assert [(e["time"], e["detail"]["image-digest"]) for e in deletes] == [(at(hours=24), old.digest)]
    # the runs: T0+24 h acted, T0+48 h found nothing, T0+72 h coalesced (nothing could change)
    assert evaluations == [(T0 + timedelta(hours=h)).timestamp() for h in (24, 48)]


def test_advancing_the_clock_runs_due_work_without_any_request(ecr, ecr_client):
    ecr_client.create_repository(repositoryName=REPO)
    ecr_client.put_replication_configuration(
        replicationConfiguration={
            "rules": [{"destinations": [{"region": OTHER_REGION, "registryId": ecr.account_id}]}]
        }
    )
    pushed = ecr.push_image(REPO, "v1")
    destination = ecr.store.registry(ecr.account_id, OTHER_REGION)
    assert REPO not in destination.repositories
    ecr.clock.advance(30)
    # read the store itself: no request, no helper, no events read in between
    assert pushed.digest in destination.repositories[REPO].images


def test_effects_across_domains_happen_in_time_order_with_due_times(ecr, ecr_client):
    ecr_client.create_repository(repositoryName=REPO)
    archived = ecr.push_image(REPO, "old")
    ecr_client.update_image_storage_class(
        repositoryName=REPO, imageId={"imageDigest": archived.digest}, targetStorageClass="ARCHIVE"
    )
    ecr_client.update_image_storage_class(
        repositoryName=REPO, imageId={"imageDigest": archived.digest}, targetStorageClass="STANDARD"
    )
    ecr_client.put_image_scanning_configuration(
        repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True}
    )
    ecr_client.put_replication_configuration(
        replicationConfiguration={
            "rules": [{"destinations": [{"region": OTHER_REGION, "registryId": ecr.account_id}]}]
        }
    )
    ecr.events.clear()
    ecr.clock.advance(5)
    image = ecr.push_image(REPO, "v1")  # at T0 + 5 s
    # one step over everything: the restore (T0 + 1200 s) was scheduled first, the push's scan
    # (T0 + 15 s) and replication (T0 + 35 s) later; they must still land in due-time order
    ecr.clock.advance(2000)

    timeline = [
        (e["time"], e["detail-type"], e["region"], e["detail"].get("image-digest"))
        for e in ecr.events
        if e["detail-type"] != "ECR Image Action" or e["detail"]["action-type"] != "PUSH"
    ]
    assert timeline == [
        (at(seconds=15), "ECR Image Scan", "us-east-1", image.digest),
        (at(seconds=35), "ECR Replication Action", OTHER_REGION, image.digest),
        (at(seconds=1200), "ECR Image Action", "us-east-1", archived.digest),  # restored
        # the restore re-scans the image (scan on push), 10 s after it completes
        (at(seconds=1210), "ECR Image Scan", "us-east-1", archived.digest),
    ]
    findings = ecr_client.describe_image_scan_findings(repositoryName=REPO, imageId={"imageTag": "v1"})
    assert findings["imageScanFindings"]["imageScanCompletedAt"] == T0 + timedelta(seconds=15)
    details = ecr_client.describe_images(repositoryName=REPO, imageIds=[{"imageTag": "old"}])["imageDetails"]
    assert details[0]["lastActivatedAt"] == T0 + timedelta(seconds=1200)


def test_a_freezegun_tick_the_fake_cannot_see_is_caught_at_the_next_request(ecr, ecr_client):
    from freezegun import api

    ecr_client.create_repository(repositoryName=REPO, imageScanningConfiguration={"scanOnPush": True})
    ecr.push_image(REPO, "v1")
    api.freeze_factories[-1].tick(timedelta(seconds=60))  # behind the fake's back
    assert ecr.store.agenda.jobs("scan")  # nothing ran yet
    status = ecr_client.describe_image_scan_findings(repositoryName=REPO, imageId={"imageTag": "v1"})
    assert status["imageScanStatus"]["status"] == "COMPLETE"
    assert status["imageScanFindings"]["imageScanCompletedAt"] == T0 + timedelta(seconds=10)


def test_a_year_over_100000_images_costs_about_one_evaluation_per_change(ecr, ecr_client, evaluations):
    ecr_client.create_repository(repositoryName=REPO)
    ecr.push_images(REPO, 100_000)
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=policy(EXPIRE_AFTER_30_DAYS))
    ecr.clock.advance(100 * 86400)
    late = ecr.push_image(REPO, "late")  # at T0 + 100 d: a change
    ecr.clock.advance(265 * 86400)

    day = [(T0 + timedelta(days=d)).timestamp() for d in range(366)]
    # day 1: nothing older than 30 days; day 31: the 100,000 images (pushed at T0) are; day 32:
    # nothing; then idle until the push of day 100; day 101: "late" is 1 day old; day 131: it is
    # older than 30 days; day 132: nothing, and no threshold left: idle to the end of the year.
    assert evaluations == [day[1], day[31], day[32], day[101], day[131], day[132]]
    assert ecr_client.list_images(repositoryName=REPO)["imageIds"] == []
    got = ecr_client.get_lifecycle_policy(repositoryName=REPO)
    assert got["lastEvaluatedAt"] == T0 + timedelta(days=365)
    deletes = ecr.events.filter("ECR Image Action", action_type="DELETE")
    assert len(deletes) == 100_001
    assert {e["time"] for e in deletes[:100_000]} == {at(days=31)}
    assert (deletes[-1]["time"], deletes[-1]["detail"]["image-digest"]) == (at(days=131), late.digest)


def test_a_change_during_a_coalesced_stretch_resumes_the_daily_schedule(ecr, ecr_client, evaluations):
    ecr_client.create_repository(repositoryName=REPO)
    ecr.push_image(REPO, [])
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=policy(KEEP_ONE_UNTAGGED))
    ecr.clock.advance(10 * 86400 + 3600)  # runs due on days 1..10: only day 1 evaluates
    assert ecr_client.get_lifecycle_policy(repositoryName=REPO)["lastEvaluatedAt"] == T0 + timedelta(days=10)
    second = ecr.push_image(REPO, [])  # day 10 + 1 h: two untagged images, one too many
    ecr.clock.advance(86400)
    assert [i["imageDigest"] for i in ecr_client.list_images(repositoryName=REPO)["imageIds"]] == [
        second.digest
    ]
    deletes = ecr.events.filter("ECR Image Action", action_type="DELETE")
    assert [e["time"] for e in deletes] == [at(days=11)]
    assert evaluations == [(T0 + timedelta(days=d)).timestamp() for d in (1, 11)]


def test_deleting_the_policy_leaves_its_scheduled_run_stale(ecr, ecr_client, evaluations):
    ecr_client.create_repository(repositoryName=REPO)
    ecr.push_image(REPO, [])
    ecr.push_image(REPO, [])
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=policy(KEEP_ONE_UNTAGGED))
    ecr_client.delete_lifecycle_policy(repositoryName=REPO)
    ecr.clock.advance(2 * 86400)
    assert evaluations == []
    assert len(ecr_client.list_images(repositoryName=REPO)["imageIds"]) == 2


def test_referrers_follow_a_deleted_subject_at_their_due_time(ecr, ecr_client):
    # Options.referrer_cleanup_seconds: a day after the subject goes (ECR: "within 24 hours")
    ecr_client.create_repository(repositoryName=REPO)
    subject = ecr.push_image(REPO, "v1", referrers=["application/spdx+json"])
    (sbom,) = ecr_client.list_image_referrers(repositoryName=REPO, subjectId={"imageDigest": subject.digest})[
        "referrers"
    ]
    ecr_client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": subject.digest}])
    ecr.clock.advance(3 * 86400)  # one step, read long after the due time
    deletes = ecr.events.filter("ECR Image Action", action_type="DELETE")
    assert [(e["time"], e["detail"]["image-digest"]) for e in deletes] == [
        (at(), subject.digest),
        (at(days=1), sbom["digest"]),
    ]


def test_a_pull_during_a_coalesced_stretch_moves_a_since_pulled_transition(ecr, ecr_client, evaluations):
    # sinceImagePulled 5 days (a transition-only count type): the image pushed at T0 would be
    # archived by the run of day 6, but a pull on day 3 makes it 5 days unpulled only after day 8:
    # the run of day 9 archives it.
    ecr_client.create_repository(repositoryName=REPO)
    image = ecr.push_image(REPO, "v1")
    rule = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "any",
            "countType": "sinceImagePulled",
            "countUnit": "days",
            "countNumber": 5,
        },
        "action": {"type": "transition", "targetStorageClass": "archive"},
    }
    ecr_client.put_lifecycle_policy(repositoryName=REPO, lifecyclePolicyText=policy(rule))
    ecr.clock.advance(3 * 86400)
    ecr_client.batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": "v1"}])
    ecr.clock.advance(7 * 86400)
    archived = ecr.events.filter("ECR Image Action", action_type="UPDATE_STORAGE_CLASS")
    assert [(e["time"], e["detail"]["image-digest"]) for e in archived] == [(at(days=9), image.digest)]
    (details,) = ecr_client.describe_images(repositoryName=REPO, filter={"imageStatus": "ANY"})[
        "imageDetails"
    ]
    assert details["lastArchivedAt"] == T0 + timedelta(days=9)
    # day 1: no threshold before day 5; the pull (day 3) resumes the schedule: day 4 finds
    # nothing before day 8; day 9 archives; day 10 finds nothing, and nothing is left to cross
    assert evaluations == [(T0 + timedelta(days=d)).timestamp() for d in (1, 4, 9, 10)]
