"""Server mode, the ECR JSON API over real HTTP (``EcrServer`` / the ``ecr_server`` fixture).

While the ``ecr`` fixture is active, boto3 clients are answered in-process; ``ecr_server.client()``
is a client with that interception removed, so its calls really cross the socket: every test here
checks the server's request log to prove it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from helpers import signed_headers

from pytest_ecr import UNSUPPORTED_IMAGE, FakeECR
from pytest_ecr.server import EcrServer
from pytest_ecr.server.cli import load_seed

OTHER_ACCOUNT = "210987654321"


def test_boto3_over_http_shares_the_fake_state(ecr: FakeECR, ecr_server: EcrServer) -> None:
    client = ecr_server.client()
    created = client.create_repository(repositoryName="team/app")["repository"]
    # in server mode the URI names the fake's own registry host (tests/test_server_hosts.py)
    assert created["repositoryUri"] == f"123456789012.dkr.ecr.us-east-1.localhost:{ecr_server.port}/team/app"
    assert ecr.repository("team/app").name == "team/app"
    ecr.push_image("team/app", "v1")
    assert [i["imageTag"] for i in client.list_images(repositoryName="team/app")["imageIds"]] == ["v1"]
    assert [(r.method, r.path, r.status) for r in ecr_server.log] == [("POST", "/", 200)] * 2
    # the in-process call log records the HTTP calls too
    assert [c.operation for c in ecr.calls] == ["CreateRepository", "ListImages"]


def test_errors_are_the_bytes_an_in_process_client_gets(ecr: FakeECR, ecr_server: EcrServer) -> None:
    answers = []
    for client in (ecr_server.client(), ecr.client()):
        with pytest.raises(ClientError) as exc:
            client.describe_repositories(repositoryNames=["missing"])
        answers.append(
            (exc.value.response["Error"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"])
        )
    assert answers[0] == answers[1]
    assert answers[0][0]["Code"] == "RepositoryNotFoundException"
    assert answers[0][1] == 400
    assert len(ecr_server.log) == 1


def test_account_from_access_key_and_region_from_scope(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr_server.client(region="eu-west-1", account=OTHER_ACCOUNT).create_repository(repositoryName="r1")
    assert ecr.repository("r1", account=OTHER_ACCOUNT, region="eu-west-1").registry_id == OTHER_ACCOUNT
    with pytest.raises(KeyError):
        ecr.repository("r1")
    assert ecr_server.log[-1].status == 200


def test_raw_requests(ecr_server: EcrServer) -> None:
    conn = http.client.HTTPConnection(ecr_server.registry, timeout=5)
    conn.request("POST", "/", body=b"{}", headers=signed_headers(ecr_server.registry, "Nope"))
    answer = conn.getresponse()
    assert answer.status == 400
    assert json.loads(answer.read())["__type"] == "UnknownOperationException"
    assert answer.getheader("Content-Type") == "application/x-amz-json-1.1"
    conn.request("GET", "/")
    answer = conn.getresponse()
    assert (answer.status, answer.read()) == (404, b"Not Found\n")
    conn.close()


def test_binds_to_loopback_on_an_ephemeral_port(ecr: FakeECR) -> None:
    with EcrServer(ecr) as first, EcrServer(ecr) as second:
        assert first.registry.startswith("127.0.0.1:")
        assert first.port != second.port
        # loopback only: 127.0.0.1, and ::1 where the system has it (nothing else)
        assert first.listening[0] == "127.0.0.1"
        assert set(first.listening) <= {"127.0.0.1", "::1"}
        port = first.port
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # stopped: nothing listens any more


def test_fixture_points_subprocesses_at_the_server(ecr: FakeECR, ecr_server: EcrServer) -> None:
    assert os.environ["AWS_ENDPOINT_URL_ECR"] == ecr_server.url
    ecr.create_repository("from-parent")
    script = textwrap.dedent(
        """
        import boto3
        client = boto3.client("ecr")
        print(client.describe_repositories()["repositories"][0]["repositoryName"])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "from-parent", done.stderr
    assert [r.path for r in ecr_server.log] == ["/"]


