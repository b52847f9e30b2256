"""aiobotocore and aioboto3 ECR clients, answered by the same fake as boto3's (tox env ``aio``)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

pytest.importorskip("aiobotocore")

import aiobotocore.endpoint
import aiobotocore.retries.bucket
import aiobotocore.session
import aiobotocore.waiter
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError
from helpers import image_manifest

from pytest_ecr import FakeECR, _hook, aio, mock_ecr
from pytest_ecr.transport import NetworkBlocked

STANDARD = Config(retries={"mode": "standard"})  # three attempts in all
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
ADAPTIVE = Config(retries={"mode": "adaptive", "max_attempts": 5})


def real_seconds() -> float:
    """Wall-clock seconds that freezegun's freeze (``ecr.clock.freeze()``) leaves alone."""
    return os.times().elapsed


def test_repository_and_image_lifecycle(ecr: FakeECR) -> None:
    async def scenario() -> dict[str, Any]:
        async with ecr.aio_client() as client:
            created = await client.create_repository(repositoryName="app")
            described = await client.describe_repositories(repositoryNames=["app"])
            manifest = image_manifest(ecr, "app")
            put = await client.put_image(repositoryName="app", imageManifest=manifest, imageTag="v1")
            listed = await client.list_images(repositoryName="app")
            deleted = await client.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
            gone = await client.delete_repository(repositoryName="app")
            return dict(
                created=created, described=described, put=put, listed=listed, deleted=deleted, gone=gone
            )

    out = asyncio.run(scenario())
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
    assert out["created"]["repository"]["repositoryUri"] == uri
    assert [r["repositoryName"] for r in out["described"]["repositories"]] == ["app"]
    digest = out["put"]["image"]["imageId"]["imageDigest"]
    assert out["listed"]["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    assert out["deleted"]["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    assert out["deleted"]["failures"] == []
    assert out["gone"]["repository"]["repositoryName"] == "app"
    assert "app" not in ecr.store.registry(ecr.account_id, ecr.region).repositories
    assert [c.operation for c in ecr.calls] == [
        "CreateRepository",
        "DescribeRepositories",
        "PutImage",
        "ListImages",
        "BatchDeleteImage",
        "DeleteRepository",
    ]


def test_errors_are_botocore_client_errors_with_ecr_codes(ecr: FakeECR) -> None:
    async def scenario() -> tuple[ClientError, ClientError]:
        async with ecr.aio_client() as client:
            with pytest.raises(client.exceptions.RepositoryNotFoundException) as missing:
                await client.describe_repositories(repositoryNames=["nope"])
            await client.create_repository(repositoryName="app")
            with pytest.raises(ClientError) as twice:
                await client.create_repository(repositoryName="app")
            return missing.value, twice.value

    missing, twice = asyncio.run(scenario())
    assert missing.response["Error"] == {
        "Code": "RepositoryNotFoundException",
        "Message": "The repository with name 'nope' does not exist in the registry with id '123456789012'",
    }
    assert missing.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert twice.response["Error"]["Code"] == "RepositoryAlreadyExistsException"


def test_async_paginator_walks_every_page(ecr: FakeECR) -> None:
    ecr.create_repository("app")
    digests = ecr.push_images("app", 25, tag="v{n}")

    async def scenario() -> list[list[str]]:
        async with ecr.aio_client() as client:
            paginator = client.get_paginator("list_images")
            return [
                [i["imageDigest"] for i in page["imageIds"]]
                async for page in paginator.paginate(repositoryName="app", PaginationConfig={"PageSize": 10})
            ]

    pages = asyncio.run(scenario())
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sorted(d for p in pages for d in p) == sorted(digests)
    assert [c.params.get("nextToken") is not None for c in ecr.calls.filter("ListImages")] == [
        False,
        True,
        True,
    ]


def test_waiter_polls_in_virtual_time(ecr: FakeECR) -> None:
    ecr.clock.freeze()  # only the waiter's sleeps move the fake's time
    ecr.create_repository("app", imageScanningConfiguration={"scanOnPush": True})
    ecr.push_image("app", "v1")
    start = ecr.clock.now()

    async def scenario() -> dict[str, Any]:
        async with ecr.aio_client() as client:
            waiter = client.get_waiter("image_scan_complete")
            await waiter.wait(repositoryName="app", imageId={"imageTag": "v1"})
            return await client.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})

    began = real_seconds()
    findings = asyncio.run(scenario())
    assert real_seconds() - began < 2  # the scan takes 10 s of the fake's time, polled every 5 s
    assert findings["imageScanStatus"]["status"] == "COMPLETE"
    polls = ecr.calls.filter("DescribeImageScanFindings")
    # The waiter's polls: IN_PROGRESS at 0 s and 5 s, COMPLETE at 10 s; then the test's own call.
    assert len(polls) == 4
    assert ecr.clock.now() - start == pytest.approx(10.0, abs=0.001)  # two 5-second sleeps


