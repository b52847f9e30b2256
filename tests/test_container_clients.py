"""Real container clients against server mode over TLS with the run's CA (issue 20, item 6):
podman and buildah each push a single image and a multi-arch index that the other pulls;
containerd's ``ctr`` pulls and unpacks an image (resuming a cut layer download with ``Range``) and
fetches an index; skopeo copies; podman and ``docker`` log in. Pushes and pulls address the
registry by different loopback names.

The clients come from Debian (``apt-get install podman buildah containerd skopeo``, which
``.ci/run`` does; the docker CLI is not installed there); each test skips, saying so, without its client. podman and buildah run as
root here with the vfs storage driver in a per-test storage root (no overlay mounts in this
sandbox, and nothing left in /var/lib/containers); ``--cert-dir`` points them at the
``certs.d/<host:port>/ca.crt`` directory the ``ecr_server`` fixture writes.

Names: these Go clients (Debian 12) resolve names through /etc/hosts and DNS only, so they reach
``<account>.dkr.ecr.<region>.localhost`` only where the system resolver does (checked and skipped
otherwise); Docker's reference grammar in these versions refuses ``[::1]:PORT``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import make_layout

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer, blobs
from pytest_ecr.server import http as server_http
from pytest_ecr.server.messages import Reply

pytest.importorskip("trustme", reason="TLS needs trustme (pip install 'pytest-ecr[tls]')")
pytestmark = pytest.mark.ecr_server(tls=True)
REPO = "team/app"
TIMEOUT = 120


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: apt-get install {name}; .ci/run installs it)")
    return path


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, f"{' '.join(args[:3])} failed ({result.returncode}):\n{result.stderr}"
    return result.stdout


def images(ecr: FakeECR) -> dict[str, list[str]]:
    details = ecr.client().describe_images(repositoryName=REPO)["imageDetails"]
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}


def storage_options(home: Path, name: str) -> list[str]:
    return ["--root", f"{home}/{name}", "--runroot", f"{home}/{name}-run", "--storage-driver", "vfs"]


@pytest.fixture
def short_home() -> Iterator[Path]:
    """A short directory of this test's own (podman refuses a runroot over 50 characters, and a
    unix socket path must fit in 108 bytes)."""
    home = Path(tempfile.mkdtemp(prefix="ecr-", dir="/tmp"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def storage(short_home: Path) -> list[str]:
    """podman/buildah options for a storage of this test's own."""
    return storage_options(short_home, "a")


def tls_options(server: EcrServer, host: str) -> list[str]:
    return ["--cert-dir", f"{server.certs_dir}/{host}", "--creds", f"{server.username}:{server.password}"]


def build(buildah: str, storage: list[str], tmp_path: Path, arch: str) -> str:
    """A one-file image for ``arch`` from scratch, committed locally; its local name."""
    container = run(buildah, *storage, "from", "--arch", arch, "scratch").strip()
    content = tmp_path / f"{arch}.txt"
    content.write_text(f"built for {arch}\n")
    run(buildah, *storage, "copy", container, str(content), "/")
    run(buildah, *storage, "commit", "--quiet", container, f"local/{arch}")
    return f"localhost/local/{arch}"


#: (the tool that pushes, the tool that pulls): each of podman and buildah does both
PUSH_PULL = [("buildah", "podman"), ("podman", "buildah")]


def pushed_to(ecr: FakeECR, tag: str) -> Any:
    """The manifest (or index) stored under ``tag``, parsed."""
    [image] = ecr.client().batch_get_image(repositoryName=REPO, imageIds=[{"imageTag": tag}])["images"]
    return json.loads(image["imageManifest"])


@pytest.mark.parametrize(("pusher", "puller"), PUSH_PULL)
def test_an_image_pushed_by_one_tool_is_pulled_by_the_other(
    ecr: FakeECR,
    ecr_server: EcrServer,
    storage: list[str],
    short_home: Path,
    tmp_path: Path,
    pusher: str,
    puller: str,
) -> None:
    push_tool, pull_tool, podman = tool(pusher), tool(puller), tool("podman")
    ecr.create_repository(REPO)
    local = build(tool("buildah"), storage, tmp_path, "amd64")
    pushed = f"localhost:{ecr_server.port}/{REPO}:v1"
    run(
        push_tool,
        *storage,
        "push",
        *tls_options(ecr_server, f"localhost:{ecr_server.port}"),
        local,
        f"docker://{pushed}",
    )
    [(digest, tags)] = images(ecr).items()
    assert tags == ["v1"]
    # pulled back by the other loopback name, into a fresh storage
    pull_storage = storage_options(short_home, "b")
    pulled = f"127.0.0.1:{ecr_server.port}/{REPO}:v1"
    run(
        pull_tool,
        *pull_storage,
        "pull",
        "--quiet",
        *tls_options(ecr_server, f"127.0.0.1:{ecr_server.port}"),
        pulled,
    )
    # podman reads the storage either tool pulled into
    inspected = json.loads(run(podman, *pull_storage, "image", "inspect", pulled))[0]
    assert inspected["Digest"] == digest
    assert ecr_server.errors == []


