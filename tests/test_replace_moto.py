"""``--ecr-replace-moto``: ECR inside moto's ``mock_aws`` answered by pytest-ecr, moto keeps the rest.

Each scenario is a small moto-style test file run by pytester with and without the flag. The
expected ECR answers are ECR's documented ones (LayersNotFoundException for a manifest whose blobs
were never uploaded: ECR API Reference, PutImage, Errors); moto's default account 123456789012 is
moto's documented ``DEFAULT_ACCOUNT_ID`` (moto docs, "Multi-account support").
"""

from __future__ import annotations

import pytest

from pytest_ecr.migration import Failure, classify
from pytest_ecr.protocol.dispatch import Exchange

pytest.importorskip("moto")

FLAG = "--ecr-replace-moto"

#: A moto-style test: an OCI manifest naming blobs that were never uploaded, and S3 alongside.
MOTO_SUITE = """
import json

import boto3
import pytest
from moto import mock_aws

DIGEST = "sha256:" + "ab" * 32
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": DIGEST, "size": 2},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": DIGEST, "size": 2}],
})


@mock_aws
def test_push_without_layers():
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName="app")
    with pytest.raises(ecr.exceptions.LayersNotFoundException):
        ecr.put_image(repositoryName="app", imageManifest=MANIFEST, imageTag="v1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="artifacts")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["artifacts"]
    # moto's own ECR store never saw the repository: pytest-ecr answered ECR
    from moto.ecr.models import ecr_backends
    assert "app" not in ecr_backends["123456789012"]["us-east-1"].repositories
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider", *args)


def test_unuploaded_layers_are_refused_inside_mock_aws_and_s3_stays_moto(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MOTO_SUITE)
    run(pytester, FLAG).assert_outcomes(passed=1)


def test_without_the_flag_moto_answers_ecr(pytester: pytest.Pytester) -> None:
    # moto stores the manifest, so the expected refusal does not come: the scenario depends on the flag
    pytester.makepyfile(MOTO_SUITE)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*DID NOT RAISE*LayersNotFoundException*"])


def test_the_ini_option_turns_it_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MOTO_SUITE)
    pytester.makeini("[pytest]\necr_replace_moto = true\n")
    run(pytester).assert_outcomes(passed=1)


def test_a_bad_ini_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MOTO_SUITE)
    pytester.makeini("[pytest]\necr_replace_moto = sometimes\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option ecr_replace_moto must be true or false, got 'sometimes'*"])


def test_the_report_option_needs_the_flag(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MOTO_SUITE)
    result = run(pytester, "--ecr-migration-report=report.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ecr-migration-report needs --ecr-replace-moto*"])


def test_every_form_of_mock_aws_gets_a_fresh_fake_per_scope(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import unittest

        import boto3
        from moto import mock_aws


        def names():
            client = boto3.client("ecr", region_name="us-east-1")
            return [r["repositoryName"] for r in client.describe_repositories()["repositories"]]


        def create(name):
            boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName=name)


        def test_context_manager_scopes_and_nesting():
            with mock_aws():
                create("first")
                with mock_aws():  # nested: the same scope, as moto keeps its state
                    assert names() == ["first"]
                    create("second")
                assert names() == ["first", "second"]
            with mock_aws():
                assert names() == []


        @mock_aws
        class TestPlainClass:
            def test_one(self):
                create("one")
                assert names() == ["one"]

            def test_two(self):
                assert names() == []


        @mock_aws
        class TestCase(unittest.TestCase):
            def setUp(self):
                create("from-setup")

            def test_sees_setup(self):
                assert names() == ["from-setup"]

            def test_sees_only_its_own(self):
                create("own")
                assert names() == ["from-setup", "own"]
        """
    )
    run(pytester, FLAG).assert_outcomes(passed=5)