def test_throttling_is_absorbed_by_standard_retries(ecr: FakeECR, monkeypatch: pytest.MonkeyPatch) -> None:
    ecr.create_repository("app")
    rule = ecr.faults.fail("DescribeRepositories", error="ThrottlingException", times=2)
    ecr.clock.freeze()  # only the retries' backoff moves the fake's time
    start = ecr.clock.now()

    async def scenario() -> dict[str, Any]:
        async with ecr.aio_client(config=STANDARD) as client:
            return await client.describe_repositories()

    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def spy(delay: float, result: Any = None) -> Any:
        slept.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", spy)
    answer = asyncio.run(scenario())
    assert [r["repositoryName"] for r in answer["repositories"]] == ["app"]
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert rule.exhausted
    assert [(c.injected, c.error_code) for c in ecr.calls.filter("DescribeRepositories")] == [
        (True, "ThrottlingException"),
        (True, "ThrottlingException"),
        (False, None),
    ]
    # The backoff between attempts (random, up to 1 s then 2 s) passed on the fake's clock only.
    assert 0 < ecr.clock.now() - start <= 3
    assert set(slept) == {0}  # aiobotocore slept through the stand-in: the loop never waited


async def throttled_calls(client: Any, clock: Any) -> tuple[dict[str, Any], float, float]:
    """Three throttles, then five calls back to back, which run the rate limiter's bucket dry
    (the retries' random backoff alone may have let it refill): the answer to the first call, and
    the fake's and real seconds they all took."""
    start, began = clock.now(), real_seconds()
    answer = await client.describe_repositories()
    for _ in range(5):
        await client.describe_repositories()
    return answer, clock.now() - start, real_seconds() - began


def test_adaptive_rate_limiter_waits_on_the_fake_clock(ecr: FakeECR, limiter_waits: list[float]) -> None:
    ecr.create_repository("app")
    rule = ecr.faults.fail("DescribeRepositories", error="ThrottlingException", times=3)
    ecr.clock.freeze()  # only virtual waits move the fake's time

    async def scenario() -> tuple[dict[str, Any], float, float]:
        async with ecr.aio_client(config=ADAPTIVE) as client:
            return await throttled_calls(client, ecr.clock)

    answer, fake_seconds, seconds = asyncio.run(scenario())
    assert seconds < 1
    assert answer["ResponseMetadata"]["RetryAttempts"] == 3
    assert rule.exhausted
    assert sum(limiter_waits) >= 1  # at 0.5 to 2 calls a second; seconds that passed only virtually
    assert fake_seconds >= sum(limiter_waits)


def test_adaptive_client_made_before_the_fake(limiter_waits: list[float]) -> None:
    async def scenario() -> tuple[dict[str, Any], float, float]:
        session = aiobotocore.session.get_session()
        async with session.create_client("ecr", region_name="us-east-1", config=ADAPTIVE) as client:
            with mock_ecr() as fake:  # the client's rate limiter and bucket exist already
                fake.create_repository("app")
                fake.faults.fail("DescribeRepositories", error="ThrottlingException", times=3)
                return await throttled_calls(client, fake.clock)

    answer, fake_seconds, seconds = asyncio.run(scenario())
    assert seconds < 1
    assert answer["ResponseMetadata"]["RetryAttempts"] == 3
    assert sum(limiter_waits) >= 1
    assert fake_seconds >= sum(limiter_waits)


def test_dropped_connection_is_a_botocore_connection_error(ecr: FakeECR) -> None:
    ecr.create_repository("app")
    ecr.faults.drop_connection("DescribeRepositories", times=1)

    async def scenario() -> tuple[ConnectionClosedError, dict[str, Any]]:
        async with ecr.aio_client(config=NO_RETRIES) as client:
            with pytest.raises(ConnectionClosedError) as dropped:
                await client.describe_repositories()
        ecr.faults.drop_connection("DescribeRepositories", times=1)
        async with ecr.aio_client(config=STANDARD) as client:
            return dropped.value, await client.describe_repositories()

    dropped, retried = asyncio.run(scenario())
    assert 'endpoint URL: "https://api.ecr.us-east-1.amazonaws.com/"' in str(dropped)
    assert retried["ResponseMetadata"]["RetryAttempts"] == 1
    assert [c.error_code for c in ecr.calls] == ["ConnectionClosedError", "ConnectionClosedError", None]


def test_sync_and_async_clients_share_the_fake(ecr: FakeECR, ecr_client: Any) -> None:
    ecr_client.create_repository(repositoryName="made-by-boto3")

    async def scenario() -> list[str]:
        async with ecr.aio_client() as client:
            await client.create_repository(repositoryName="made-by-aiobotocore")
            await client.tag_resource(
                resourceArn=ecr.repository("made-by-boto3").arn, tags=[{"Key": "team", "Value": "a"}]
            )
            answer = await client.describe_repositories()
            return [r["repositoryName"] for r in answer["repositories"]]

    assert asyncio.run(scenario()) == ["made-by-boto3", "made-by-aiobotocore"]
    names = [r["repositoryName"] for r in ecr_client.describe_repositories()["repositories"]]
    assert names == ["made-by-boto3", "made-by-aiobotocore"]
    arn = ecr.repository("made-by-boto3").arn
    assert ecr_client.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "a"}]