@pytest.mark.parametrize(("pusher", "puller"), PUSH_PULL)
def test_a_multi_arch_index_pushed_by_one_tool_is_pulled_per_platform_by_the_other(
    ecr: FakeECR,
    ecr_server: EcrServer,
    storage: list[str],
    short_home: Path,
    tmp_path: Path,
    pusher: str,
    puller: str,
) -> None:
    push_tool, pull_tool, podman = tool(pusher), tool(puller), tool("podman")
    ecr.create_repository(REPO)
    run(push_tool, *storage, "manifest", "create", "local/multi")
    for arch in ("amd64", "arm64"):
        local = build(tool("buildah"), storage, tmp_path, arch)
        run(push_tool, *storage, "manifest", "add", "local/multi", f"containers-storage:{local}")
    host = f"localhost:{ecr_server.port}"
    run(
        push_tool, *storage, "manifest", "push", "--all", *tls_options(ecr_server, host),
        "local/multi", f"docker://{host}/{REPO}:multi",
    )  # fmt: skip
    stored = images(ecr)
    assert sorted(stored.values()) == [[], [], ["multi"]]  # the index and its two platform images
    index = pushed_to(ecr, "multi")
    platforms = [m["platform"]["architecture"] for m in index["manifests"]]
    assert sorted(platforms) == ["amd64", "arm64"]
    pull_storage = storage_options(short_home, "b")
    ref = f"127.0.0.1:{ecr_server.port}/{REPO}:multi"
    run(
        pull_tool,
        *pull_storage,
        "pull",
        "--quiet",
        "--arch",
        "arm64",
        *tls_options(ecr_server, ref.split("/")[0]),
        ref,
    )
    inspected = json.loads(run(podman, *pull_storage, "image", "inspect", ref))[0]
    assert inspected["Architecture"] == "arm64"


def refused(*args: str, env: dict[str, str] | None = None) -> str:
    """The stderr of a command that must fail."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False, env=env)
    assert result.returncode != 0, f"{' '.join(args[:3])} succeeded:\n{result.stdout}"
    return result.stderr


def test_podman_logs_in_then_pulls_with_the_stored_credentials(
    ecr: FakeECR, ecr_server: EcrServer, storage: list[str], short_home: Path, tmp_path: Path
) -> None:
    podman, buildah = tool("podman"), tool("buildah")
    ecr.create_repository(REPO)
    host = f"localhost:{ecr_server.port}"
    run(buildah, *storage, "push", *tls_options(ecr_server, host), build(buildah, storage, tmp_path, "amd64"),
        f"docker://{host}/{REPO}:v1")  # fmt: skip
    auth_file, cert_dir = str(tmp_path / "auth.json"), f"{ecr_server.certs_dir}/{host}"
    login = [podman, "login", "--authfile", auth_file, "--cert-dir", cert_dir]
    assert "invalid username/password" in refused(*login, "-u", "AWS", "-p", "not-the-password", host)
    run(*login, "-u", "AWS", "-p", ecr_server.password, host)
    assert list(json.loads(Path(auth_file).read_text())["auths"]) == [host]
    # no --creds: the pull authenticates with what login stored (a 401 would fail it)
    pull = ["pull", "--quiet", "--authfile", auth_file, "--cert-dir", cert_dir, f"{host}/{REPO}:v1"]
    run(podman, *storage_options(short_home, "b"), *pull)


def test_docker_logs_in(ecr_server: EcrServer, tmp_path: Path) -> None:
    """``docker login`` checks the credentials itself (no daemon runs here: pulls and pushes
    are not tested). Docker takes ``localhost`` for an insecure registry: it does not verify the
    certificate there."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker command is not installed (Debian: apt-get install docker.io)")
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path)}
    host = f"localhost:{ecr_server.port}"
    login = [docker, "login", "-u", "AWS", "--password-stdin", host]
    result = subprocess.run(login, input="not-the-password\n", capture_output=True, text=True,
                            timeout=TIMEOUT, check=False, env=env)  # fmt: skip
    assert (result.returncode, "401 Unauthorized" in result.stderr) == (1, True), result.stderr
    result = subprocess.run(login, input=f"{ecr_server.password}\n", capture_output=True, text=True,
                            timeout=TIMEOUT, check=False, env=env)  # fmt: skip
    assert (result.returncode, result.stdout.strip()) == (0, "Login Succeeded"), result.stderr
    stored = json.loads((tmp_path / "config.json").read_text())["auths"][host]["auth"]
    assert base64.b64decode(stored).decode() == f"AWS:{ecr_server.password}"


