"""Contract mode (issue #22): the same tests against another endpoint, recordings, and the diff.

The endpoints are real servers in other processes on loopback: ``pytest-ecr serve`` (the fake's
own server mode standing in for a remote ECR) and moto's server (a third-party emulator). The
suites under test run in pytest subprocesses, as a user's nightly job would run them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from pytest_ecr import drift
from pytest_ecr.recording import REDACTED, Recorder, redact

#: A test file written for both modes: it refers to repositories through ``ecr.name`` and
#: ``ecr_repo.name``, and expects only what ECR itself documents.
PORTABLE = """
import hashlib

import pytest


@pytest.mark.ecr_seed(repositories=["base"], images={"app": ["v1", {"tags": ["v2", "latest"], "size": 4096}]})
def test_seed_create_push(ecr, ecr_client, ecr_repo):
    names = {r["repositoryName"] for r in ecr_client.describe_repositories()["repositories"]}
    assert {ecr.name("base"), ecr.name("app"), ecr_repo.name} <= names
    pushed = ecr.push_image(ecr_repo.name, "t1", size=2048)
    # ECR's image digest is the sha256 of the exact manifest bytes (spec 3.3, docs/behaviour.rst)
    assert pushed.digest == "sha256:" + hashlib.sha256(pushed.manifest.encode()).hexdigest()
    detail = ecr_client.describe_images(repositoryName=ecr_repo.name)["imageDetails"]
    assert [d["imageDigest"] for d in detail] == [pushed.digest]
    assert detail[0]["imageSizeInBytes"] == 2048  # config + layer, as the image was built
    tagged = ecr_client.list_images(repositoryName=ecr.name("app"), filter={"tagStatus": "TAGGED"})
    assert sorted(i["imageTag"] for i in tagged["imageIds"]) == ["latest", "v1", "v2"]


def test_raw_client_creations_are_deleted_too(ecr_client):
    ecr_client.create_repository(repositoryName="made-by-the-test-itself")


def test_needs_the_clock(ecr_clock):
    ecr_clock.advance(days=1)


def test_needs_faults(ecr):
    ecr.faults.fail("DescribeRepositories")


@pytest.mark.ecr_time("2024-01-01T00:00:00Z")
def test_needs_frozen_time(ecr):
    pass


def test_needs_the_server(ecr_server):
    pass


@pytest.mark.ecr_config(region="eu-west-1")
def test_config_region(ecr, ecr_repo):
    assert ecr.region == "eu-west-1"
    assert ecr_repo.arn.startswith(f"arn:aws:ecr:eu-west-1:{ecr.account_id}:repository/")


@pytest.mark.ecr_config(account_id="210987654321")
def test_needs_another_account(ecr):
    pass
"""

FAILING = """
import pytest


@pytest.mark.ecr_seed(images={"left-behind": ["v1"]})
def test_fails_after_creating(ecr, ecr_repo):
    ecr.create_repository("another")
    assert False, "the test fails on purpose"
