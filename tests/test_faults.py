"""Fault injection: errors and dropped connections on purpose, seen through botocore's real retries."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from helpers import image_manifest

from pytest_ecr import FakeECR


def no_retries(ecr: FakeECR):
    return ecr.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def test_throttling_is_answered_as_aws_does(ecr):
    ecr.faults.fail("DescribeRepositories", error="ThrottlingException", times=1)
    with pytest.raises(ClientError) as exc:
        no_retries(ecr).describe_repositories()
    error = exc.value.response
    assert error["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    (call,) = ecr.calls
    assert (call.injected, call.status, call.error_code) == (True, 400, "ThrottlingException")
    assert json.loads(call.body) == {"__type": "ThrottlingException", "message": "Rate exceeded"}
    assert ecr.problems() == []


def test_user_retry_loop_recovers_after_two_throttles(ecr, ecr_repo):
    manifest = image_manifest(ecr, ecr_repo.name)
    ecr.faults.fail("PutImage", error="ThrottlingException", times=2)
    client = no_retries(ecr)
    attempts = 0
    while True:
        attempts += 1
        try:
            client.put_image(repositoryName=ecr_repo.name, imageManifest=manifest, imageTag="v1")
            break
        except ClientError as err:
            if err.response["Error"]["Code"] != "ThrottlingException" or attempts >= 5:
                raise
    assert attempts == 3
    calls = ecr.calls.filter("PutImage")
    assert [(c.injected, c.error_code) for c in calls] == [
        (True, "ThrottlingException"),
        (True, "ThrottlingException"),
        (False, None),
    ]
    # An injected failure did not run the operation: the image was stored once, by the third call.
    assert [i.tags for i in ecr.repository(ecr_repo.name).images.values()] == [["v1"]]


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_botocore_retry_modes_recover_after_two_throttles(ecr, ecr_repo, mode):
    manifest = image_manifest(ecr, ecr_repo.name)
    rule = ecr.faults.fail("PutImage", error="ThrottlingException", times=2)
    client = ecr.client(config=Config(retries={"mode": mode, "total_max_attempts": 4}))
    answer = client.put_image(repositoryName=ecr_repo.name, imageManifest=manifest, imageTag="v1")
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert rule.fired == 2
    assert rule.exhausted
    assert [c.injected for c in ecr.calls.filter("PutImage")] == [True, True, False]


def test_retries_give_up_when_the_fault_persists(ecr):
    ecr.faults.fail("DescribeRepositories", error="ThrottlingException")
    client = ecr.client(config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    with pytest.raises(ClientError) as exc:
        client.describe_repositories()
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(ecr.calls.filter("DescribeRepositories")) == 3


def test_modelled_error_is_raised_as_the_client_exception(ecr, ecr_client, ecr_repo):
    ecr.faults.fail("DescribeImages", error="RepositoryNotFoundException", times=1)
    with pytest.raises(ecr_client.exceptions.RepositoryNotFoundException):
        ecr_client.describe_images(repositoryName=ecr_repo.name)
    assert ecr_client.describe_images(repositoryName=ecr_repo.name)["imageDetails"] == []


def test_status_500_is_a_server_exception_retried_as_transient(ecr, ecr_client, ecr_repo):
    ecr.faults.fail("BatchGetImage", status=500, times=1)
    answer = ecr_client.batch_get_image(repositoryName=ecr_repo.name, imageIds=[{"imageTag": "x"}])
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    first = ecr.calls.filter("BatchGetImage")[0]
    assert (first.status, first.error_code, first.injected) == (500, "ServerException", True)
    ecr.faults.clear()
    ecr.faults.fail("BatchGetImage", status=500)
    client = no_retries(ecr)
    with pytest.raises(client.exceptions.ServerException):
        client.batch_get_image(repositoryName=ecr_repo.name, imageIds=[{"imageTag": "x"}])
    assert ecr.problems() == []


def test_status_503_is_service_unavailable(ecr):
    ecr.faults.fail("DescribeRepositories", status=503, times=1)
    with pytest.raises(ClientError) as exc:
        no_retries(ecr).describe_repositories()
    assert exc.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_probability_with_a_seed_is_reproducible(ecr, ecr_client):
    def pattern(seed: int) -> list[bool]:
        ecr.faults.clear()
        ecr.faults.seed(seed)
        ecr.faults.fail("DescribeRepositories", error="ThrottlingException", probability=0.3)
        client = no_retries(ecr)
        failed = []
        for _ in range(40):
            try:
                client.describe_repositories()
                failed.append(False)
            except ClientError:
                failed.append(True)
        return failed

    first = pattern(7)
    assert 0 < sum(first) < 40
    assert pattern(7) == first
    assert pattern(8) != first
    # The same seed on another fake draws the same faults.
    with FakeECR() as other:
        other.faults.seed(7)
        other.faults.fail("DescribeRepositories", error="ThrottlingException", probability=0.3)
        client = no_retries(other)
        again = []
        for _ in range(40):
            try:
                client.describe_repositories()
                again.append(False)
            except ClientError:
                again.append(True)
    assert again == first


def test_drop_connection_is_retried_by_botocore(ecr, ecr_client, ecr_repo):
    ecr.faults.drop_connection("DescribeImages", times=1)
    answer = ecr_client.describe_images(repositoryName=ecr_repo.name)
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    dropped, served = ecr.calls.filter("DescribeImages")
    assert (dropped.injected, dropped.status, dropped.error_code) == (True, 0, "ConnectionClosedError")
    assert (served.injected, served.status) == (False, 200)


@pytest.mark.parametrize(
    ("kind", "raised"),
    [
        ("closed", ConnectionClosedError),
        ("connect", EndpointConnectionError),
        ("read_timeout", ReadTimeoutError),
    ],
)
def test_drop_connection_raises_botocore_network_errors(ecr, kind, raised):
    ecr.faults.drop_connection("DescribeRepositories", error=kind)
    with pytest.raises(raised):
        no_retries(ecr).describe_repositories()


def test_drop_after_processing_exposes_non_idempotent_retries(ecr, ecr_client):
    # The repository is created, the response is lost, botocore retries: real ECR then says it exists.
    ecr.faults.drop_connection("CreateRepository", times=1, after_processing=True)
    with pytest.raises(ecr_client.exceptions.RepositoryAlreadyExistsException):
        ecr_client.create_repository(repositoryName="app")
    first, retry = ecr.calls.filter("CreateRepository")
    assert (first.injected, first.error_code, first.response["repository"]["repositoryName"]) == (
        True,
        None,
        "app",
    )
    assert (retry.injected, retry.error_code) == (False, "RepositoryAlreadyExistsException")


def test_when_predicate_selects_calls(ecr, ecr_client, ecr_repo):
    manifest = image_manifest(ecr, ecr_repo.name)
    ecr.faults.fail(
        "PutImage",
        error="ImageTagAlreadyExistsException",
        when=lambda params: params.get("imageTag") == "latest",
    )
    ecr_client.put_image(repositoryName=ecr_repo.name, imageManifest=manifest, imageTag="v1")
    with pytest.raises(ecr_client.exceptions.ImageTagAlreadyExistsException):
        ecr_client.put_image(repositoryName=ecr_repo.name, imageManifest=manifest, imageTag="latest")


def test_clear_and_remove(ecr, ecr_client):
    rule = ecr.faults.fail("DescribeRepositories")
    ecr.faults.fail("ListImages", status=500)
    assert len(ecr.faults) == 2
    rule.remove()
    ecr_client.describe_repositories()
    ecr.faults.clear()
    assert len(ecr.faults) == 0
    ecr_client.create_repository(repositoryName="app")
    ecr_client.list_images(repositoryName="app")
    assert not any(c.injected for c in ecr.calls)


def test_any_operation_and_helpers_are_not_affected(ecr, ecr_client):
    ecr.faults.fail("*", error="ThrottlingException")
    ecr.create_repository("app")  # setup through the fake's helpers never meets a fault
    ecr.push_image("app", "v1")
    with pytest.raises(ClientError, match="Rate exceeded"):
        no_retries(ecr).list_images(repositoryName="app")
    with pytest.raises(ValueError, match="not an error every operation can answer"):
        ecr.faults.fail("*", error="RepositoryNotFoundException")


def test_operation_typo_lists_near_matches(ecr):
    with pytest.raises(ValueError, match=r"no operation 'PutImages'.*did you mean PutImage"):
        ecr.faults.fail("PutImages", error="ThrottlingException")
    with pytest.raises(ValueError, match=r"did you mean .*describe_images"):
        ecr.faults.drop_connection("describe_imagse")


def test_rules_take_boto3_method_names(ecr, ecr_client):
    # The names boto3 users type work as in ecr.calls: the rule is for the operation.
    rule = ecr.faults.fail("describe_repositories", error="ThrottlingException", times=1)
    assert rule.operation == "DescribeRepositories"
    no_retries = ecr.client(config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError, match="ThrottlingException"):
        no_retries.describe_repositories()
    assert rule.fired == 1


def test_unknown_error_code_lists_what_is_allowed(ecr):
    with pytest.raises(ValueError, match=r"'ThrottleException'.*did you mean ThrottlingException") as exc:
        ecr.faults.fail("PutImage", error="ThrottleException")
    assert "ImageTagAlreadyExistsException" in str(exc.value)
    with pytest.raises(ValueError, match="not an error DescribeRepositories can answer"):
        ecr.faults.fail("DescribeRepositories", error="ImageTagAlreadyExistsException")
    with pytest.raises(ValueError, match="probability"):
        ecr.faults.fail("PutImage", probability=1.5)
    with pytest.raises(ValueError, match="times"):
        ecr.faults.fail("PutImage", times=0)
