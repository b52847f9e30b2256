"""The pytest surface, exercised with pytester: fixtures, markers, options, failures."""

from __future__ import annotations

import pytest

from pytest_ecr import mock_ecr


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.ecr_seed(repositories=(), images=None, upstream=None, account=None, region=None)*",
            "@pytest.mark.ecr_config(*",
        ]
    )


def test_seed_marker_and_isolation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3
        import pytest

        @pytest.mark.ecr_seed(
            repositories=["app", {"repositoryName": "locked", "imageTagMutability": "IMMUTABLE"}],
            images={"app": ["v1", ["v2", "latest"], {"tags": [], "pushed_days_ago": 30, "size": 4096}],
                    "new": [{"tags": ["x"], "format": "docker"}]},
        )
        def test_seeded():
            client = boto3.client("ecr")  # the marker activated the fake: no fixture asked for
            rows = client.list_images(repositoryName="app")["imageIds"]
            assert len(rows) == 4
            details = client.describe_images(repositoryName="app", filter={"tagStatus": "UNTAGGED"})["imageDetails"]
            assert details[0]["imageSizeInBytes"] == 4096
            repos = {r["repositoryName"]: r for r in client.describe_repositories()["repositories"]}
            assert repos["locked"]["imageTagMutability"] == "IMMUTABLE"
            assert set(repos) == {"app", "locked", "new"}
            new = client.describe_images(repositoryName="new")["imageDetails"][0]
            assert new["imageManifestMediaType"] == "application/vnd.docker.distribution.manifest.v2+json"

        def test_nothing_leaks(ecr_client):
            assert ecr_client.describe_repositories()["repositories"] == []
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_seed_marker_typo_fails_at_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_seed(repos=["app"])
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.ecr_seed: unknown argument 'repos'; did you mean repositories? Accepted: *",
            "*Usage: ecr_seed(repositories=*",
        ]
    )