"""


def _started(command: list[str], pattern: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server logging to ``log`` (a file, so a chatty server never blocks on a full pipe)
    and wait, bounded, for the line announcing its URL."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return process, found.group(1)
        time.sleep(0.1)
    _stop(process)
    raise AssertionError(f"{command[:3]} did not announce its URL:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _serve(factory: pytest.TempPathFactory, name: str, command: list[str], pattern: str) -> Iterator[str]:
    process, url = _started(command, pattern, factory.mktemp(name) / "log")
    yield url
    _stop(process)


@pytest.fixture(scope="module")
def fake_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``pytest-ecr serve`` on a free loopback port: the fake standing in for a remote ECR."""
    command = [sys.executable, "-m", "pytest_ecr.server.cli", "serve", "--port", "0", "--quiet"]
    yield from _serve(tmp_path_factory, "serve", command, r"ECR API at (http://127\.0\.0\.1:\d+)")


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server (moto[server] from PyPI) on a free loopback port."""
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"]
    yield from _serve(tmp_path_factory, "moto", command, r"Running on (http://127\.0\.0\.1:\d+)")


def _repositories(url: str) -> list[str]:
    client = boto3.client(
        "ecr", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    return [r["repositoryName"] for r in client.describe_repositories()["repositories"]]


def _diff(directory: Path) -> subprocess.CompletedProcess[str]:
    """``pytest-ecr diff directory``, as a user runs it."""
    command = [sys.executable, "-m", "pytest_ecr.server.cli", "diff", str(directory)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:randomly", "-p", "no:cacheprovider", "-rs", *args, timeout=240
    )


def test_the_same_file_passes_in_process_and_against_the_server(
    pytester: pytest.Pytester, fake_endpoint: str
) -> None:
    pytester.makepyfile(test_portable=PORTABLE)
    in_process = _run(pytester)
    in_process.assert_outcomes(passed=8)

    remote = _run(pytester, "--ecr-endpoint", fake_endpoint)
    remote.assert_outcomes(passed=3, skipped=5)
    reasons = remote.stdout.str()
    for feature in (
        "the ecr_clock fixture",
        "ecr.faults",
        "@pytest.mark.ecr_time",
        "the ecr_server fixture",
        "@pytest.mark.ecr_config(account_id=...)",
    ):
        assert (
            f"{feature} needs pytest-ecr's in-process fake; contract mode runs against {fake_endpoint}"
            in reasons
        )
    # nothing left behind: the seeded, created and pushed repositories, and the one a raw client made
    assert _repositories(fake_endpoint) == []


def test_the_docs_example_passes_against_the_server(pytester: pytest.Pytester, fake_endpoint: str) -> None:
    from test_readme import code_blocks

    [example] = code_blocks("contract.rst", "python")  # in-process: tests/test_readme.py
    pytester.makepyfile(test_docs_example=example)
    _run(pytester, "--ecr-endpoint", fake_endpoint).assert_outcomes(passed=1)
    assert _repositories(fake_endpoint) == []


def test_a_failing_test_leaves_nothing_behind(pytester: pytest.Pytester, fake_endpoint: str) -> None:
    pytester.makepyfile(test_failing=FAILING)
    result = _run(pytester, "--ecr-endpoint", fake_endpoint)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test fails on purpose*"])
    assert _repositories(fake_endpoint) == []


def test_a_recording_of_the_fakes_server_shows_no_difference(
    pytester: pytest.Pytester, fake_endpoint: str
) -> None:
    pytester.makepyfile(test_portable=PORTABLE)
    record = pytester.path / "recording"
    _run(pytester, "--ecr-endpoint", fake_endpoint, "--ecr-record", str(record)).assert_outcomes(
        passed=3, skipped=5
    )
    run = json.loads((record / "main" / "run.json").read_text())
    assert run["endpoint"] == fake_endpoint
    assert run["account"] == "123456789012"  # pytest-ecr serve's default account
    assert re.fullmatch(r"pytest-ecr-[0-9a-f]{8}/", run["prefix"])
    calls = sorted(p.name for p in (record / "main").glob("0*.json"))
    operations = [re.sub(r"^\d+-|\.json$", "", name) for name in calls]
    # the pushes went through the layer upload API, and the repositories were deleted
    for operation in (
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "PutImage",
        "DeleteRepository",
    ):
        assert operation in operations
    diff = _diff(record)
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert f"{len(calls)} recorded call(s) replayed against the fake; 0 differ" in diff.stdout


def test_xdist_workers_record_and_clean_up_each_their_own(
    pytester: pytest.Pytester, fake_endpoint: str
) -> None:
    pytester.makepyfile(test_portable=PORTABLE)
    record = pytester.path / "recording"
    result = _run(pytester, "-n", "2", "--ecr-endpoint", fake_endpoint, "--ecr-record", str(record))
    result.assert_outcomes(passed=3, skipped=5)
    runs = {path.parent.name: json.loads(path.read_text()) for path in record.glob("*/run.json")}
    workers = sorted(runs)
    assert set(workers) <= {"gw0", "gw1"}
    assert workers  # the workers that ran ECR tests, each in its own directory with its own prefix
    assert len({run["prefix"] for run in runs.values()}) == len(runs)
    assert _repositories(fake_endpoint) == []
    diff = _diff(record)
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert "0 differ" in diff.stdout


def test_the_diff_of_a_recording_against_moto_lists_motos_differences(
    pytester: pytest.Pytester, moto_endpoint: str
) -> None:
    pytester.makepyfile(test_portable=PORTABLE)
    record = pytester.path / "moto-recording"
    result = _run(pytester, "--ecr-endpoint", moto_endpoint, "--ecr-record", str(record))
    # moto computes image digests otherwise than ECR, so the portable test fails against it
    result.assert_outcomes(failed=1, passed=2, skipped=5)
    result.stdout.fnmatch_lines(["*assert pushed.digest == *"])
    assert not any(name.startswith("pytest-ecr-") for name in _repositories(moto_endpoint))

    diff = _diff(record)
    assert diff.returncode == 1
    out = diff.stdout
    # A blob the repository has never seen is a layers[] entry with layerAvailability UNAVAILABLE
    # (spec 4.4: awslabs/amazon-ecr-containerd-resolver ecr/pusher.go checkBlobExistence); moto
    # reports it under failures[] instead.
    assert "  BatchCheckLayerAvailability: failures[]\n" in out
    assert "  BatchCheckLayerAvailability: layers[]\n" in out
    # ECR's digest is the sha256 of the manifest bytes as sent (spec 3.3); moto's is not
    assert re.search(
        r"  PutImage: image\.imageId\.imageDigest differs \(endpoint \['sha256:[0-9a-f]{64}'\]", out
    )
    # imagePushedAt carries milliseconds in recordings since 2024 (docs/behaviour.rst, Timestamps);
    # moto sends whole seconds
    assert "  DescribeImages: imageDetails[].imagePushedAt: endpoint integer, fake decimal\n" in out


# -- safety and usage -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--ecr-endpoint", "aws"],
            "*--ecr-endpoint aws reaches AWS: name the account(s)*--ecr-allow-account*",
        ),
        (
            ["--ecr-endpoint", "https://api.ecr.eu-west-1.amazonaws.com"],
            "*reaches AWS: name the account(s)*",
        ),
        (
            ["--ecr-endpoint", "localhost:5000"],
            "*--ecr-endpoint must be 'aws' or an http(s) URL*'localhost:5000'*",
        ),
        (
            ["--ecr-endpoint", "aws", "--ecr-allow-account", "12345"],
            "*--ecr-allow-account must be a 12-digit*'12345'*",
        ),
        (
            ["--ecr-record", "somewhere"],
            "*--ecr-record records contract mode's requests: give --ecr-endpoint too*",
        ),
    ],
)
def test_bad_contract_options_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.fixture
def aws_via_moto(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3's ordinary configuration, its STS and ECR endpoints pointed at moto: ``aws`` mode
    as on AWS, without leaving the machine (moto's caller identity is account 123456789012)."""
    for name, value in {
        "AWS_ENDPOINT_URL_STS": moto_endpoint,
        "AWS_ENDPOINT_URL_ECR": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }.items():
        monkeypatch.setenv(name, value)
    return moto_endpoint