def skopeo_push(skopeo: str, server: EcrServer, layout: Path, host: str) -> None:
    """Copy the layout's ``multi`` index (and its images) to ``host`` over TLS."""
    run(
        skopeo, "--insecure-policy", "copy", "--all", "--dest-cert-dir", f"{server.certs_dir}/{host}",
        "--dest-creds", f"{server.username}:{server.password}", f"oci:{layout}:multi",
        f"docker://{host}/{REPO}:multi",
    )  # fmt: skip


def test_skopeo_copies_over_tls_with_the_served_ca(
    ecr: FakeECR, ecr_server: EcrServer, tmp_path: Path
) -> None:
    skopeo = tool("skopeo")
    written = make_layout(tmp_path / "layout", {"multi": ["linux/amd64", "linux/arm64"]})
    ecr.create_repository(REPO)
    host = f"localhost:{ecr_server.port}"
    creds = f"{ecr_server.username}:{ecr_server.password}"
    skopeo_push(skopeo, ecr_server, tmp_path / "layout", host)
    assert set(images(ecr)) == set(written)
    # without the CA, skopeo refuses the server's certificate: verification is really on
    refused = subprocess.run(
        [skopeo, "inspect", "--creds", creds, f"docker://{host}/{REPO}:multi"],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "certificate" in refused.stderr
    raw = run(skopeo, "inspect", "--raw", "--cert-dir", f"{ecr_server.certs_dir}/{host}", "--creds", creds,
              f"docker://{host}/{REPO}:multi")  # fmt: skip
    assert raw.encode() in written.values()


@contextlib.contextmanager
def containerd(ctr: str, home: Path) -> Iterator[Path]:
    """A containerd of this test's own (root, state and socket in ``home``), stopped afterwards."""
    daemon = tool("containerd")
    config = home / "config.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{home}/root"\nstate = "{home}/state"\n'
        f'[grpc]\n  address = "{home}/c.sock"\n'
        '[plugins."io.containerd.grpc.v1.cri"]\n  disable = true\n'
    )
    log = (home / "log").open("w")
    process = subprocess.Popen([daemon, "--config", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [ctr, "--address", f"{home}/c.sock", "version"], capture_output=True, timeout=10, check=False
        ).returncode:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"containerd did not start:\n{(home / 'log').read_text()}")
            time.sleep(0.1)
        yield home
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def hosts_dir(server: EcrServer, home: Path, host: str) -> Path:
    """containerd's hosts directory: HTTPS with the run's CA for ``host`` (ctr takes a
    ``localhost`` registry for plain HTTP without one)."""
    folder = home / "hosts" / host
    folder.mkdir(parents=True)
    (folder / "hosts.toml").write_text(
        f'server = "https://{host}"\n[host."https://{host}"]\n  ca = "{server.ca_file}"\n'
    )
    return home / "hosts"


def test_ctr_fetches_a_multi_arch_index_over_tls(
    ecr: FakeECR, ecr_server: EcrServer, tmp_path: Path, short_home: Path
) -> None:
    """``ctr content fetch``: the pull without the unpacking, which the synthetic layout's
    configs (no ``diff_ids``) would fail."""
    ctr, skopeo = tool("ctr"), tool("skopeo")
    written = make_layout(tmp_path / "layout", {"multi": ["linux/amd64", "linux/arm64"]})
    ecr.create_repository(REPO)
    creds = f"{ecr_server.username}:{ecr_server.password}"
    host = f"127.0.0.1:{ecr_server.port}"
    skopeo_push(skopeo, ecr_server, tmp_path / "layout", host)
    pulled = f"localhost:{ecr_server.port}/{REPO}:multi"
    with containerd(ctr, short_home) as home:
        address = ["--address", f"{home}/c.sock", "--namespace", "pytest-ecr"]
        hosts = hosts_dir(ecr_server, home, f"localhost:{ecr_server.port}")
        fetch = ["content", "fetch", "--all-platforms", "--hosts-dir", str(hosts), "--user", creds]
        run(ctr, *address, *fetch, pulled)
        content = {line.split()[0] for line in run(ctr, *address, "content", "ls", "-q").splitlines()}
    # every manifest of the index came down, and every blob (through the blob host's redirect)
    layout_blobs = {f"sha256:{p.name}" for p in (tmp_path / "layout" / "blobs" / "sha256").iterdir()}
    assert set(written) <= layout_blobs
    assert content == layout_blobs