def test_other_accounts_and_regions(ecr: FakeECR) -> None:
    async def scenario() -> str:
        async with ecr.aio_client(region="eu-west-1", account="210987654321") as client:
            answer = await client.create_repository(repositoryName="app")
            return str(answer["repository"]["repositoryArn"])

    assert asyncio.run(scenario()) == "arn:aws:ecr:eu-west-1:210987654321:repository/app"
    assert ecr.repository("app", account="210987654321", region="eu-west-1").name == "app"


def test_aioboto3_session_client(ecr: FakeECR) -> None:
    aioboto3 = pytest.importorskip("aioboto3")
    ecr.create_repository("app")

    async def scenario() -> list[str]:
        async with aioboto3.Session().client("ecr") as client:
            answer = await client.describe_repositories()
            return [r["repositoryName"] for r in answer["repositories"]]

    assert asyncio.run(scenario()) == ["app"]


def test_client_made_before_the_fake_without_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    async def scenario() -> list[str]:
        session = aiobotocore.session.get_session()
        async with session.create_client("ecr", region_name="us-east-1") as client:
            assert client._request_signer._credentials is None  # nothing found: the fake provides them
            with mock_ecr() as fake:
                fake.create_repository("app")
                answer = await client.describe_repositories()
        return [r["repositoryName"] for r in answer["repositories"]]

    assert asyncio.run(scenario()) == ["app"]


def test_other_services_are_blocked(ecr: FakeECR) -> None:
    async def scenario() -> None:
        session = aiobotocore.session.get_session()
        async with session.create_client("s3", region_name="us-east-1", config=NO_RETRIES) as s3:
            await s3.list_buckets()

    with pytest.raises(NetworkBlocked, match="AWS service 's3'"):
        asyncio.run(scenario())


def test_allowed_services_pass_the_blocker() -> None:
    sent: list[str] = []

    async def fake_send(endpoint: Any, request: Any) -> Any:
        sent.append(request.url)
        raise ConnectionClosedError(endpoint_url=request.url)

    async def scenario() -> None:
        session = aiobotocore.session.get_session()
        async with session.create_client("s3", region_name="us-east-1", config=NO_RETRIES) as s3:
            await s3.list_buckets()

    original = aiobotocore.endpoint.AioEndpoint._send
    aiobotocore.endpoint.AioEndpoint._send = fake_send  # stands for the network, under the blocker
    try:
        with mock_ecr(allow_services=["s3"]), pytest.raises(ConnectionClosedError):
            asyncio.run(scenario())
    finally:
        aiobotocore.endpoint.AioEndpoint._send = original
    assert sent == ["https://s3.amazonaws.com/"]


def test_nothing_is_left_behind_when_the_fake_stops() -> None:
    send = aiobotocore.endpoint.AioEndpoint.__dict__["_send"]
    acquire = aiobotocore.retries.bucket.AsyncTokenBucket.__dict__["_acquire"]
    assert aio.patched() == []
    with mock_ecr(), mock_ecr():
        assert aio.patched() == ["aiobotocore.endpoint", "aiobotocore.retries.bucket", "aiobotocore.waiter"]
        assert aiobotocore.endpoint.AioEndpoint.__dict__["_send"] is not send
        assert aiobotocore.retries.bucket.AsyncTokenBucket.__dict__["_acquire"] is not acquire
        assert aiobotocore.waiter.asyncio is not asyncio
    assert aio.patched() == []
    assert aiobotocore.endpoint.AioEndpoint.__dict__["_send"] is send
    assert aiobotocore.retries.bucket.AsyncTokenBucket.__dict__["_acquire"] is acquire
    assert aiobotocore.endpoint.asyncio is asyncio
    assert aiobotocore.waiter.asyncio is asyncio
    assert _hook.ACTIVE == []
    assert asyncio.sleep.__module__ == "asyncio.tasks"


def test_aiobotocore_imported_after_the_fake_started(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import sys


        def test_late_import(ecr):
            assert "aiobotocore" not in sys.modules
            import aiobotocore.session
            from pytest_ecr import aio

            assert aio.patched() == ["aiobotocore.endpoint", "aiobotocore.retries.bucket", "aiobotocore.waiter"]
            ecr.create_repository("app")

            async def scenario():
                async with aiobotocore.session.get_session().create_client("ecr") as client:
                    return await client.describe_repositories()

            assert asyncio.run(scenario())["repositories"][0]["repositoryName"] == "app"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "error")
    result.assert_outcomes(passed=1)
