"""Server mode reached by any loopback name and by per-account registry hosts (issue 20, items 1
and 3), with stdlib HTTP clients that send the ``Host`` a client of that name sends.

ECR's registry host is ``<account>.dkr.ecr.<region>.amazonaws.com`` and its ``proxyEndpoint`` is
``https://`` + that host (AWS API reference, AuthorizationData; the recorded GetAuthorizationToken
answers in tests/test_recorded_responses.py). The fake serves the same names under ``.localhost``.
"""

from __future__ import annotations

import base64
import json
from http.client import HTTPConnection, HTTPResponse
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, serve_in_thread, sha256

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer, cli
from pytest_ecr.server.hosts import addressed

OTHER = "210987654321"
REPO = "team/app"


def send(
    server: EcrServer, host: str, method: str, path: str, token: str | None, body: bytes | None = None
) -> tuple[HTTPResponse, bytes]:
    """One request to the server's port, on 127.0.0.1 or ::1, saying ``Host: <host>:PORT``."""
    address = "::1" if host == "[::1]" else "127.0.0.1"
    conn = HTTPConnection(address, server.port, timeout=10)
    headers = {"Host": f"{host}:{server.port}"}
    if token is not None:
        headers["Authorization"] = f"Basic {token}"
    conn.request(method, path, body=body, headers=headers)
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return answer, data


def token(server: EcrServer, account: str | None = None, region: str | None = None) -> str:
    user, password = server.login(account, region)
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def push(server: EcrServer, host: str, auth: str, repo: str = REPO) -> tuple[str, bytes]:
    """Push a one-layer image as ``v1`` through ``host``; its manifest digest and layer bytes."""
    layer = f"layer pushed through {host}".encode()
    config = json.dumps({"host": host}).encode()
    for blob in (layer, config):
        answer, _ = send(server, host, "POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(blob)}", auth, blob)
        assert answer.status == 201, answer.status
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256(layer), "size": len(layer)}],
        }
    ).encode()
    conn = HTTPConnection("::1" if host == "[::1]" else "127.0.0.1", server.port, timeout=10)
    conn.request(
        "PUT",
        f"/v2/{repo}/manifests/v1",
        body=manifest,
        headers={
            "Host": f"{host}:{server.port}",
            "Authorization": f"Basic {auth}",
            "Content-Type": OCI_MANIFEST,
        },
    )
    answer = conn.getresponse()
    answer.read()
    conn.close()
    assert answer.status == 201, answer.status
    return sha256(manifest), layer


def pull_layer(server: EcrServer, host: str, auth: str, digest: str, repo: str = REPO) -> bytes:
    """GET a blob as a registry client does: the 307, then the redirect without credentials."""
    answer, _ = send(server, host, "GET", f"/v2/{repo}/blobs/{digest}", auth)
    assert answer.status == 307, answer.status
    location = urlsplit(answer.getheader("Location") or "")
    # A client keeps its credentials on a same-host redirect: the blob host must be another name.
    assert location.hostname != host.strip("[]")
    assert location.port == server.port
    conn = HTTPConnection(location.hostname or "", location.port, timeout=10)
    conn.request("GET", f"{location.path}?{location.query}")
    blob = conn.getresponse()
    data = blob.read()
    conn.close()
    assert blob.status == 200, (blob.status, data)
    return data


def account_host(account: str = "123456789012", region: str = "us-east-1") -> str:
    return f"{account}.dkr.ecr.{region}.localhost"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", account_host()])
def test_push_and_pull_by_every_loopback_name(ecr: FakeECR, ecr_server: EcrServer, host: str) -> None:
    if host == "[::1]" and "::1" not in ecr_server.listening:
        pytest.skip("this system has no IPv6 loopback address")
    ecr.create_repository(REPO)
    auth = token(ecr_server)
    digest, layer = push(ecr_server, host, auth)
    assert pull_layer(ecr_server, host, auth, sha256(layer)) == layer
    assert [d["imageDigest"] for d in ecr.client().describe_images(repositoryName=REPO)["imageDetails"]] == [
        digest
    ]


