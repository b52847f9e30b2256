"""Virtual time: ecr_clock, ecr_time, freezegun coexistence, waiter and retry sleeps, token expiry."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import botocore.endpoint
import botocore.waiter
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from freezegun import freeze_time

from pytest_ecr import FakeECR
from pytest_ecr.service.auth import token_grant

JAN1 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.ecr_time("2026-01-01T00:00:00Z")
def test_ecr_time_freezes_the_fake_and_the_code_under_test(ecr_clock, ecr_client):
    assert ecr_clock.now() == JAN1
    assert datetime.now(timezone.utc) == JAN1
    created = ecr_client.create_repository(repositoryName="app")["repository"]["createdAt"]
    assert created == JAN1
    assert ecr_clock.advance(hours=1, minutes=30) == JAN1 + timedelta(hours=1, minutes=30)
    assert datetime.now(timezone.utc) == JAN1 + timedelta(hours=1, minutes=30)


@pytest.mark.ecr_time("2026-01-01T00:00:00Z")
@pytest.mark.ecr_seed(images={"app": [{"tags": ["old"], "pushed_days_ago": 10}]})
def test_seeding_counts_from_the_marker_time(ecr_client):
    pushed = ecr_client.describe_images(repositoryName="app")["imageDetails"][0]["imagePushedAt"]
    assert pushed == JAN1 - timedelta(days=10)


def test_ecr_clock_without_marker_freezes_now(ecr_clock):
    before = ecr_clock.now()
    time.sleep(0.01)  # wall time moves, frozen time does not
    assert ecr_clock.now() == before
    ecr_clock.advance(days=2)
    assert ecr_clock.now() - before == timedelta(days=2)


def test_clock_never_goes_backwards(ecr_clock):
    with pytest.raises(ValueError, match="never goes backwards"):
        ecr_clock.advance(-1)


def test_a_users_freeze_is_followed(ecr):
    with freeze_time("2030-06-01T12:00:00Z") as frozen:
        client = ecr.client()
        created = client.create_repository(repositoryName="app")["repository"]["createdAt"]
        assert created == datetime(2030, 6, 1, 12, tzinfo=timezone.utc)
        frozen.tick(60)
        assert ecr.clock.now() == datetime(2030, 6, 1, 12, 1, tzinfo=timezone.utc).timestamp()
        ecr.clock.advance(60)  # moves the user's own freeze
        assert datetime.now(timezone.utc) == datetime(2030, 6, 1, 12, 2, tzinfo=timezone.utc)


def test_bad_ecr_time_fails_at_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_time("yesterday-ish")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.ecr_time: cannot read 'yesterday-ish' as a moment in time*"])


@pytest.mark.ecr_time("2026-01-01T00:00:00Z")
def test_token_expires_after_12_hours(ecr, ecr_client, ecr_clock):
    data = ecr_client.get_authorization_token()["authorizationData"][0]
    assert data["expiresAt"] == JAN1 + timedelta(hours=12)
    token = data["authorizationToken"]
    ecr_clock.advance(hours=12, seconds=1)
    assert token_grant(ecr.store, token, ecr.clock.now()) is None
    assert data["expiresAt"] < datetime.now(timezone.utc)  # user code comparing with now() agrees


@pytest.mark.ecr_time("2026-01-01T00:00:00Z")
def test_token_valid_until_expiry(ecr, ecr_client, ecr_clock):
    token = ecr_client.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    ecr_clock.advance(hours=11, minutes=59, seconds=59)
    assert token_grant(ecr.store, token, ecr.clock.now()) is not None
    assert ecr.token_valid(token)
    ecr_clock.advance(seconds=2)
    assert not ecr.token_valid(token)


@pytest.mark.ecr_time("2026-01-01T00:00:00Z")
@pytest.mark.ecr_seed(images={"app": ["v1"]})
def test_scan_waiter_keeps_its_real_schedule(ecr, ecr_client, ecr_clock):
    ecr.options.scan_seconds = 30
    ecr_client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    ecr_client.get_waiter("image_scan_complete").wait(repositoryName="app", imageId={"imageTag": "v1"})
    polls = ecr.calls.filter("DescribeImageScanFindings")
    # ImageScanComplete polls every 5 s: at 0, 5, ..., 30 s; the last poll sees COMPLETE.
    assert len(polls) == 7
    assert ecr_clock.now() == JAN1 + timedelta(seconds=30)
    assert polls[-1].response["imageScanStatus"]["status"] == "COMPLETE"
    assert all(p.response["imageScanStatus"]["status"] == "IN_PROGRESS" for p in polls[:-1])


def test_waiter_sleeps_are_virtual_without_a_freeze(ecr):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    ecr.options.scan_seconds = 3600
    client = ecr.client()
    client.start_image_scan(repositoryName="app", imageId={"imageTag": "v1"})
    client.get_waiter("image_scan_complete").wait(
        repositoryName="app", imageId={"imageTag": "v1"}, WaiterConfig={"Delay": 60, "MaxAttempts": 100}
    )
    assert len(ecr.calls.filter("DescribeImageScanFindings")) == 61
    # The hour of polling went into the fake's clock, ahead of the wall clock, not into waiting.
    assert ecr.clock.now() - time.time() > 3599


def test_retry_sleeps_are_virtual(ecr, monkeypatch):
    from pytest_ecr.service import registry
    from pytest_ecr.service.errors import ServerException

    failures = iter(range(2))

    def flaky(ctx, **params):
        if next(failures, None) is not None:
            raise ServerException("transient")
        return {"repositories": []}

    monkeypatch.setitem(registry.HANDLERS, "DescribeRepositories", flaky)
    client = ecr.client(config=Config(retries={"mode": "standard", "max_attempts": 3}))
    before = ecr.clock.now()
    assert client.describe_repositories()["repositories"] == []
    assert ecr.clock.now() > before  # the backoff between attempts was spent in virtual time
    assert [c.error_code for c in ecr.calls] == ["ServerException", "ServerException", None]


def test_sleep_shim_is_removed_after_the_fake_stops():
    import time as real_time

    with FakeECR():
        assert botocore.waiter.time is not real_time
        assert botocore.endpoint.time is not real_time
    assert botocore.waiter.time is real_time
    assert botocore.endpoint.time is real_time


def test_error_response_ends_the_waiter(ecr, ecr_client):
    ecr.create_repository("app")
    ecr.push_image("app", "v1")
    with pytest.raises(Exception, match="ScanNotFoundException"):
        ecr_client.get_waiter("image_scan_complete").wait(repositoryName="app", imageId={"imageTag": "v1"})
    assert len(ecr.calls.filter("DescribeImageScanFindings")) == 1
    with pytest.raises(ClientError):
        ecr_client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})


def test_fakes_may_stop_in_any_order():
    import time as real_time

    first, second = FakeECR().start(), FakeECR().start()
    first.stop()
    assert botocore.waiter.time is not real_time  # the second fake is still active
    second.stop()
    assert botocore.waiter.time is real_time
    assert botocore.endpoint.time is real_time