def test_fixture_restores_the_endpoint_variable(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os

        def test_a(ecr_server):
            assert os.environ["AWS_ENDPOINT_URL_ECR"] == ecr_server.url

        def test_b(ecr):
            assert "AWS_ENDPOINT_URL_ECR" not in os.environ
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_seed_file_formats(tmp_path: Path) -> None:
    json_seed = tmp_path / "seed.json"
    # Names of at least 2 characters: seed files are checked as a whole, ECR's own rules included.
    json_seed.write_text(json.dumps({"repositories": ["aa"], "images": {"bb": ["v1"]}}))
    toml_seed = tmp_path / "seed.toml"
    toml_seed.write_text('repositories = ["aa"]\n[images]\nbb = ["v1", {tags = ["v2"], size = 10}]\n')
    assert load_seed(str(json_seed)) == {"repositories": ["aa"], "images": {"bb": ["v1"]}}
    if sys.version_info >= (3, 11):
        assert load_seed(str(toml_seed))["images"]["bb"][1] == {"tags": ["v2"], "size": 10}
    upstream = tmp_path / "upstream.json"
    upstream.write_text(json.dumps({"upstream": {"quay.io": {"coreos/etcd": ["v3"]}}}))
    assert load_seed(str(upstream)) == {"upstream": {"quay.io": {"coreos/etcd": ["v3"]}}}
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(
        json.dumps({"images": {"app": ["v1"]}, "account": OTHER_ACCOUNT, "region": "eu-west-1"})
    )
    fake = FakeECR()
    fake.seed(**load_seed(str(elsewhere)))
    assert fake.repository("app", OTHER_ACCOUNT, "eu-west-1").tag_index.keys() == {"v1"}
    failing = tmp_path / "failing.json"
    reason = "UnsupportedImageError: The operating system and/or package manager are not supported."
    failing.write_text(
        json.dumps({"images": {"app": [{"tags": ["v1"], "findings": {"description": reason}}]}})
    )
    fake.seed(**load_seed(str(failing)))
    app = fake.repository("app")
    assert app.images[app.tag_index["v1"]].seeded_findings == UNSUPPORTED_IMAGE
    bad = tmp_path / "bad.json"
    bad.write_text('{"repos": []}')
    with pytest.raises(SystemExit, match=r"bad.json: unknown key 'repos'; did you mean repositories\?"):
        load_seed(str(bad))


def test_cli_serves_a_seeded_fake(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"repositories": ["app-a"], "images": {"app-b": ["v1"]}}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_ecr.server.cli",
            "serve",
            "--seed",
            str(seed),
            "--account",
            OTHER_ACCOUNT,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        url = banner.split("ECR API at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        client = boto3.Session().client(
            "ecr",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="AKIAEXAMPLE",
            aws_secret_access_key="secret",
        )
        repositories = client.describe_repositories()["repositories"]
        assert sorted(r["repositoryName"] for r in repositories) == ["app-a", "app-b"]
        assert {r["registryId"] for r in repositories} == {OTHER_ACCOUNT}
        # the operation named in the request log (issue #16, item 6)
        assert process.stdout.readline().strip() == "POST / DescribeRepositories -> 200"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_a_dropped_connection_fault_closes_the_socket(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository("app-a")
    rule = ecr.faults.drop_connection("ListImages", times=1)
    conn = http.client.HTTPConnection(ecr_server.registry, timeout=5)
    body = json.dumps({"repositoryName": "app-a"}).encode()
    conn.request("POST", "/", body=body, headers=signed_headers(ecr_server.registry, "ListImages", body))
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    conn.close()
    assert rule.fired == 1
    # botocore's retry gets the answer
    assert ecr_server.client().list_images(repositoryName="app-a")["imageIds"] == []


def test_the_principal_of_a_client_reaches_the_fake_over_http(ecr: FakeECR, ecr_server: EcrServer) -> None:
    scanner = "arn:aws:iam::123456789012:role/scanner"
    ecr.create_repository("team/app")
    ecr.push_image("team/app", "v1")
    ecr.client().register_pull_time_update_exclusion(principalArn=scanner)

    ecr_server.client(principal=scanner).batch_get_image(
        repositoryName="team/app", imageIds=[{"imageTag": "v1"}]
    )

    assert ecr.calls[-1].principal == scanner
    assert (
        ecr.repository("team/app").images[ecr.repository("team/app").tag_index["v1"]].last_pulled_at is None
    )
    ecr_server.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert (
        ecr.repository("team/app").images[ecr.repository("team/app").tag_index["v1"]].last_pulled_at
        is not None
    )