def test_the_blob_host_is_told_apart_by_path_not_name(ecr: FakeECR, ecr_server: EcrServer) -> None:
    """The redirect for a client on localhost goes to 127.0.0.1, the registry's usual name."""
    ecr.create_repository(REPO)
    auth = token(ecr_server)
    _, layer = push(ecr_server, "localhost", auth)
    answer, _ = send(ecr_server, "localhost", "GET", f"/v2/{REPO}/blobs/{sha256(layer)}", auth)
    assert urlsplit(answer.getheader("Location") or "").hostname == "127.0.0.1"
    # and the registry routes answer on the blob host's name as well
    answer, _ = send(ecr_server, "127.0.0.1", "GET", "/v2/", auth)
    assert answer.status == 200


def test_the_host_picks_the_registry(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository(REPO)
    ecr.create_repository(REPO, account=OTHER)
    auth = token(ecr_server, OTHER)
    digest, _ = push(ecr_server, account_host(OTHER), auth)
    mine = ecr.client().describe_images(repositoryName=REPO)["imageDetails"]
    theirs = ecr.client(account=OTHER).describe_images(repositoryName=REPO)["imageDetails"]
    assert (mine, [d["imageDigest"] for d in theirs]) == ([], [digest])


def test_a_regional_host_picks_that_regions_registry(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository(REPO)
    ecr.create_repository(REPO, region="eu-west-1")
    host, auth = account_host(region="eu-west-1"), token(ecr_server, region="eu-west-1")
    digest, layer = push(ecr_server, host, auth)
    assert pull_layer(ecr_server, host, auth, sha256(layer)) == layer
    here = ecr.client().describe_images(repositoryName=REPO)["imageDetails"]
    there = ecr.client("eu-west-1").describe_images(repositoryName=REPO)["imageDetails"]
    assert (here, [d["imageDigest"] for d in there]) == ([], [digest])


PULL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "pull",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
        }
    ],
}


