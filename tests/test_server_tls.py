"""Server mode over HTTPS with a CA made for the run (issue 20, item 2): boto3, stdlib and curl
clients verify the server's certificate against the run's CA, on every name the server answers to;
``pytest-ecr serve --tls --ca-file`` writes that CA for clients in other processes."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
from http.client import HTTPSConnection
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import serve_in_thread

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer, cli

pytest.importorskip("trustme", reason="TLS needs trustme (pip install 'pytest-ecr[tls]')")
CURL = shutil.which("curl")


def verified(server: EcrServer) -> ssl.SSLContext:
    """A client context that trusts only the run's CA and checks host names."""
    context = ssl.create_default_context(cafile=server.ca_file)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    return context


@pytest.mark.ecr_server(tls=True)
def test_boto3_talks_https_and_the_environment_names_the_ca(ecr: FakeECR, ecr_server: EcrServer) -> None:
    assert ecr_server.url.startswith("https://127.0.0.1:")
    assert os.environ["AWS_ENDPOINT_URL_ECR"] == ecr_server.url
    assert os.environ["AWS_CA_BUNDLE"] == ecr_server.ca_file
    assert os.environ["NODE_EXTRA_CA_CERTS"] == ecr_server.ca_file  # node's (the JS SDK v3's)
    created = ecr_server.client().create_repository(repositoryName="team/app")["repository"]
    assert created["repositoryUri"] == f"123456789012.dkr.ecr.us-east-1.localhost:{ecr_server.port}/team/app"
    [data] = ecr_server.client().get_authorization_token()["authorizationData"]
    assert data["proxyEndpoint"] == f"https://123456789012.dkr.ecr.us-east-1.localhost:{ecr_server.port}"
    assert ecr.repository("team/app").name == "team/app"


@pytest.mark.ecr_server(tls=True)
@pytest.mark.parametrize(
    "name", ["127.0.0.1", "localhost", "::1", "123456789012.dkr.ecr.us-east-1.localhost", "9.dkr.ecr.x"]
)
def test_the_certificate_covers_every_name_the_server_answers_to(ecr_server: EcrServer, name: str) -> None:
    if name == "::1" and "::1" not in ecr_server.listening:
        pytest.skip("this system has no IPv6 loopback address")
    address = "::1" if name == "::1" else "127.0.0.1"
    context = verified(ecr_server)
    with socket.create_connection((address, ecr_server.port), timeout=10) as raw:
        if name == "9.dkr.ecr.x":  # a name the certificate does not cover fails verification
            with pytest.raises(ssl.SSLCertVerificationError):
                context.wrap_socket(raw, server_hostname=name)
            return
        with context.wrap_socket(raw, server_hostname=name) as tls:
            assert tls.version() is not None


