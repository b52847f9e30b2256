"""Small-request throughput of server mode: ECR API calls and manifest GETs on 1, 4 and 16
keep-alive connections, with Debian's ``docker-registry`` (CNCF distribution 2.8) serving the same
manifest GETs in the same run.

Both servers run in their own process (``pytest-ecr serve --quiet``, ``docker-registry serve``) on
loopback; the load generator is this process: one thread per connection, each sending a fixed
request over and over on its keep-alive connection (a minimal HTTP/1.1 client: the request's bytes
prepared once, the reply read by its ``Content-Length``), every reply checked for its status.
A measurement is a fixed count of requests split over the connections; the figure is requests per
second over the median wall time of the rounds. The API request is a SigV4-signed
DescribeRepositories of a registry holding one repository; the manifest is one small OCI image
manifest pushed to both servers through the registry API.

Two targets: a DescribeRepositories through the server, made by a boto3 client, costs at most 5x
the same call answered in-process (the ``ecr`` fixture's way; both measured here, one client at a
time); and pytest-ecr serves manifest GETs at least 2x as fast as docker-registry.

Needs ``docker-registry`` on PATH (Debian package; ``.ci/run`` installs it) for the manifest
anchor; without it the docker-registry column is left empty. Run: ``python bench/small_requests.py``
(``--quick`` for a short run).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import _common
import registry
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pytest_ecr import FakeECR

#: requests per throughput measurement, rounds, boto3 calls per latency measurement
SETTINGS = {"normal": (6400, 3, 1000), "quick": (1600, 2, 300)}
CONNECTIONS = (1, 4, 16)
API_TARGET = 5.0
MANIFEST_TARGET = 2.0
REPOSITORY = "bench/app"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DESCRIBE = "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"


class Connection:
    """One keep-alive connection sending the same request: the least client work per request."""

    def __init__(self, port: int, request: bytes) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        self.request = request

    def send(self) -> tuple[int, bytes]:
        self.sock.sendall(self.request)
        status = int(self.file.readline().split()[1])
        length = 0
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, self.file.read(length)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    return (head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode() + body


def throughput(port: int, request: bytes, connections: int, total: int) -> float:
    """Seconds for ``total`` requests (a multiple of every connection count) split evenly over
    ``connections`` keep-alive connections."""
    _common.check(total % connections == 0, f"{total} requests do not split over {connections} connections")
    clients = [Connection(port, request) for _ in range(connections)]
    for client in clients:  # each connection warms up
        _common.check(client.send()[0] == 200, "a warm-up request failed")
    start = threading.Barrier(connections + 1)
    failures: list[str] = []

    def work(client: Connection) -> None:
        start.wait()
        for _ in range(total // connections):
            status, body = client.send()
            if status != 200:
                failures.append(f"{status}: {body[:200]!r}")
                return

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for client in clients:
        client.close()
    _common.check(not failures, f"requests failed: {failures[:1]}")
    return elapsed


@contextmanager
def served() -> Iterator[int]:
    """``pytest-ecr serve`` in its own process (as a user runs it); its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_ecr.server.cli", "serve", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        _common.check("ECR API at " in banner, f"pytest-ecr serve did not start: {banner!r}")
        yield int(banner.split("ECR API at ")[1].split()[0].rsplit(":", 1)[1])
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def signed(port: int, target: str, body: bytes) -> dict[str, str]:
    request = AWSRequest(
        "POST",
        f"http://127.0.0.1:{port}/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    SigV4Auth(Credentials("AKIAIOSFODNN7EXAMPLE", "bench-secret"), "ecr", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def api_call(port: int, operation: str, document: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(document).encode()
    target = f"AmazonEC2ContainerRegistry_V20150921.{operation}"
    client = Connection(port, http_request("POST", "/", signed(port, target, body), body))
    status, answer = client.send()
    client.close()
    _common.check(status == 200, f"{operation} failed: {answer[:200]!r}")
    result: dict[str, Any] = json.loads(answer)
    return result


def push_manifest(port: int, auth: dict[str, str]) -> str:
    """Push one small image through the registry API (a session per blob, then the manifest);
    the manifest's path."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(method: str, path: str, body: bytes = b"", **headers: str) -> http.client.HTTPResponse:
        conn.request(method, path, body=body, headers={**auth, **headers})
        answer = conn.getresponse()
        answer.read()
        return answer

    descriptors = []
    for data, media_type in (
        (b'{"architecture": "amd64", "os": "linux"}', "application/vnd.oci.image.config.v1+json"),
        (b"a small layer", "application/vnd.oci.image.layer.v1.tar"),
    ):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        answer = send("POST", f"/v2/{REPOSITORY}/blobs/uploads/")
        _common.check(answer.status == 202, f"starting an upload failed: {answer.status}")
        parts = urlsplit(answer.getheader("Location") or "")
        query = f"{parts.query}&digest={digest}" if parts.query else f"digest={digest}"
        answer = send("PUT", f"{parts.path}?{query}", data)
        _common.check(answer.status == 201, f"uploading a blob failed: {answer.status}")
        descriptors.append({"mediaType": media_type, "digest": digest, "size": len(data)})
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptors[0], "layers": descriptors[1:]}
    ).encode()
    path = f"/v2/{REPOSITORY}/manifests/v1"
    answer = send("PUT", path, manifest, **{"Content-Type": OCI_MANIFEST})
    _common.check(answer.status == 201, f"pushing the manifest failed: {answer.status}")
    conn.close()
    return path


def manifest_rates(port: int, path: str, auth: dict[str, str], total: int, rounds: int) -> dict[str, Any]:
    request = http_request("GET", path, {**auth, "Accept": OCI_MANIFEST})
    return {
        str(n): _common.summary([throughput(port, request, n, total) for _ in range(rounds)])
        for n in CONNECTIONS
    }


def per_call(client: Any, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        client.describe_repositories()
    return (time.perf_counter() - start) / count


def run(quick: bool = False) -> dict[str, Any]:
    total, rounds, calls = SETTINGS["quick" if quick else "normal"]
    results: dict[str, Any] = {
        "benchmark": "small_requests",
        "quick": quick,
        "requests": total,
        "rounds": rounds,
    }
    _common.isolate_environment()
    with served() as port:
        api_call(port, "CreateRepository", {"repositoryName": REPOSITORY})
        token = api_call(port, "GetAuthorizationToken", {})["authorizationData"][0]["authorizationToken"]
        auth = {"Authorization": f"Basic {token}"}
        path = push_manifest(port, auth)
        body = b"{}"
        describe = http_request("POST", "/", signed(port, DESCRIBE, body), body)
        results["api"] = {
            str(n): _common.summary([throughput(port, describe, n, total) for _ in range(rounds)])
            for n in CONNECTIONS
        }
        results["manifest"] = manifest_rates(port, path, auth, total, rounds)
        # boto3 over HTTP against boto3 answered in-process, one call at a time, taking turns (the
        # fake's network blocker is off while the HTTP client runs)
        http_client = _endpoint_client(port)
        samples: dict[str, list[float]] = {"in_process": [], "server": []}
        for n in range(rounds + 1):  # round 0 warms up
            with FakeECR() as fake:
                fake.create_repository(REPOSITORY)
                in_process = _common.make_client()
                per_call(in_process, 20)
                in_process_time = per_call(in_process, calls)
            server_time = per_call(http_client, calls)
            if n:
                samples["in_process"].append(in_process_time)
                samples["server"].append(server_time)
        results["boto3"] = {name: _common.summary(values) for name, values in samples.items()}
    if shutil.which("docker-registry") is None:
        results["distribution_skipped"] = "not installed: docker-registry (Debian package)"
    else:
        with (
            tempfile.TemporaryDirectory() as tmp,
            registry.distribution(Path(tmp) / "distribution") as address,
        ):
            port = int(address.rsplit(":", 1)[1])
            path = push_manifest(port, {})
            results["distribution"] = manifest_rates(port, path, {}, total, rounds)
        answer = subprocess.run(["docker-registry", "--version"], capture_output=True, text=True, check=False)
        results["docker-registry version"] = answer.stdout.strip()
    return results


def _endpoint_client(port: int) -> Any:
    """A boto3 client of the serve subprocess, used while no fake is active in this process."""
    import boto3

    return boto3.client(
        "ecr",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="bench-secret-access-key",
    )


def rate(results: dict[str, Any], kind: str, connections: int) -> float:
    return float(results["requests"] / results[kind][str(connections)]["median"])


def rows(results: dict[str, Any]) -> list[list[str]]:
    """Throughput table rows: requests/s by connection count."""
    out = []
    for n in CONNECTIONS:
        theirs = rate(results, "distribution", n) if "distribution" in results else None
        ours = rate(results, "manifest", n)
        out.append(
            [
                str(n),
                f"{rate(results, 'api', n):,.0f}",
                f"{ours:,.0f}",
                f"{theirs:,.0f}" if theirs else "-",
                f"{ours / theirs:.2f}" if theirs else "-",
                ("within" if ours / theirs >= MANIFEST_TARGET else "NOT within") if theirs else "-",
            ]
        )
    return out


HEADERS = [
    "connections",
    "DescribeRepositories/s",
    "manifest GETs/s",
    "docker-registry GETs/s",
    "ratio",
    f"target >= {MANIFEST_TARGET:g}",
]


def api_ratio(results: dict[str, Any]) -> float:
    return float(results["boto3"]["server"]["median"] / results["boto3"]["in_process"]["median"])


def api_sentence(results: dict[str, Any]) -> str:
    ratio = api_ratio(results)
    return (
        f"boto3 DescribeRepositories: {_common.ms(results['boto3']['in_process']['median'])} ms in-process, "
        f"{_common.ms(results['boto3']['server']['median'])} ms through the server: {ratio:.2f}x "
        f"({'within' if ratio <= API_TARGET else 'NOT within'} the target of at most {API_TARGET:g}x)"
    )


def render(results: dict[str, Any]) -> str:
    title = f"Small requests: {results['requests']} per measurement, {results['rounds']} rounds"
    lines = [title, "", _common.table(HEADERS, rows(results)), "", api_sentence(results)]
    lines.append(results.get("docker-registry version") or results.get("distribution_skipped", ""))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    _common.main(__doc__, run, render, argv)


if __name__ == "__main__":
    main()
