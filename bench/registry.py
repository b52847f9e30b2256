"""Registry throughput: skopeo pushes then pulls one image against pytest-ecr's server mode and
against Debian's ``docker-registry`` (CNCF distribution 2.8), in the same run.

The image is an OCI layout with one uncompressed layer of incompressible bytes (64 MiB; 16 MiB with
``--quick``), so neither side spends time compressing, and new bytes every round, so that neither
side is spared the upload by skopeo mounting a blob it pushed before. Each round copies the layout
into a fresh repository (``skopeo copy oci:... docker://...``) and back out into a fresh directory
(``docker://... oci:...``); the pull follows pytest-ecr's 307 to its "pre-signed" blob host as it
would S3's behind real ECR. Throughput is the image's bytes over the median wall time of the
copies; the anchor is docker-registry's throughput, the target at least half of it.

Needs ``skopeo`` and ``docker-registry`` on PATH (Debian packages; ``.ci/run`` installs them).
Without them it prints why and reports no figures.

Run: ``python bench/registry.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _common

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer

MIB = 1024 * 1024
SETTINGS = {"normal": (64 * MIB, 3), "quick": (16 * MIB, 2)}  # layer size, rounds
TARGET = 0.5
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def write_layout(root: Path, size: int) -> None:
    """An OCI layout tagged ``bench`` with one uncompressed layer of ``size`` incompressible bytes."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes, media_type: str) -> dict[str, Any]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    layer = blob(os.urandom(size), "application/vnd.oci.image.layer.v1.tar")
    config = blob(
        json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode(),
        "application/vnd.oci.image.config.v1+json",
    )
    manifest = blob(
        json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
        ).encode(),
        OCI_MANIFEST,
    )
    manifest["annotations"] = {"org.opencontainers.image.ref.name": "bench"}
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest]}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def distribution(workdir: Path) -> Iterator[str]:
    """Debian's docker-registry on a loopback port, filesystem storage in ``workdir``."""
    port = free_port()
    workdir.mkdir(parents=True)
    config = workdir / "config.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        [str(shutil.which("docker-registry")), "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                _common.check(time.monotonic() < deadline, "docker-registry did not start listening")
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def skopeo(*args: str) -> None:
    result = subprocess.run(
        [str(shutil.which("skopeo")), "--insecure-policy", *args], capture_output=True, text=True, check=False
    )
    _common.check(result.returncode == 0, f"skopeo {args[0]} failed: {result.stderr.strip()}")


def rounds(
    registry: str, creds: list[str], size: int, workdir: Path, count: int, before: Any
) -> dict[str, Any]:
    """Push then pull ``count`` times, each a new image (fresh bytes: skopeo's blob-info cache would
    otherwise mount blobs it saw pushed before instead of uploading them) into a fresh repository."""
    push, pull = [], []
    for n in range(count + 1):  # round 0 warms up
        repository = f"bench/r{n}"
        layout = workdir / f"layout{n}"
        write_layout(layout, size)
        before(repository)
        start = time.perf_counter()
        skopeo("copy", "--dest-tls-verify=false", *[f"--dest-{c}" for c in creds], f"oci:{layout}:bench",
               f"docker://{registry}/{repository}:bench")  # fmt: skip
        pushed = time.perf_counter() - start
        start = time.perf_counter()
        skopeo("copy", "--src-tls-verify=false", *[f"--src-{c}" for c in creds],
               f"docker://{registry}/{repository}:bench", f"oci:{workdir / f'out{n}'}:bench")  # fmt: skip
        pulled = time.perf_counter() - start
        shutil.rmtree(workdir / f"out{n}")
        shutil.rmtree(layout)
        if n:
            push.append(pushed)
            pull.append(pulled)
    return {"push": _common.summary(push), "pull": _common.summary(pull)}


def run(quick: bool = False) -> dict[str, Any]:
    size, count = SETTINGS["quick" if quick else "normal"]
    missing = [tool for tool in ("skopeo", "docker-registry") if shutil.which(tool) is None]
    results: dict[str, Any] = {"benchmark": "registry", "quick": quick, "bytes": size, "rounds": count}
    if missing:
        results["skipped"] = f"not installed: {', '.join(missing)} (Debian packages)"
        return results
    _common.isolate_environment()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with distribution(workdir / "distribution") as registry:
            results["distribution"] = rounds(registry, [], size, workdir, count, lambda _: None)
        with FakeECR() as fake, EcrServer(fake) as server:
            creds = [f"creds={server.username}:{server.password}"]
            results["pytest_ecr"] = rounds(
                server.registry, creds, size, workdir, count, fake.create_repository
            )
            _common.check(not server.errors, f"pytest-ecr's server failed: {server.errors[:1]}")
    for tool in ("skopeo", "docker-registry"):
        answer = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False).stdout
        results[f"{tool} version"] = answer.strip()
    for direction in ("push", "pull"):
        ours = size / results["pytest_ecr"][direction]["median"]
        theirs = size / results["distribution"][direction]["median"]
        results[f"{direction}_ratio"] = ours / theirs
    return results


def rows(results: dict[str, Any]) -> list[list[str]]:
    """Table rows (this script's output and the performance page)."""
    size = results["bytes"]
    out = []
    for direction in ("push", "pull"):
        ours, theirs = (
            results["pytest_ecr"][direction]["median"],
            results["distribution"][direction]["median"],
        )
        out.append(
            [
                direction,
                f"{size / MIB / ours:.0f}",
                f"{size / MIB / theirs:.0f}",
                f"{results[f'{direction}_ratio']:.2f}",
                "within" if results[f"{direction}_ratio"] >= TARGET else "NOT within",
            ]
        )
    return out


HEADERS = ["skopeo copy", "pytest-ecr MiB/s", "docker-registry MiB/s", "ratio", f"target >= {TARGET}"]


def render(results: dict[str, Any]) -> str:
    title = f"Registry throughput: one {results['bytes'] // MIB} MiB image, {results['rounds']} rounds"
    if "skipped" in results:
        return f"{title}: skipped, {results['skipped']}"
    versions = f"{results['skopeo version']}; {results['docker-registry version']}"
    return "\n".join([title, "", _common.table(HEADERS, rows(results)), "", versions])


def main(argv: Sequence[str] | None = None) -> None:
    _common.main(__doc__, run, render, argv)


if __name__ == "__main__":
    main()
