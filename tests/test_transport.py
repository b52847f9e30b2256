"""How requests reach the fake, and how nothing else leaves the process."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pytest_ecr import FakeECR
from pytest_ecr.service import registry
from pytest_ecr.transport import NetworkBlocked


def test_client_created_before_activation_is_answered():
    early = boto3.client("ecr", region_name="eu-central-1")
    with FakeECR() as fake:
        fake.client(region="eu-central-1").create_repository(repositoryName="app")
        assert [r["repositoryName"] for r in early.describe_repositories()["repositories"]] == ["app"]
    assert fake.calls.filter("DescribeRepositories")


def test_regions_and_accounts_are_separate_registries(ecr):
    ecr.client(region="eu-west-1").create_repository(repositoryName="app")
    assert ecr.client(region="us-east-1").describe_repositories()["repositories"] == []
    other = ecr.client(account="210987654321")
    repo = other.create_repository(repositoryName="app")["repository"]
    assert repo["registryId"] == "210987654321"
    assert repo["repositoryArn"] == "arn:aws:ecr:us-east-1:210987654321:repository/app"
    assert [
        r["repositoryName"] for r in ecr.client(region="eu-west-1").describe_repositories()["repositories"]
    ] == ["app"]
    # The default account can address the other registry by id, where a policy lets it in; it sees
    # the same state.
    other.set_repository_policy(
        repositoryName="app",
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "ecr:Describe*"}
                ],
            }
        ),
    )
    found = ecr.client().describe_repositories(registryId="210987654321", repositoryNames=["app"])
    assert [r["registryId"] for r in found["repositories"]] == ["210987654321"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"endpoint_url": "https://ecr-fips.us-west-2.amazonaws.com"},
        {"config": Config(use_fips_endpoint=True)},
        {"config": Config(use_dualstack_endpoint=True)},
        {"endpoint_url": "http://localhost:4566"},
    ],
)
def test_any_endpoint_is_answered(ecr, kwargs):
    client = boto3.client("ecr", region_name="us-west-2", **kwargs)
    client.create_repository(repositoryName="app")
    assert ecr.calls.assert_called("CreateRepository", repositoryName="app")[0].region == "us-west-2"


def test_other_services_are_blocked(ecr):
    s3 = boto3.client("s3", region_name="us-east-1")
    with pytest.raises(NetworkBlocked) as exc:
        s3.list_buckets()
    message = str(exc.value)
    assert "'s3'" in message
    assert "ecr_allow_services" in message
    assert "mock_aws" in message


def test_allowed_service_reaches_the_send_path(monkeypatch):
    calls = []
    import botocore.endpoint

    def fake_send(self, request):
        calls.append(request.url)
        raise RuntimeError("stop here")

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_send", fake_send)
    with FakeECR(allow_services=["sts"]):
        with pytest.raises(RuntimeError, match="stop here"):
            boto3.client("sts", region_name="us-east-1").get_caller_identity()
        with pytest.raises(NetworkBlocked):
            boto3.client("s3", region_name="us-east-1").list_buckets()
    assert len(calls) == 1
    assert botocore.endpoint.Endpoint._send is fake_send  # restored to what it was


def test_environment_is_isolated_and_restored(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", "https://example.com")
    monkeypatch.delenv("AWS_CONFIG_FILE", raising=False)
    with FakeECR() as fake:
        assert "AWS_PROFILE" not in os.environ
        assert "AWS_ENDPOINT_URL_ECR" not in os.environ
        assert os.environ["AWS_ACCESS_KEY_ID"] != "AKIAREALKEY"
        assert not os.path.exists(os.environ["AWS_CONFIG_FILE"])
        session = boto3.Session()
        assert session.get_credentials().access_key == os.environ["AWS_ACCESS_KEY_ID"]
        fake.client().describe_repositories()
    assert os.environ["AWS_PROFILE"] == "production"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALKEY"
    assert os.environ["AWS_ENDPOINT_URL_ECR"] == "https://example.com"
    assert "AWS_CONFIG_FILE" not in os.environ


def test_default_boto3_session_is_fresh_and_restored():
    before = boto3.DEFAULT_SESSION
    with FakeECR():
        boto3.client("ecr", region_name="us-east-1").describe_repositories()
        assert boto3.DEFAULT_SESSION is not before
    assert boto3.DEFAULT_SESSION is before


def test_handlers_on_one_client_never_reach_another(ecr):
    # The fake's clients share a session while nothing is configured: each has its own events.
    def refuse(**_):
        raise RuntimeError("only this client refuses")

    first = ecr.client()
    first.meta.events.register("before-call.ecr.DescribeRepositories", refuse)
    with pytest.raises(RuntimeError):
        first.describe_repositories()
    assert ecr.client().describe_repositories()["repositories"] == []
    with FakeECR() as later:
        assert later.client().describe_repositories()["repositories"] == []


def test_a_config_file_set_in_a_test_reaches_the_fakes_clients(ecr, monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text("[default]\nretry_mode = adaptive\nmax_attempts = 7\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    retries = ecr.client().meta.config.retries
    assert (retries["mode"], retries["total_max_attempts"]) == ("adaptive", 7)
    monkeypatch.undo()
    assert ecr.client().meta.config.retries["mode"] != "adaptive"


def test_nothing_answers_after_stop():
    fake = FakeECR().start()
    client = fake.client()
    fake.stop()
    import botocore.endpoint

    assert "pytest_ecr" not in getattr(botocore.endpoint.Endpoint._send, "__module__", "")
    with FakeECR() as second:
        client.describe_repositories()
        assert len(second.calls) == 1
    assert len(fake.calls) == 0


def test_innermost_fake_answers():
    with FakeECR() as outer:
        with FakeECR() as inner:
            inner.client().create_repository(repositoryName="inner")
        outer_client = outer.client()
        assert outer_client.describe_repositories()["repositories"] == []
    assert [c.operation for c in inner.calls] == ["CreateRepository"]


def test_internal_error_is_a_server_exception_with_traceback(monkeypatch):
    def broken(ctx, **params):
        raise KeyError("bug in the fake")

    monkeypatch.setitem(registry.HANDLERS, "DescribeRepositories", broken)
    with FakeECR() as fake:
        client = fake.client(config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        with pytest.raises(ClientError) as exc:
            client.describe_repositories()
    assert exc.value.response["Error"]["Code"] == "ServerException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    problems = fake.problems()
    assert problems
    assert all("KeyError: 'bug in the fake'" in (p.traceback or "") for p in problems)


def test_unimplemented_operation_names_itself(monkeypatch):
    monkeypatch.delitem(registry.HANDLERS, "DeleteRepositoryPolicy")
    with FakeECR() as fake:
        client = fake.client()
        with pytest.raises(ClientError) as exc:
            client.delete_repository_policy(repositoryName="app")
    assert exc.value.response["Error"]["Code"] == "NotImplementedByFake"
    assert "DeleteRepositoryPolicy" in exc.value.response["Error"]["Message"]
    assert [c.operation for c in fake.problems()] == ["DeleteRepositoryPolicy"]


def test_output_outside_the_shape_is_an_internal_error(monkeypatch):
    monkeypatch.setitem(
        registry.HANDLERS, "DescribeRepositories", lambda ctx, **p: {"repositories": [], "extra": 1}
    )
    with FakeECR() as fake:
        client = fake.client(config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        with pytest.raises(ClientError):
            client.describe_repositories()
    assert "'extra' is not a member" in (fake.problems()[0].traceback or "")


def test_unknown_target_and_bad_json():
    fake = FakeECR()
    unknown = fake.handle("AmazonEC2ContainerRegistry_V20150921.Nope", b"{}", "123456789012", "us-east-1")
    assert (unknown.status, unknown.error_code) == (400, "UnknownOperationException")
    # No X-Amz-Target at all (server mode: a POST without the header) is an unknown operation
    # too, never an internal error. Found by tools/mutants.py (`or` to `and` in _operation_name).
    missing = fake.handle(None, b"{}", "123456789012", "us-east-1")
    assert (missing.status, missing.error_code) == (400, "UnknownOperationException")
    bad = fake.handle(
        "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories", b"{", "123456789012", "us-east-1"
    )
    assert (bad.status, bad.error_code) == (400, "SerializationException")


def test_moto_answers_other_services_and_never_sees_ecr(ecr):
    import json

    from moto import mock_aws
    from moto.backends import get_backend

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["artifacts"]
        ecr.create_repository("app")
        image = ecr.push_image("app", "v1")
        doc = json.loads(image.manifest)
        doc["annotations"] = {"rebuilt": "yes"}
        client = boto3.client("ecr", region_name="us-east-1")
        client.put_image(repositoryName="app", imageManifest=json.dumps(doc), imageTag="v2")
        assert len(client.list_images(repositoryName="app")["imageIds"]) == 2
        # moto's ECR backend was never asked: the fake alone answered ECR.
        assert not get_backend("ecr")["123456789012"]["us-east-1"].repositories
    ecr.calls.assert_called("PutImage", times=1)