def test_a_cross_account_pull_follows_the_repository_policy(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository(REPO, account=OTHER)
    _, layer = push(ecr_server, account_host(OTHER), token(ecr_server, OTHER))
    mine = token(ecr_server)  # a token of 123456789012, used on 210987654321's registry host
    path = f"/v2/{REPO}/manifests/v1"
    answer, body = send(ecr_server, account_host(OTHER), "GET", path, mine)
    # no policy lets another account in: the registry's DENIED, naming the IAM refusal
    assert answer.status == 403
    assert json.loads(body)["errors"][0]["code"] == "DENIED"
    ecr.client(account=OTHER).set_repository_policy(repositoryName=REPO, policyText=json.dumps(PULL_POLICY))
    answer, _ = send(ecr_server, account_host(OTHER), "GET", path, mine)
    assert answer.status == 200
    assert pull_layer(ecr_server, account_host(OTHER), mine, sha256(layer)) == layer
    # the policy allows pulls only: a push is still refused
    blob = b"not allowed"
    answer, _ = send(
        ecr_server,
        account_host(OTHER),
        "POST",
        f"/v2/{REPO}/blobs/uploads/?digest={sha256(blob)}",
        mine,
        blob,
    )
    assert answer.status == 403


def test_a_token_of_another_region_is_refused(ecr: FakeECR, ecr_server: EcrServer) -> None:
    answer, _ = send(ecr_server, account_host(region="eu-west-1"), "GET", "/v2/", token(ecr_server))
    assert answer.status == 401
    answer, _ = send(ecr_server, account_host(region="us-east-1"), "GET", "/v2/", token(ecr_server))
    assert answer.status == 200


def test_server_mode_answers_name_the_fakes_hosts(ecr: FakeECR, ecr_server: EcrServer) -> None:
    client = ecr_server.client()
    data = client.get_authorization_token(registryIds=["123456789012", OTHER])["authorizationData"]
    port = ecr_server.port
    assert [d["proxyEndpoint"] for d in data] == [
        f"http://123456789012.dkr.ecr.us-east-1.localhost:{port}",
        f"http://{OTHER}.dkr.ecr.us-east-1.localhost:{port}",
    ]
    created = client.create_repository(repositoryName=REPO)["repository"]
    assert created["repositoryUri"] == f"123456789012.dkr.ecr.us-east-1.localhost:{port}/{REPO}"
    # in-process answers keep AWS's names, which code under test may parse
    [aws] = ecr.client().get_authorization_token()["authorizationData"]
    assert aws["proxyEndpoint"] == "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"
    described = ecr.client().describe_repositories()["repositories"][0]
    assert described["repositoryUri"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPO}"


@pytest.mark.ecr_server(naming="loopback")
def test_loopback_naming_for_resolvers_without_localhost_subdomains(ecr_server: EcrServer) -> None:
    client = ecr_server.client()
    [data] = client.get_authorization_token()["authorizationData"]
    assert data["proxyEndpoint"] == f"http://127.0.0.1:{ecr_server.port}"
    uri = client.create_repository(repositoryName=REPO)["repository"]["repositoryUri"]
    assert uri == f"127.0.0.1:{ecr_server.port}/{REPO}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "http://123456789012.dkr.ecr.us-east-1.localhost:{port}"),
        (["--naming", "loopback"], "http://127.0.0.1:{port}"),
    ],
)
def test_serve_naming(ecr: FakeECR, monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: str) -> None:
    with serve_in_thread(monkeypatch, ["serve", "--quiet", *argv]) as server:
        [data] = server.client().get_authorization_token()["authorizationData"]
        assert data["proxyEndpoint"] == expected.format(port=server.port)


def test_serve_refuses_an_unknown_naming(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--naming", "aws"])
    assert exit_.value.code == 2
    assert "argument --naming: invalid choice: 'aws'" in capsys.readouterr().err


def test_the_proxy_endpoint_is_where_a_client_logs_in(ecr: FakeECR, ecr_server: EcrServer) -> None:
    """What a login with ``proxyEndpoint`` does: GET /v2/ on that host with the token."""
    [data] = ecr_server.client().get_authorization_token()["authorizationData"]
    host = urlsplit(data["proxyEndpoint"]).hostname or ""
    answer, _ = send(ecr_server, host, "GET", "/v2/", data["authorizationToken"])
    assert answer.status == 200


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1:5000", (None, None, "localhost")),
        ("LOCALHOST:5000", (None, None, "127.0.0.1")),
        ("[::1]:5000", (None, None, "localhost")),
        ("123456789012.dkr.ecr.eu-west-1.localhost:5000", ("123456789012", "eu-west-1", "localhost")),
        ("123456789012.dkr.ecr.eu-west-1.localhost", ("123456789012", "eu-west-1", "localhost")),
        # not an account host: 11 digits, another domain
        ("12345678901.dkr.ecr.eu-west-1.localhost:5000", (None, None, "localhost")),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", (None, None, "localhost")),
        (None, (None, None, "localhost")),
    ],
)
def test_what_a_host_header_addresses(host: str | None, expected: tuple[Any, ...]) -> None:
    to = addressed(host)
    assert (to.account, to.region, to.blob_host_name) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"tls": "yes"}, "@pytest.mark.ecr_server: tls must be True or False, got 'yes'"),
        (
            {"naming": "aws"},
            "@pytest.mark.ecr_server: naming must be one of 'account', 'loopback', got 'aws'",
        ),
    ],
)
def test_a_bad_server_marker_names_itself(
    pytester: pytest.Pytester, args: dict[str, Any], message: str
) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.ecr_server(**{args!r})
        def test_it(ecr_server):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*{message}*"])