def test_an_account_off_the_allow_list_is_refused(pytester: pytest.Pytester, aws_via_moto: str) -> None:
    pytester.makepyfile(
        """
        def test_creates(ecr_repo):
            pass
        """
    )
    before = _repositories(aws_via_moto)
    result = _run(pytester, "--ecr-endpoint", "aws", "--ecr-allow-account", "111111111111")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        [
            "*refusing to run against account 123456789012 at AWS: it is not among --ecr-allow-account (111111111111)*"
        ]
    )
    assert _repositories(aws_via_moto) == before


def test_an_allowed_account_runs_with_boto3s_own_configuration(
    pytester: pytest.Pytester, aws_via_moto: str
) -> None:
    pytester.makepyfile(
        """
        def test_creates(ecr, ecr_repo):
            assert ecr.region == "eu-west-1"  # boto3's region (AWS_DEFAULT_REGION)
            assert ecr_repo.arn.startswith("arn:aws:ecr:eu-west-1:123456789012:repository/pytest-ecr-")
        """
    )
    result = _run(pytester, "--ecr-endpoint", "aws", "--ecr-allow-account", "123456789012")
    result.assert_outcomes(passed=1)


def test_an_endpoint_that_cannot_answer_ends_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_creates(ecr_repo): pass\ndef test_again(ecr_repo): pass")
    # port 9 (discard) on loopback: nothing listens there
    result = _run(pytester, "--ecr-endpoint", "http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*pytest-ecr: cannot learn the account of http://127.0.0.1:9: *"])


