"""Server mode, the OCI Distribution API (``/v2/...``) over real HTTP with stdlib clients."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from http.client import HTTPConnection, HTTPResponse
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, SCHEMA1, sha256
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
REPO = "team/app"
CHALLENGE = 'Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"'


class Registry:
    """A tiny OCI client on one keep-alive connection."""

    def __init__(self, server: EcrServer, token: str | None) -> None:
        self.conn = HTTPConnection(server.registry, timeout=10)
        self.token = token

    def send(
        self, method: str, path: str, body: bytes | str | None = None, **headers: str
    ) -> tuple[HTTPResponse, bytes]:
        all_headers = {k.replace("_", "-"): v for k, v in headers.items()}
        if self.token is not None:
            all_headers.setdefault("Authorization", f"Basic {self.token}")
        self.conn.request(method, path, body=body, headers=all_headers)
        answer = self.conn.getresponse()
        return answer, answer.read()

    def error(
        self, method: str, path: str, body: bytes | str | None = None, **headers: str
    ) -> tuple[int, str]:
        answer, data = self.send(method, path, body, **headers)
        return answer.status, json.loads(data)["errors"][0]["code"]

    def push_blob(self, data: bytes, repo: str = REPO) -> dict[str, Any]:
        answer, _ = self.send("POST", f"/v2/{repo}/blobs/uploads/?digest={sha256(data)}", data)
        assert answer.status == 201, answer.status
        return {"mediaType": OCI_LAYER, "digest": sha256(data), "size": len(data)}

    def push_image(self, tag: str, label: str = "x", repo: str = REPO, **extra: Any) -> tuple[str, str]:
        config = {**self.push_blob(json.dumps({"label": label}).encode(), repo), "mediaType": OCI_CONFIG}
        layer = self.push_blob(f"layer of {label}".encode(), repo)
        manifest = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer], **extra}
        )
        answer, _ = self.send("PUT", f"/v2/{repo}/manifests/{tag}", manifest, Content_Type=OCI_MANIFEST)
        assert answer.status == 201, answer.status
        assert answer.getheader("Docker-Content-Digest") == sha256(manifest)
        return sha256(manifest), manifest


@pytest.fixture
def registry(ecr: FakeECR, ecr_server: EcrServer) -> Iterator[Registry]:
    ecr.create_repository(REPO)
    client = Registry(ecr_server, base64.b64encode(f"AWS:{ecr_server.password}".encode()).decode())
    yield client
    client.conn.close()


@pytest.fixture
def anonymous(ecr_server: EcrServer) -> Iterator[Registry]:
    client = Registry(ecr_server, None)
    yield client
    client.conn.close()


# -- auth -----------------------------------------------------------------------------------------


def test_base_answers_the_basic_challenge(
    registry: Registry, anonymous: Registry, ecr_server: EcrServer
) -> None:
    answer, body = anonymous.send("GET", "/v2/")
    assert answer.status == 401
    assert answer.getheader("WWW-Authenticate") == CHALLENGE
    assert json.loads(body)["errors"][0]["code"] == "UNAUTHORIZED"
    answer, body = registry.send("GET", "/v2/")
    assert (answer.status, body) == (200, b"{}")
    wrong = Registry(ecr_server, base64.b64encode(b"AWS:not-a-password").decode())
    assert wrong.error("GET", "/v2/") == (401, "UNAUTHORIZED")
    assert wrong.error("GET", "/v2/", Authorization="Bearer abc") == (401, "UNAUTHORIZED")
    wrong.conn.close()


def test_token_expires_after_twelve_hours(ecr: FakeECR, ecr_server: EcrServer, registry: Registry) -> None:
    ecr.clock.freeze()  # before the token is issued: a freeze starts on a whole millisecond
    registry.token = base64.b64encode(f"AWS:{ecr_server.login()[1]}".encode()).decode()
    assert registry.send("GET", f"/v2/{REPO}/tags/list")[0].status == 200
    ecr.clock.advance(12 * 3600 - 1)
    assert registry.send("GET", f"/v2/{REPO}/tags/list")[0].status == 200
    ecr.clock.advance(1)
    assert registry.error("GET", f"/v2/{REPO}/tags/list") == (401, "UNAUTHORIZED")


def test_token_is_scoped_to_its_account(ecr: FakeECR, ecr_server: EcrServer) -> None:
    other = "210987654321"
    ecr.create_repository("only-other", account=other)
    ecr.create_repository("only-default")
    _, password = ecr_server.login(account=other)
    client = Registry(ecr_server, base64.b64encode(f"AWS:{password}".encode()).decode())
    assert json.loads(client.send("GET", "/v2/_catalog")[1]) == {"repositories": ["only-other"]}
    assert client.error("GET", "/v2/only-default/tags/list") == (404, "NAME_UNKNOWN")
    client.conn.close()


def test_unauthorized_push_drains_the_body(registry: Registry, anonymous: Registry) -> None:
    # oras-py's first PUT carries a body and no credentials; the connection must stay usable.
    anonymous.conn.request("PUT", f"/v2/{REPO}/manifests/v1", body=b"x" * 100_000)
    answer = anonymous.conn.getresponse()
    answer.read()
    assert answer.status == 401
    anonymous.token = registry.token
    assert anonymous.send("GET", "/v2/")[0].status == 200


# -- push and pull --------------------------------------------------------------------------------


def test_pushed_over_http_visible_through_boto3(ecr: FakeECR, registry: Registry) -> None:
    digest, _ = registry.push_image("v1")
    details = ecr.client().describe_images(repositoryName=REPO)["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in details] == [(digest, ["v1"])]
    assert details[0]["imageManifestMediaType"] == OCI_MANIFEST


def test_put_through_boto3_pullable_over_http(ecr: FakeECR, registry: Registry) -> None:
    pushed = ecr.push_image(REPO, "v1")
    for reference in ("v1", pushed.digest):
        answer, body = registry.send("GET", f"/v2/{REPO}/manifests/{reference}", Accept=OCI_MANIFEST)
        assert answer.status == 200
        assert body.decode() == pushed.manifest
        assert answer.getheader("Docker-Content-Digest") == pushed.digest == sha256(body)
        assert answer.getheader("Content-Type") == OCI_MANIFEST
    answer, body = registry.send("HEAD", f"/v2/{REPO}/manifests/v1")
    assert (answer.status, body, answer.getheader("Content-Length")) == (200, b"", str(len(pushed.manifest)))


def test_accept_negotiation_by_tag_not_by_digest(ecr: FakeECR, registry: Registry) -> None:
    pushed = ecr.push_image(REPO, "v1")
    # An OCI image has no schema 1 conversion (user guide, image-manifest-formats); more in test_conversion.py
    assert registry.error("GET", f"/v2/{REPO}/manifests/v1", Accept=SCHEMA1) == (404, "MANIFEST_UNKNOWN")
    answer, _ = registry.send("GET", f"/v2/{REPO}/manifests/{pushed.digest}", Accept=SCHEMA1)
    assert answer.status == 200
    answer, _ = registry.send("GET", f"/v2/{REPO}/manifests/v1", Accept=f"{DOCKER_V2}, {OCI_MANIFEST};q=0.5")
    assert answer.status == 200


def test_repeated_accept_headers_are_joined(ecr: FakeECR, registry: Registry) -> None:
    # Go clients (skopeo, containerd) send one Accept line per media type
    ecr.push_image(REPO, "v1")
    conn = registry.conn
    conn.putrequest("GET", f"/v2/{REPO}/manifests/v1")
    conn.putheader("Authorization", f"Basic {registry.token}")
    for media_type in (DOCKER_V2, OCI_MANIFEST, OCI_INDEX):
        conn.putheader("Accept", media_type)
    conn.endheaders()
    answer = conn.getresponse()
    answer.read()
    assert (answer.status, answer.getheader("Content-Type")) == (200, OCI_MANIFEST)


def test_blob_redirects_to_another_host_that_rejects_authorization(ecr: FakeECR, registry: Registry) -> None:
    registry.push_image("v1")
    data = b"layer of x"
    answer, _ = registry.send("HEAD", f"/v2/{REPO}/blobs/{sha256(data)}")
    assert (answer.status, answer.getheader("Content-Length")) == (200, str(len(data)))
    answer, _ = registry.send("GET", f"/v2/{REPO}/blobs/{sha256(data)}")
    assert answer.status == 307
    assert answer.getheader("Docker-Content-Digest") == sha256(data)
    location = urlsplit(answer.getheader("Location") or "")
    assert location.hostname == "localhost"
    assert location.port == registry.conn.port
    # the same URL GetDownloadUrlForLayer gives, moved onto the blob host
    s3 = urlsplit(
        ecr.client().get_download_url_for_layer(repositoryName=REPO, layerDigest=sha256(data))["downloadUrl"]
    )
    assert location.path == f"/{s3.hostname}{s3.path}"
    blob_host = HTTPConnection(location.netloc, timeout=5)
    blob_host.request("GET", f"{location.path}?{location.query}")
    download = blob_host.getresponse()
    assert (download.status, download.read()) == (200, data)
    blob_host.request(
        "GET", f"{location.path}?{location.query}", headers={"Authorization": registry.token or ""}
    )
    rejected = blob_host.getresponse()
    assert rejected.status == 400
    assert b"<Code>InvalidArgument</Code><Message>Only one auth mechanism allowed" in rejected.read()
    blob_host.request(
        "GET", f"{location.path}?{location.query.replace('X-Amz-Expires=3600', 'X-Amz-Expires=9999')}"
    )
    forged = blob_host.getresponse()
    assert (forged.status, b"AccessDenied" in forged.read()) == (403, True)
    blob_host.close()


def test_repository_names_with_slashes_route_by_the_last_marker(ecr: FakeECR, registry: Registry) -> None:
    name = "a/manifests/b/blobs/c"
    ecr.create_repository(name)
    digest, _ = registry.push_image("v1", repo=name)
    assert registry.send("GET", f"/v2/{name}/manifests/v1")[0].status == 200
    assert json.loads(registry.send("GET", f"/v2/{name}/tags/list")[1]) == {"name": name, "tags": ["v1"]}
    assert ecr.repository(name).tag_index == {"v1": digest}
    # a tag may be a route word; a session opens without the trailing slash too
    registry.push_image("tags", repo=name)
    assert registry.send("GET", f"/v2/{name}/manifests/tags")[0].status == 200
    assert registry.send("POST", f"/v2/{name}/blobs/uploads")[0].status == 202


def test_delete_manifest_by_tag_and_digest(ecr: FakeECR, registry: Registry) -> None:
    digest, _ = registry.push_image("v1")
    registry.push_image("v2", label="y")
    assert registry.send("DELETE", f"/v2/{REPO}/manifests/v1")[0].status == 202
    assert digest not in ecr.repository(REPO).images
    assert registry.send("DELETE", f"/v2/{REPO}/manifests/v2")[0].status == 202
    assert registry.error("DELETE", f"/v2/{REPO}/manifests/{digest}") == (404, "MANIFEST_UNKNOWN")


def test_immutable_tag_and_repush(ecr: FakeECR, registry: Registry) -> None:
    ecr.create_repository("frozen", imageTagMutability="IMMUTABLE")
    digest, manifest = registry.push_image("v1", repo="frozen")
    # pushing the very same manifest and tag again succeeds, as clients expect
    answer, _ = registry.send("PUT", "/v2/frozen/manifests/v1", manifest, Content_Type=OCI_MANIFEST)
    assert (answer.status, answer.getheader("Docker-Content-Digest")) == (201, digest)
    registry.push_blob(b"layer of y", "frozen")
    registry.push_blob(json.dumps({"label": "y"}).encode(), "frozen")
    other = manifest.replace(sha256(b"layer of x"), sha256(b"layer of y"))
    status, body = registry.send("PUT", "/v2/frozen/manifests/v1", other, Content_Type=OCI_MANIFEST)
    assert status.status == 400
    error = json.loads(body)["errors"][0]
    assert error["code"] == "TAG_INVALID"
    assert "cannot be overwritten because the repository is immutable" in error["message"]


def test_manifest_errors(ecr: FakeECR, registry: Registry) -> None:
    assert registry.error("GET", "/v2/missing/manifests/v1") == (404, "NAME_UNKNOWN")
    assert registry.error("GET", "/v2/UPPER/manifests/v1") == (400, "NAME_INVALID")
    assert registry.error("GET", f"/v2/{REPO}/manifests/v1") == (404, "MANIFEST_UNKNOWN")
    assert registry.error("GET", f"/v2/{REPO}/manifests/sha256:zz") == (400, "DIGEST_INVALID")
    assert registry.error("PUT", f"/v2/{REPO}/manifests/bad%tag", "{}") == (400, "TAG_INVALID")
    no_type = json.dumps({"schemaVersion": 2, "config": {}, "layers": []})
    answer, body = registry.send("PUT", f"/v2/{REPO}/manifests/v1", no_type)
    assert answer.status == 405
    assert json.loads(body)["errors"][0] == {
        "code": "UNSUPPORTED",
        "message": "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
        "detail": None,
    }
    digest, manifest = registry.push_image("v1")
    wrong = "sha256:" + "0" * 64
    assert registry.error("PUT", f"/v2/{REPO}/manifests/{wrong}", manifest, Content_Type=OCI_MANIFEST) == (
        400,
        "DIGEST_INVALID",
    )
    missing_layer = manifest.replace(sha256(b"layer of x"), wrong)
    assert registry.error("PUT", f"/v2/{REPO}/manifests/v2", missing_layer, Content_Type=OCI_MANIFEST) == (
        400,
        "MANIFEST_BLOB_UNKNOWN",
    )
    huge = manifest[:-1] + ', "pad": "' + "x" * (4 * 1024 * 1024) + '"}'
    assert registry.error("PUT", f"/v2/{REPO}/manifests/v3", huge, Content_Type=OCI_MANIFEST) == (
        400,
        "SIZE_INVALID",
    )
    assert list(ecr.repository(REPO).images) == [digest]
    assert registry.error("DELETE", f"/v2/{REPO}/blobs/{sha256(b'layer of x')}") == (405, "UNSUPPORTED")
    assert registry.error("GET", f"/v2/{REPO}/blobs/{wrong}") == (404, "BLOB_UNKNOWN")


# -- uploads --------------------------------------------------------------------------------------


def test_chunked_upload(ecr: FakeECR, registry: Registry) -> None:
    data = b"0123456789abcdef"
    answer, _ = registry.send("POST", f"/v2/{REPO}/blobs/uploads/")
    assert answer.status == 202
    location = answer.getheader("Location") or ""
    uuid = answer.getheader("Docker-Upload-UUID")
    assert location == f"/v2/{REPO}/blobs/uploads/{uuid}"
    assert answer.getheader("Range") == "0-0"
    answer, _ = registry.send("PATCH", location, data[:6], Content_Range="0-5")
    assert (answer.status, answer.getheader("Range")) == (202, "0-5")
    # an out-of-order chunk: 416, and the upload keeps what it had
    answer, body = registry.send("PATCH", location, data[8:], Content_Range="8-15")
    assert (answer.status, answer.getheader("Range")) == (416, "0-5")
    assert json.loads(body)["errors"][0]["code"] == "RANGE_INVALID"
    answer, _ = registry.send("PATCH", location, data[6:])  # streamed: no Content-Range
    assert (answer.status, answer.getheader("Range")) == (202, "0-15")
    answer, _ = registry.send("GET", location)
    assert (answer.status, answer.getheader("Range"), answer.getheader("Docker-Upload-UUID")) == (
        204,
        "0-15",
        uuid,
    )
    answer, _ = registry.send("PUT", f"{location}?digest={sha256(data)}")
    assert answer.status == 201
    assert answer.getheader("Location") == f"/v2/{REPO}/blobs/{sha256(data)}"
    assert ecr.repository(REPO).blobs[sha256(data)].content == data
    assert registry.error("GET", location) == (404, "BLOB_UPLOAD_UNKNOWN")


def test_monolithic_post_then_put_and_digest_mismatch(ecr: FakeECR, registry: Registry) -> None:
    answer, _ = registry.send("POST", f"/v2/{REPO}/blobs/uploads/")
    location = answer.getheader("Location") or ""
    wrong = sha256(b"something else")
    assert registry.error("PUT", f"{location}?digest={wrong}", b"data") == (400, "DIGEST_INVALID")
    assert ecr.repository(REPO).blobs == {}
    assert ecr.repository(REPO).uploads == {}
    assert registry.error("POST", f"/v2/{REPO}/blobs/uploads/?digest={wrong}", b"data") == (
        400,
        "DIGEST_INVALID",
    )
    assert registry.error("PUT", f"{location}?digest=nope", b"data") == (400, "DIGEST_INVALID")
    assert ecr.repository(REPO).blobs == {}
    answer, _ = registry.send("POST", f"/v2/{REPO}/blobs/uploads/")
    location = answer.getheader("Location") or ""
    assert registry.send("PUT", f"{location}?digest={sha256(b'data')}", b"data")[0].status == 201
    assert list(ecr.repository(REPO).blobs) == [sha256(b"data")]


def test_cancel_upload(ecr: FakeECR, registry: Registry) -> None:
    answer, _ = registry.send("POST", f"/v2/{REPO}/blobs/uploads/")
    location = answer.getheader("Location") or ""
    registry.send("PATCH", location, b"abc")
    assert registry.send("DELETE", location)[0].status == 204
    assert ecr.repository(REPO).uploads == {}
    assert registry.error("DELETE", location) == (404, "BLOB_UPLOAD_UNKNOWN")
    assert registry.error("PATCH", location, b"abc") == (404, "BLOB_UPLOAD_UNKNOWN")


def test_interrupted_upload_leaves_nothing(ecr: FakeECR, ecr_server: EcrServer, registry: Registry) -> None:
    data = b"z" * 1000
    with socket.create_connection(("127.0.0.1", ecr_server.port), timeout=5) as sock:
        sock.sendall(
            f"POST /v2/{REPO}/blobs/uploads/?digest={sha256(data)} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Basic {registry.token}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data[:500]
        )
    assert registry.send("GET", "/v2/")[0].status == 200  # and the server still answers
    assert ecr.repository(REPO).blobs == {}
    assert ecr.repository(REPO).uploads == {}


def test_cross_repository_mount_needs_blob_mounting(ecr: FakeECR, registry: Registry) -> None:
    ecr.create_repository("other")
    digest = registry.push_blob(b"shared")["digest"]
    path = f"/v2/other/blobs/uploads/?mount={digest}&from={REPO}"
    answer, _ = registry.send("POST", path)
    assert answer.status == 202  # falls back to an upload session
    assert digest not in ecr.repository("other").blobs
    ecr.client().put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    answer, _ = registry.send("POST", path)
    assert (answer.status, answer.getheader("Location")) == (201, f"/v2/other/blobs/{digest}")
    assert ecr.repository("other").blobs[digest].content == b"shared"
    # anonymous mount (no `from`) is not supported: a normal session
    assert registry.send("POST", f"/v2/other/blobs/uploads/?mount={digest}")[0].status == 202


# -- listing --------------------------------------------------------------------------------------


def test_tags_list_pagination(ecr: FakeECR, registry: Registry) -> None:
    ecr.push_images(REPO, 5, tag="t{n}")
    answer, body = registry.send("GET", f"/v2/{REPO}/tags/list?n=2")
    assert json.loads(body)["tags"] == ["t0", "t1"]
    assert answer.getheader("Link") == f'</v2/{REPO}/tags/list?n=2&last=t1>; rel="next"'
    answer, body = registry.send("GET", f"/v2/{REPO}/tags/list?n=2&last=t3")
    assert json.loads(body)["tags"] == ["t4"]
    assert answer.getheader("Link") is None
    answer, body = registry.send("GET", f"/v2/{REPO}/tags/list")
    assert json.loads(body) == {"name": REPO, "tags": ["t0", "t1", "t2", "t3", "t4"]}
    answer, body = registry.send("GET", f"/v2/{REPO}/tags/list?n=1001")
    assert answer.status == 400
    assert "Member must have value less than or equal to 1000" in json.loads(body)["errors"][0]["message"]


def test_catalog_pagination(ecr: FakeECR, registry: Registry) -> None:
    for name in ("zeta", "alpha", "mid/x"):
        ecr.create_repository(name)
    answer, body = registry.send("GET", "/v2/_catalog?n=3")
    assert json.loads(body) == {"repositories": ["alpha", "mid/x", REPO]}
    assert answer.getheader("Link") == '</v2/_catalog?n=3&last=team%2Fapp>; rel="next"'
    assert json.loads(registry.send("GET", "/v2/_catalog?n=3&last=team%2Fapp")[1]) == {
        "repositories": ["zeta"]
    }


def test_referrers(ecr: FakeECR, registry: Registry) -> None:
    subject, manifest = registry.push_image("v1")
    descriptor = {"mediaType": OCI_MANIFEST, "digest": subject, "size": len(manifest)}
    empty = {**registry.push_blob(b"{}"), "mediaType": "application/vnd.oci.empty.v1+json"}
    sig = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/example.sig",
            "config": empty,
            "layers": [registry.push_blob(b"signature")],
            "subject": descriptor,
        }
    )
    answer, _ = registry.send("PUT", f"/v2/{REPO}/manifests/{sha256(sig)}", sig, Content_Type=OCI_MANIFEST)
    assert (answer.status, answer.getheader("OCI-Subject")) == (201, subject)
    ecr.push_artifact(REPO, subject, "application/example.sbom")
    answer, body = registry.send("GET", f"/v2/{REPO}/referrers/{subject}")
    assert answer.getheader("Content-Type") == OCI_INDEX
    index = json.loads(body)
    assert index["mediaType"] == OCI_INDEX
    assert [m["artifactType"] for m in index["manifests"]] == [
        "application/example.sig",
        "application/example.sbom",
    ]
    assert index["manifests"][0] == {
        "mediaType": OCI_MANIFEST,
        "digest": sha256(sig),
        "size": len(sig),
        "artifactType": "application/example.sig",
    }
    answer, body = registry.send(
        "GET", f"/v2/{REPO}/referrers/{subject}?artifactType=application/example.sbom"
    )
    assert answer.getheader("OCI-Filters-Applied") == "artifactType"
    assert [m["artifactType"] for m in json.loads(body)["manifests"]] == ["application/example.sbom"]
    assert registry.error("GET", f"/v2/{REPO}/referrers/not-a-digest") == (400, "DIGEST_INVALID")


# -- robustness -----------------------------------------------------------------------------------


def test_tls_client_hello_gets_a_plain_answer(ecr_server: EcrServer, registry: Registry) -> None:
    hello = bytes.fromhex("16030100a5010000a10303") + b"\x00" * 64
    with socket.create_connection(("127.0.0.1", ecr_server.port), timeout=5) as sock:
        sock.sendall(hello)
        assert sock.recv(100).startswith(b"HTTP/1.0 400 Bad Request")
    assert registry.send("GET", "/v2/")[0].status == 200


_METHODS = st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "BREW", "G ET"])
_SEGMENTS = st.sampled_from(
    [
        "v2",
        "team",
        "app",
        "manifests",
        "blobs",
        "uploads",
        "tags",
        "list",
        "referrers",
        "_catalog",
        "sha256:ab",
        "sha256:" + "0" * 64,
        "v1",
        "..",
        "%00",
        "?n=x",
        "?last=",
        "?digest=sha256:1",
        "?mount=a&from=b",
        "",
        "prod-x",
    ]
)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=_METHODS,
    segments=st.lists(_SEGMENTS, max_size=7),
    body=st.binary(max_size=64),
    headers=st.dictionaries(
        st.sampled_from(
            ["Content-Range", "Accept", "Content-Type", "Authorization", "Transfer-Encoding", "X-Amz-Target"]
        ),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
        max_size=3,
    ),
    authorized=st.booleans(),
)
def test_malformed_requests_never_crash_the_server(
    ecr_server: EcrServer,
    registry: Registry,
    method: str,
    segments: list[str],
    body: bytes,
    headers: dict[str, str],
    authorized: bool,
) -> None:
    path = "/" + "/".join(segments)
    if authorized and "Authorization" not in headers:
        headers["Authorization"] = f"Basic {registry.token}"
    with socket.create_connection(("127.0.0.1", ecr_server.port), timeout=5) as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "Connection: close\r\n\r\n"
        sock.sendall(head.encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1."), answer[:100]
    status = int(answer.split()[1])
    assert status != 500, answer
    assert ecr_server.errors == []


def test_chunked_transfer_encoding_body(ecr: FakeECR, registry: Registry) -> None:
    # containerd and docker stream a PATCH body with Transfer-Encoding: chunked
    answer, _ = registry.send("POST", f"/v2/{REPO}/blobs/uploads/")
    location = answer.getheader("Location") or ""
    registry.conn.request(
        "PATCH",
        location,
        body=iter([b"hello ", b"chunked ", b"world"]),
        headers={"Authorization": f"Basic {registry.token}"},
        encode_chunked=True,
    )
    answer = registry.conn.getresponse()
    answer.read()
    assert (answer.status, answer.getheader("Range")) == (202, "0-18")
    data = b"hello chunked world"
    assert registry.send("PUT", f"{location}?digest={sha256(data)}")[0].status == 201
    assert ecr.repository(REPO).blobs[sha256(data)].content == data


def test_concurrent_pushes_share_one_consistent_state(
    ecr: FakeECR, ecr_server: EcrServer, registry: Registry
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def push(n: int) -> str:
        client = Registry(ecr_server, registry.token)
        try:
            return client.push_image(f"v{n}", label=f"image {n}")[0]
        finally:
            client.conn.close()

    with ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(push, range(16)))
    assert len(set(digests)) == 16
    assert ecr.repository(REPO).tag_index == {f"v{n}": d for n, d in enumerate(digests)}
    assert len(ecr.client().list_images(repositoryName=REPO)["imageIds"]) == 16


def test_registry_pulls_act_as_the_principal_the_token_was_issued_to(
    ecr: FakeECR, ecr_server: EcrServer, registry: Registry
) -> None:
    scanner = "arn:aws:iam::123456789012:role/scanner"
    # the registry fixture made REPO
    pushed = ecr.push_image(REPO, "v1")
    ecr.client().register_pull_time_update_exclusion(principalArn=scanner)
    token = ecr.client(principal=scanner).get_authorization_token()["authorizationData"][0][
        "authorizationToken"
    ]
    as_scanner = Registry(ecr_server, token)

    answer, _ = as_scanner.send("GET", f"/v2/{REPO}/manifests/v1", Accept=OCI_MANIFEST)
    as_scanner.conn.close()

    assert answer.status == 200
    assert ecr.repository(REPO).images[pushed.digest].last_pulled_at is None  # an excluded principal
    assert registry.send("GET", f"/v2/{REPO}/manifests/v1", Accept=OCI_MANIFEST)[0].status == 200
    assert ecr.repository(REPO).images[pushed.digest].last_pulled_at is not None


def test_a_replica_is_pullable_from_the_destination_registry_once_due(
    ecr: FakeECR, ecr_server: EcrServer
) -> None:
    """Replications the clock has reached land before a registry request is served, as before an
    API request: no API call needs to come first."""
    ecr.client().put_replication_configuration(
        replicationConfiguration={
            "rules": [{"destinations": [{"region": "eu-west-1", "registryId": ecr.account_id}]}]
        }
    )
    ecr.create_repository("replicated")
    pushed = ecr.push_image("replicated", "v1")
    _, password = ecr_server.login(region="eu-west-1")
    europe = Registry(ecr_server, base64.b64encode(f"AWS:{password}".encode()).decode())

    early, _ = europe.send("GET", "/v2/replicated/manifests/v1", Accept=OCI_MANIFEST)
    ecr.clock.advance(ecr.options.replication_seconds)
    due, _ = europe.send("GET", "/v2/replicated/manifests/v1", Accept=OCI_MANIFEST)
    europe.conn.close()

    assert early.status == 404
    assert due.status == 200
    assert due.getheader("Docker-Content-Digest") == pushed.digest