def cut_first_download(monkeypatch: pytest.MonkeyPatch, size: int) -> list[tuple[str | None, int, int]]:
    """Make the first whole download of a ``size``-byte blob a network cut: its answer announces
    every byte, sends half and closes the connection. Returns, as they happen, each blob-host
    answer of that blob: (the request's ``Range``, status, bytes sent)."""
    original = server_http._Handler._send
    seen: list[tuple[str | None, int, int]] = []

    def send(handler: Any, reply: Reply) -> None:
        content_range = reply.headers.get("Content-Range")
        whole = int(content_range.rpartition("/")[2]) if content_range else len(reply.body)
        if not blobs.is_blob_path(handler.path.partition("?")[0]) or whole != size:
            original(handler, reply)
            return
        cut = not seen
        sent = reply.body[: size // 2] if cut else reply.body
        seen.append((handler.headers.get("Range"), reply.status, len(sent)))
        # head_length is the Content-Length sent: the whole blob's, while only half goes out
        original(handler, dataclasses.replace(reply, body=sent, head_length=size) if cut else reply)
        handler.close_connection = handler.close_connection or cut

    monkeypatch.setattr(server_http._Handler, "_send", send)
    return seen


def test_ctr_pulls_an_image_and_resumes_a_cut_layer_download_with_range(
    ecr: FakeECR,
    ecr_server: EcrServer,
    storage: list[str],
    short_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ctr images pull`` (fetched and unpacked by the native snapshotter: no overlay mounts
    here) of a buildah image whose 1 MiB layer download is cut halfway: containerd asks the rest
    with ``Range: bytes=<received>-`` (its fetcher reconnects on an unexpected EOF) and the blob
    host answers 206 with exactly that tail."""
    ctr, buildah = tool("ctr"), tool("buildah")
    ecr.create_repository(REPO)
    payload = random.Random(20).randbytes(1 << 20)  # incompressible: the layer stays about 1 MiB
    (tmp_path / "payload").write_bytes(payload)
    container = run(buildah, *storage, "from", "scratch").strip()
    run(buildah, *storage, "copy", container, str(tmp_path / "payload"), "/")
    run(buildah, *storage, "commit", "--quiet", container, "local/payload")
    host = f"localhost:{ecr_server.port}"
    run(buildah, *storage, "push", *tls_options(ecr_server, host), "localhost/local/payload",
        f"docker://{host}/{REPO}:v1")  # fmt: skip
    [layer] = pushed_to(ecr, "v1")["layers"]
    seen = cut_first_download(monkeypatch, layer["size"])
    creds = f"{ecr_server.username}:{ecr_server.password}"
    with containerd(ctr, short_home) as home:
        address = ["--address", f"{home}/c.sock", "--namespace", "pytest-ecr"]
        hosts = hosts_dir(ecr_server, home, host)
        run(ctr, *address, "images", "pull", "--snapshotter", "native", "--hosts-dir", str(hosts),
            "--user", creds, f"{host}/{REPO}:v1")  # fmt: skip
        unpacked = list((home / "root" / "io.containerd.snapshotter.v1.native").glob("snapshots/*/payload"))
        assert [path.read_bytes() == payload for path in unpacked] == [True]
    half = layer["size"] // 2
    assert seen == [(None, 200, half), (f"bytes={half}-", 206, layer["size"] - half)]
    assert ecr_server.errors == []


def resolves(name: str) -> bool:
    try:
        return any(info[4][0] in ("127.0.0.1", "::1") for info in socket.getaddrinfo(name, None))
    except OSError:
        return False


def test_podman_pulls_by_the_per_account_host(
    ecr: FakeECR, ecr_server: EcrServer, storage: list[str], tmp_path: Path
) -> None:
    podman, buildah = tool("podman"), tool("buildah")
    host = ecr_server.registry_host()
    if not resolves(host.rpartition(":")[0]):
        pytest.skip(
            f"this system does not resolve {host.rpartition(':')[0]} (add it to /etc/hosts as 127.0.0.1, "
            "or use naming='loopback'; see docs/server.rst)"
        )
    ecr.create_repository(REPO)
    local = build(buildah, storage, tmp_path, "amd64")
    run(buildah, *storage, "push", *tls_options(ecr_server, host), local, f"docker://{host}/{REPO}:v1")
    run(podman, *storage, "pull", "--quiet", *tls_options(ecr_server, host), f"{host}/{REPO}:v1")
    assert list(images(ecr).values()) == [["v1"]]
