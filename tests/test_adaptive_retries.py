"""The ``adaptive`` retry mode's client-side rate limiter waits in virtual time while a fake is active."""

from __future__ import annotations

import os
import time

import boto3
import botocore.retries.bucket
import pytest
from botocore.config import Config
from botocore.exceptions import CapacityNotAvailableError
from botocore.retries.bucket import Clock, TokenBucket

from pytest_ecr import FakeECR

ADAPTIVE = Config(retries={"mode": "adaptive", "max_attempts": 5})


def real_seconds() -> float:
    """Wall-clock seconds that freezegun's freeze (``ecr.clock.freeze()``) leaves alone."""
    return os.times().elapsed


def test_throttled_adaptive_client_waits_on_the_fake_clock(ecr: FakeECR, limiter_waits: list[float]) -> None:
    ecr.create_repository("app")
    # Frozen, only virtual waits move the fake's time. The limiter, refilling from a frozen clock,
    # used to wait forever here.
    ecr.clock.freeze()
    rule = ecr.faults.fail("DescribeRepositories", error="ThrottlingException", times=3)
    client = ecr.client(config=ADAPTIVE)
    start, began = ecr.clock.now(), real_seconds()
    answer = client.describe_repositories()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 3
    assert rule.exhausted
    # Throttled once, the client stays rate limited: back-to-back calls run its bucket dry (the
    # retries' random backoff alone may have let it refill).
    for _ in range(5):
        assert [r["repositoryName"] for r in client.describe_repositories()["repositories"]] == ["app"]
    assert real_seconds() - began < 1
    assert sum(limiter_waits) >= 1  # at 0.5 to 2 calls a second; seconds that passed only virtually
    assert ecr.clock.now() - start >= sum(limiter_waits)


def test_the_bucket_waits_exactly_its_refill_time(ecr: FakeECR) -> None:
    ecr.clock.freeze()
    assert Clock().current_time() == ecr.clock.now()  # the limiter's clock is the fake's
    bucket = TokenBucket(max_rate=0.5, clock=Clock())  # empty, refills half a token a second
    with pytest.raises(CapacityNotAvailableError):
        bucket.acquire(block=False)  # non-blocking stays non-blocking: no time passes
    start = ecr.clock.now()
    assert bucket.acquire() is True
    assert ecr.clock.now() - start == pytest.approx(2.0, abs=1e-5)
    assert bucket.available_capacity == pytest.approx(0, abs=1e-5)


def test_client_made_before_the_fake_started(limiter_waits: list[float]) -> None:
    early = boto3.client("ecr", region_name="us-east-1", config=ADAPTIVE)  # its bucket exists already
    with FakeECR() as fake:
        fake.create_repository("app")
        fake.faults.fail("DescribeRepositories", error="ThrottlingException", times=3)
        start, began = fake.clock.now(), time.perf_counter()
        for _ in range(6):
            early.describe_repositories()
        assert time.perf_counter() - began < 1
        assert sum(limiter_waits) >= 1
        assert fake.clock.now() - start >= sum(limiter_waits)


def test_client_made_before_a_fake_frozen_in_the_past(limiter_waits: list[float]) -> None:
    early = boto3.client("ecr", region_name="us-east-1", config=ADAPTIVE)  # its bucket's clock: today
    with FakeECR() as fake:
        fake.clock.freeze("2020-01-01T00:00:00Z")  # years back, as the ecr_time marker may do
        fake.create_repository("app")
        fake.faults.fail("DescribeRepositories", error="ThrottlingException", times=3)
        start, began = fake.clock.now(), real_seconds()
        for _ in range(6):
            early.describe_repositories()
        assert real_seconds() - began < 1
        # The bucket does not count the years its clock went back as tokens owed: the client is
        # held back by its rate (>= 0.5 calls a second), not for years.
        assert 1 <= sum(limiter_waits) <= fake.clock.now() - start < 60


def test_botocore_is_itself_again_when_the_last_fake_stops() -> None:
    acquire = TokenBucket.__dict__["_acquire"]
    first, second = FakeECR().start(), FakeECR().start()
    try:
        assert botocore.retries.bucket.time is not time
        assert TokenBucket.__dict__["_acquire"] is not acquire
        first.stop()  # fakes need not stop in the order they started
        second.clock.advance(3600)
        assert Clock().current_time() - time.time() == pytest.approx(3600, abs=1)  # second's clock
    finally:
        first.stop()
        second.stop()
    assert botocore.retries.bucket.time is time
    assert TokenBucket.__dict__["_acquire"] is acquire