def test_moto_account_and_the_clients_region(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3
        from moto import mock_aws


        @mock_aws
        def test_default_account():
            client = boto3.client("ecr", region_name="eu-west-1")
            repo = client.create_repository(repositoryName="app")["repository"]
            assert repo["repositoryArn"] == "arn:aws:ecr:eu-west-1:123456789012:repository/app"


        def test_moto_account_id_variable(monkeypatch):
            monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
            with mock_aws():
                client = boto3.client("ecr", region_name="ap-south-1")
                repo = client.create_repository(repositoryName="app")["repository"]
            assert repo["registryId"] == "111122223333"
            assert repo["repositoryUri"] == "111122223333.dkr.ecr.ap-south-1.amazonaws.com/app"
        """
    )
    run(pytester, FLAG).assert_outcomes(passed=2)


def test_the_ecr_fixture_and_mock_aws_share_one_fake(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3
        import pytest
        from moto import mock_aws

        from pytest_ecr import _hook


        @pytest.fixture
        def aws():
            with mock_aws():
                yield


        def test_fixture_first_then_mock_aws(ecr):
            ecr.create_repository("made-by-fixture")
            with mock_aws():
                client = boto3.client("ecr", region_name="us-east-1")
                assert [r["repositoryName"] for r in client.describe_repositories()["repositories"]] == [
                    "made-by-fixture"
                ]
                assert _hook.ACTIVE == [ecr]
            assert ecr.active  # the scope did not stop the fixture's fake


        @mock_aws
        def test_decorated_test_taking_the_fixture(ecr):
            ecr.create_repository("app")
            ecr.push_image("app", "v1")
            client = boto3.client("ecr", region_name="us-east-1")
            assert [i["imageTag"] for i in client.list_images(repositoryName="app")["imageIds"]] == ["v1"]
            assert _hook.ACTIVE == [ecr]


        def test_mock_aws_first_then_fixture(aws, ecr):
            client = boto3.client("ecr", region_name="us-east-1")
            client.create_repository(repositoryName="made-by-client")
            assert ecr.repository("made-by-client").name == "made-by-client"
            assert _hook.ACTIVE == [ecr]
        """
    )
    run(pytester, FLAG).assert_outcomes(passed=3)


def test_client_made_before_the_scope_and_moto_imported_first(pytester: pytest.Pytester) -> None:
    # a fresh interpreter: moto imported (and a client made) before pytest-ecr's fake ever starts
    pytester.makeconftest(
        "import moto  # noqa: F401\nimport boto3\nEARLY = boto3.client('ecr', region_name='us-east-1')\n"
    )
    pytester.makepyfile(
        """
        from moto import mock_aws

        from conftest import EARLY


        @mock_aws
        def test_early_client_is_answered_by_pytest_ecr():
            repo = EARLY.create_repository(repositoryName="app")["repository"]
            with __import__("pytest").raises(EARLY.exceptions.LayersNotFoundException):
                EARLY.put_image(repositoryName="app", imageTag="v1", imageManifest=(
                    '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",'
                    ' "config": {"mediaType": "application/vnd.oci.image.config.v1+json",'
                    ' "digest": "sha256:' + "cd" * 32 + '", "size": 2}, "layers": [{"mediaType":'
                    ' "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:' + "cd" * 32
                    + '", "size": 2}]}'))
            assert repo["registryId"] == "123456789012"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-W", "error", FLAG)
    result.assert_outcomes(passed=1)


FAILING_SUITE = """
import json

import boto3
from moto import mock_aws

MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": "sha256:" + "ef" * 32, "size": 2},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": "sha256:" + "ef" * 32, "size": 2}],
})


@mock_aws
def test_push_made_up_manifest():
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName="app")
    ecr.put_image(repositoryName="app", imageManifest=MANIFEST, imageTag="v1")


@mock_aws
def test_other_accounts_registry():
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName="app", registryId="222222222222")


@mock_aws
def test_passes():
    boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="app")


def test_without_moto():
    assert False, "not answered by pytest-ecr"