# -- the recording's redaction and the diff's categories --------------------------------------


def test_a_recording_never_mixes_runs(tmp_path: Path) -> None:
    Recorder(tmp_path / "main").start("http://127.0.0.1:1", "123456789012", "us-east-1", "pytest-ecr-0/")
    with pytest.raises(pytest.UsageError, match="already holds a recording; give an empty or new directory"):
        Recorder(tmp_path / "main").start("http://127.0.0.1:1", "123456789012", "us-east-1", "pytest-ecr-1/")


def test_secrets_are_redacted() -> None:
    recorded: dict[str, Any] = {
        "authorizationData": [{"authorizationToken": "QVdTOnNlY3JldA==", "proxyEndpoint": "https://x"}],
        "downloadUrl": "https://bucket.s3.amazonaws.com/layer?X-Amz-Security-Token=abc&X-Amz-Signature=def",
        "credentialArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/x",
        "nextToken": "page-2",
    }
    assert redact(recorded) == {
        "authorizationData": [{"authorizationToken": REDACTED, "proxyEndpoint": "https://x"}],
        "downloadUrl": f"https://bucket.s3.amazonaws.com/layer?{REDACTED}",
        "credentialArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/x",
        "nextToken": "page-2",
    }


def test_the_diff_names_error_codes_and_messages() -> None:
    missing = {
        "__type": "RepositoryNotFoundException",
        "message": "The repository with name 'a' does not exist",
    }
    assert drift.compare(400, missing, 200, {"repositories": []}) == [
        ("status", "endpoint 400, fake 200"),
        ("error code", f"endpoint RepositoryNotFoundException ({missing['message']!r}), fake success"),
    ]
    other = {"__type": "RepositoryNotFoundException", "message": "another wording"}
    assert drift.compare(400, missing, 400, other) == [
        (
            "error message",
            f"RepositoryNotFoundException: endpoint {missing['message']!r}, fake 'another wording'",
        )
    ]
    # a redacted value is a wildcard; an integer where the fake sends a decimal is a format
    assert drift.compare(
        200, {"expiresAt": 1, "token": REDACTED}, 200, {"expiresAt": 1.5, "token": "abc"}
    ) == [("format", "expiresAt: endpoint integer, fake decimal")]
    # a decimal time that falls on a whole second is still a decimal: CI once saw a repository
    # created at .000 ms reported as "endpoint decimal, fake integer"
    assert drift.compare(200, {"createdAt": 1733350000.123}, 200, {"createdAt": 1733350000.0}) == []


def test_diff_refuses_what_is_not_a_recording(tmp_path: Path) -> None:
    result = _diff(tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr
        == f"pytest-ecr: {tmp_path}: not a recording (no run.json; make one with pytest --ecr-record)\n"
    )