def test_seed_pushed_days_ago(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time
        import pytest

        @pytest.mark.ecr_seed(images={"app": [{"tags": ["old"], "pushed_days_ago": 10}]})
        def test_age(ecr_client):
            detail = ecr_client.describe_images(repositoryName="app")["imageDetails"][0]
            age = time.time() - detail["imagePushedAt"].timestamp()
            assert 10 * 86400 - 60 < age < 10 * 86400 + 60
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.ecr_seed(images={"app": ["v1"]}, account="210987654321", region="eu-west-1")
@pytest.mark.ecr_seed(images={"app": ["local"]})
def test_seed_markers_for_several_registries(ecr) -> None:
    build = ecr.client(account="210987654321", region="eu-west-1")
    assert [i["imageTag"] for i in build.list_images(repositoryName="app")["imageIds"]] == ["v1"]
    assert [i["imageTag"] for i in ecr.client().list_images(repositoryName="app")["imageIds"]] == ["local"]
    assert ecr.client(region="eu-west-1").describe_repositories()["repositories"] == []


def test_seed_marker_account_must_be_a_string(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ecr_seed(repositories=["app"], account=210987654321)
        def test_x(ecr):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.ecr_seed: account: must be a string such as '123456789012', got int 210987654321"]
    )


def test_configuration_precedence(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        ecr_account_id = 111111111111
        ecr_region = eu-west-1
        """
    )
    pytester.makepyfile(
        """
        import pytest

        def test_ini_and_cli(ecr_repo, ecr_client):
            assert ecr_repo.arn.startswith("arn:aws:ecr:eu-west-1:222222222222:")
            assert ecr_client.meta.region_name == "eu-west-1"

        @pytest.mark.ecr_config(region="ap-southeast-2")
        def test_marker(ecr_repo):
            assert ecr_repo.arn.startswith("arn:aws:ecr:ap-southeast-2:222222222222:")
        """
    )
    pytester.runpytest("--ecr-account-id", "222222222222").assert_outcomes(passed=2)


def test_bad_ini_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\necr_account_id = 42\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ecr_account_id must be 12 digits, got '42'*"])


def test_unimplemented_operation_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_ecr.service import registry

        def test_swallowed(ecr_client, monkeypatch):
            monkeypatch.delitem(registry.HANDLERS, "GetRepositoryPolicy")
            try:
                ecr_client.get_repository_policy(repositoryName="app")
            except Exception:
                pass  # code under test that swallows errors must not hide the gap
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*could not answer 1 call(s) faithfully*", "*GetRepositoryPolicy: NotImplementedByFake*"]
    )


def test_internal_error_fails_the_test_with_traceback(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from botocore.config import Config
        from pytest_ecr.service import registry

        def test_bug(ecr, monkeypatch):
            def broken(ctx, **params):
                return {"repositories": [{"repositoryName": 42}]}
            monkeypatch.setitem(registry.HANDLERS, "DescribeRepositories", broken)
            client = ecr.client(config=Config(retries={"max_attempts": 1}))
            try:
                client.describe_repositories()
            except client.exceptions.ServerException:
                pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*DescribeRepositories: ServerException*", "*OutputShapeError*expected string*"]
    )


def test_collection_does_not_import_boto3(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import sys

        def pytest_collection_finish(session):
            loaded = sorted(m for m in ("boto3", "botocore") if m in sys.modules)
            print("LOADED:", loaded)
        """
    )
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--collect-only", "-s")
    result.stdout.fnmatch_lines(["LOADED: []"])


def test_mock_ecr_as_context_manager_and_decorator() -> None:
    import boto3

    with mock_ecr(region="eu-north-1") as fake:
        boto3.client("ecr").create_repository(repositoryName="app")
        assert fake.repository("app").region == "eu-north-1"

    seen = []

    @mock_ecr()
    def job() -> None:
        client = boto3.client("ecr", region_name="us-east-1")
        seen.append(len(client.describe_repositories()["repositories"]))
        client.create_repository(repositoryName="app")

    job()
    job()  # a fresh fake each call
    assert seen == [0, 0]


def test_unittest_style_use(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import unittest
        import boto3
        from pytest_ecr import mock_ecr

        class TestJob(unittest.TestCase):
            @mock_ecr()
            def test_create(self):
                client = boto3.client("ecr", region_name="us-east-1")
                client.create_repository(repositoryName="app")
                self.assertEqual(len(client.describe_repositories()["repositories"]), 1)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_repository_helper_lists_existing(ecr) -> None:
    ecr.create_repository("app")
    with pytest.raises(KeyError, match=r"existing: \['app'\]"):
        ecr.repository("nope")


def test_call_log_assertions(ecr, ecr_client) -> None:
    ecr_client.create_repository(repositoryName="app")
    ecr_client.describe_repositories(repositoryNames=["app"])
    ecr.calls.assert_called("CreateRepository", times=1, repositoryName="app")
    ecr.calls.assert_not_called("DeleteRepository")
    with pytest.raises(AssertionError, match="expected DeleteRepository at least once, found 0"):
        ecr.calls.assert_called("DeleteRepository")
    assert [c.operation for c in ecr.calls] == ["CreateRepository", "DescribeRepositories"]
    assert ecr.calls[0].response["repository"]["repositoryName"] == "app"


def test_assertion_messages_show_layer_parts_by_size(ecr, ecr_client):
    ecr_client.create_repository(repositoryName="app")
    upload = ecr_client.initiate_layer_upload(repositoryName="app")["uploadId"]
    part = b"x" * 100_000
    ecr_client.upload_layer_part(
        repositoryName="app", uploadId=upload, partFirstByte=0, partLastByte=len(part) - 1, layerPartBlob=part
    )
    with pytest.raises(AssertionError) as failure:
        ecr.calls.assert_called("PutImage")
    message = str(failure.value)
    assert "'layerPartBlob': <100000 bytes>" in message
    assert "xxxxxxxx" not in message
    assert "UploadLayerPart({'repositoryName': 'app'" in message