"""


def test_the_migration_report_groups_failures_by_cause(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_SUITE)
    result = run(pytester, FLAG, "--ecr-migration-report=report.txt")
    result.assert_outcomes(failed=3, passed=1)
    # the code under test still gets ECR's own error, not a hint
    result.stdout.fnmatch_lines(
        ["*LayersNotFoundException*PutImage operation: Layers with digests [[]sha256:efef*"]
    )
    expected = [
        "2 failing test(s) answered by pytest-ecr, in 2 cause(s):",
        # equal counts: by cause key
        "Manifest pushed without its layers [[]layers-never-uploaded[]]: 1 test(s)",
        "  change:   Push real images: `ecr.push_image(repository, tags)`*",
        "  - test_the_migration_report_groups_failures_by_cause.py::test_push_made_up_manifest",
        "      PutImage: LayersNotFoundException: Layers with digests*",
        "Another account's registry used as one's own [[]other-account-registry[]]: 1 test(s)",
        "  - test_the_migration_report_groups_failures_by_cause.py::test_other_accounts_registry",
        "      CreateRepository: AccessDeniedException: User: arn:aws:iam::123456789012:root is not*",
    ]
    result.stdout.fnmatch_lines(["*pytest-ecr migration report (--ecr-replace-moto)*", *expected])
    written = (pytester.path / "report.txt").read_text().splitlines()
    assert "test_without_moto" not in "\n".join(written)
    pytest.LineMatcher(written).fnmatch_lines(expected)


def test_the_report_gathers_xdist_workers_failures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_SUITE)
    result = run(pytester, FLAG, "-n", "2")
    result.assert_outcomes(failed=3, passed=1)
    result.stdout.fnmatch_lines(
        [
            "2 failing test(s) answered by pytest-ecr, in 2 cause(s):",
            "Manifest pushed without its layers [[]layers-never-uploaded[]]: 1 test(s)",
            "Another account's registry used as one's own [[]other-account-registry[]]: 1 test(s)",
        ]
    )


def test_a_clean_run_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(MOTO_SUITE)
    run(pytester, FLAG).stdout.fnmatch_lines(["no failing test was answered by pytest-ecr"])


def _call(operation: str, code: str | None, **params: object) -> Exchange:
    return Exchange(
        operation, dict(params), "123456789012", "us-east-1", 400, error_code=code, error_message="m"
    )


@pytest.mark.parametrize(
    ("calls", "message", "moto_only", "cause"),
    [
        ([_call("PutImage", "LayersNotFoundException")], "botocore...", set(), "layers-never-uploaded"),
        (
            [_call("DescribeRepositories", "AccessDeniedException", registryId="222222222222")],
            "ClientError",
            set(),
            "other-account-registry",
        ),
        # the caller's own registry id is no cross-account use
        (
            [_call("DescribeRepositories", "AccessDeniedException", registryId="123456789012")],
            "ClientError",
            set(),
            "unclassified",
        ),
        (
            [_call("DescribeRepositories", "RepositoryNotFoundException", repositoryNames=["cfn-repo"])],
            "RepositoryNotFoundException",
            {"cfn-repo"},
            "moto-store",
        ),
        (
            [_call("PutRegistryPolicy", None)],
            "Failed: DID NOT RAISE <class 'ClientError'>",
            set(),
            "accepted",
        ),
        ([_call("ListImages", "RepositoryNotFoundException")], "assert 'A' == 'B'", set(), "error-wording"),
        (
            [_call("GetAuthorizationToken", None)],
            "AssertionError: assert [...]",
            set(),
            "authorization-token",
        ),
    ],
)
def test_classification_rules(calls: list[Exchange], message: str, moto_only: set[str], cause: str) -> None:
    assert classify(Failure("t.py::t", calls, message, frozenset(moto_only))).cause.key == cause


def test_another_moto_major_version_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the shim knows moto 5's MockAWS only; another major version is refused by name, not guessed at
    import moto

    monkeypatch.setattr(moto, "__version__", "6.0.0")
    pytester.makepyfile(MOTO_SUITE)
    result = run(pytester, FLAG)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ecr-replace-moto supports moto 5.x*moto 6.0.0 is installed*"])