@pytest.mark.ecr_server(tls=True)
def test_a_client_that_does_not_trust_the_ca_is_refused_and_the_server_goes_on(ecr_server: EcrServer) -> None:
    with (
        socket.create_connection(("127.0.0.1", ecr_server.port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
    conn = HTTPSConnection("127.0.0.1", ecr_server.port, timeout=10, context=verified(ecr_server))
    conn.request("GET", "/v2/")
    assert conn.getresponse().status == 401
    conn.close()
    assert ecr_server.errors == []


@pytest.mark.ecr_server(tls=True)
def test_blob_redirects_stay_on_https(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository("team/app")
    layer = json.loads(ecr.push_image("team/app", "v1").manifest)["layers"][0]["digest"]
    auth = base64.b64encode(f"AWS:{ecr_server.password}".encode()).decode()
    conn = HTTPSConnection("localhost", ecr_server.port, timeout=10, context=verified(ecr_server))
    conn.request("GET", f"/v2/team/app/blobs/{layer}", headers={"Authorization": f"Basic {auth}"})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    location = urlsplit(answer.getheader("Location") or "")
    assert (answer.status, location.scheme, location.hostname) == (307, "https", "127.0.0.1")
    blob = HTTPSConnection("127.0.0.1", ecr_server.port, timeout=10, context=verified(ecr_server))
    blob.request("GET", f"{location.path}?{location.query}")
    assert blob.getresponse().status == 200
    blob.close()


@pytest.mark.ecr_server(tls=True)
def test_the_certs_dir_has_the_layout_container_tools_read(ecr_server: EcrServer) -> None:
    port = ecr_server.port
    folder = Path(str(ecr_server.certs_dir))
    expected = {
        f"127.0.0.1:{port}",
        f"localhost:{port}",
        f"[::1]:{port}",
        f"123456789012.dkr.ecr.us-east-1.localhost:{port}",
    }
    assert {p.name for p in folder.iterdir()} == expected
    ca = Path(str(ecr_server.ca_file)).read_bytes()
    assert ca.startswith(b"-----BEGIN CERTIFICATE-----")
    assert all((folder / host / "ca.crt").read_bytes() == ca for host in expected)


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
@pytest.mark.ecr_server(tls=True)
def test_curl_verifies_the_server_with_the_ca_file(ecr_server: EcrServer) -> None:
    # curl resolves *.localhost to loopback itself (curl 7.78+), whatever the system resolver does
    url = f"https://{ecr_server.registry_host()}/v2/"
    result = subprocess.run(
        [str(CURL), "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(ecr_server.ca_file),
         "-u", f"AWS:{ecr_server.password}", url],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if result.returncode == 6:
        pytest.skip(f"this curl does not resolve *.localhost: {result.stderr.strip()}")
    assert (result.returncode, result.stdout) == (0, "200"), result.stderr


@pytest.mark.ecr_server(tls=True)
def test_a_subprocess_sdk_needs_only_the_environment(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository("team/app")
    script = (
        "import boto3; print(boto3.client('ecr').describe_repositories()['repositories'][0]['repositoryUri'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout) == (0, f"{ecr_server.registry_host()}/team/app\n"), (
        result.stderr
    )


def test_the_environment_is_restored_afterwards(ecr: FakeECR, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/mine.pem")
    monkeypatch.delenv("NODE_EXTRA_CA_CERTS", raising=False)
    with EcrServer(ecr, tls=True) as server, server.environment():
        assert os.environ["AWS_CA_BUNDLE"] == server.ca_file
    assert (os.environ["AWS_CA_BUNDLE"], os.environ.get("NODE_EXTRA_CA_CERTS")) == ("/etc/ssl/mine.pem", None)


def test_serve_tls_writes_the_ca_and_serves_https(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_file = tmp_path / "ca.pem"
    argv = ["serve", "--quiet", "--tls", "--ca-file", str(ca_file)]
    with serve_in_thread(monkeypatch, argv, ca_file.exists) as server:
        context = ssl.create_default_context(cafile=str(ca_file))
        conn = HTTPSConnection("localhost", server.port, timeout=10, context=context)
        conn.request("GET", "/v2/")
        assert conn.getresponse().status == 401
        conn.close()
    assert f"TLS: trust the CA certificate in {ca_file}" in capsys.readouterr().out


def test_serve_refuses_a_ca_file_without_tls(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--ca-file", "ca.pem"])
    assert exit_.value.code == 2
    assert "--ca-file needs --tls" in capsys.readouterr().err


def test_serve_says_when_it_cannot_write_the_ca(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"cannot write the CA certificate to .*missing/ca.pem"):
        cli.main(["serve", "--quiet", "--tls", "--ca-file", str(tmp_path / "missing" / "ca.pem")])


def test_tls_without_trustme_says_what_to_install(ecr: FakeECR, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "trustme", None)
    with pytest.raises(RuntimeError, match=r"pip install 'pytest-ecr\[tls\]'"):
        EcrServer(ecr, tls=True).start()
