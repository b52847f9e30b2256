"""``serve --state PATH``: the state file's round trip, a restart and a ``kill -9`` of a real
``pytest-ecr serve`` process, and the refusal of files that are not whole pytest-ecr state."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import upload_blob

from pytest_ecr import FakeECR
from pytest_ecr.server.state import FORMAT, StateError, StateFile, decode_state, encode_state, install, load

SERVE = [sys.executable, "-m", "pytest_ecr.server.cli", "serve", "--quiet"]
_URL = re.compile(r"ECR API at (http://127\.0\.0\.1:[0-9]+)")


class Serve:
    """A ``pytest-ecr serve`` subprocess."""

    def __init__(self, *argv: str) -> None:
        self.process = subprocess.Popen(
            [*SERVE, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = _URL.search(line)
        if match is None:
            self.process.kill()
            raise AssertionError(f"serve did not start: {line!r} {self.process.communicate()}")
        self.url = match.group(1)

    def client(self) -> Any:
        return boto3.client(
            "ecr",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="secret",
        )

    def stop(self, sig: int = signal.SIGINT) -> None:
        self.process.send_signal(sig)
        try:
            self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            # never leave a server (and its pipes) behind a failed test
            self.process.kill()
            self.process.communicate()
            raise


def refused(*argv: str) -> str:
    """The stderr of a ``serve`` that must refuse to start."""
    result = subprocess.run([*SERVE, *argv], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result
    assert result.stdout == ""
    return result.stderr


@pytest.fixture
def real_aws(ecr: FakeECR) -> Iterator[None]:
    """Let boto3 clients in this process reach the subprocess servers over real HTTP (the ``ecr``
    fixture would otherwise answer them in-process)."""
    ecr.stop()
    try:
        yield
    finally:
        ecr.start()


EXPIRE_UNTAGGED = (
    '{"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",'
    ' "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}}]}'
)


def build_rich_state(fake: FakeECR) -> None:
    fake.clock.freeze("2026-03-01T00:00:00Z")
    fake.create_repository("app/web")
    fake.push_image("app/web", ["v1", "latest"])
    fake.push_image("app/web", "v2")
    fake.push_image("app/web", None)  # untagged
    fake.create_repository("other", account="210987654321", region="eu-west-1")
    fake.push_image("other", "x", account="210987654321", region="eu-west-1")
    client = fake.client()
    client.put_lifecycle_policy(
        repositoryName="app/web",
        lifecyclePolicyText=EXPIRE_UNTAGGED,
    )
    client.tag_resource(resourceArn=fake.repository("app/web").arn, tags=[{"Key": "team", "Value": "web"}])
    upload = client.initiate_layer_upload(repositoryName="app/web")["uploadId"]
    client.upload_layer_part(
        repositoryName="app/web", uploadId=upload, partFirstByte=0, partLastByte=4, layerPartBlob=b"hello"
    )
    upload_blob(client, "app/web", b"a finished layer")
    client.get_authorization_token()
    client.start_image_scan(repositoryName="app/web", imageId={"imageTag": "v2"})


def describe_everything(fake: FakeECR) -> dict[str, Any]:
    client = fake.client()
    other = fake.client("eu-west-1", account="210987654321")
    images = client.describe_images(repositoryName="app/web")["imageDetails"]
    return {
        "repositories": client.describe_repositories()["repositories"],
        "images": sorted(images, key=lambda i: i["imageDigest"]),
        "scan": client.describe_image_scan_findings(repositoryName="app/web", imageId={"imageTag": "v2"})[
            "imageScanStatus"
        ],
        "policy": client.get_lifecycle_policy(repositoryName="app/web")["lifecyclePolicyText"],
        "tags": client.list_tags_for_resource(resourceArn=fake.repository("app/web").arn)["tags"],
        "other": other.describe_images(repositoryName="other")["imageDetails"],
        "events": [dict(e) for e in fake.events],
        "jobs": [(j.due, j.kind) for j in fake.store.agenda.jobs()],
    }


def reload(fake: FakeECR) -> None:
    """Replace ``fake``'s store by its own state read back from the JSON text of a state file."""
    text = json.dumps(encode_state(fake), allow_nan=False)
    store, _ = decode_state(json.loads(text), "test")
    assert store is not fake.store
    install(fake, store)


def test_a_rich_state_survives_its_json(ecr: FakeECR) -> None:
    build_rich_state(ecr)
    before = describe_everything(ecr)
    assert before["scan"]["status"] == "IN_PROGRESS"
    reload(ecr)
    assert describe_everything(ecr) == before
    web = ecr.store.registries[(ecr.account_id, ecr.region)].repositories["app/web"]
    (job,) = ecr.store.agenda.jobs("scan")
    assert job.payload[2] is web.images[web.tag_index["v2"]].scan  # one object, as before the trip
    # the loaded state still works: the open upload completes, the scans complete in time
    ecr.clock.advance(ecr.options.scan_seconds)
    assert describe_everything(ecr)["scan"]["status"] == "COMPLETE"
    (upload,) = web.uploads.values()
    assert (
        upload.sha256.hexdigest() == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )  # sha256("hello")
    # jobs and images that shared an object still share it: a completed scan is the image's
    image = web.images[web.tag_index["v2"]]
    assert image.scan is not None
    assert image.scan.findings is not None


def test_state_survives_a_restart(tmp_path: Path, real_aws: None) -> None:
    path = tmp_path / "state.json"
    first = Serve("--state", str(path))
    client = first.client()
    client.create_repository(repositoryName="kept")
    client.put_image_tag_mutability(repositoryName="kept", imageTagMutability="IMMUTABLE")
    first.stop()

    second = Serve("--state", str(path))
    try:
        repo = second.client().describe_repositories()["repositories"][0]
        assert (repo["repositoryName"], repo["imageTagMutability"]) == ("kept", "IMMUTABLE")
        assert json.loads(path.read_text())["format"] == FORMAT
    finally:
        second.stop()


def test_state_survives_kill_9(tmp_path: Path, real_aws: None) -> None:
    path = tmp_path / "state.json"
    server = Serve("--state", str(path))
    client = server.client()
    for n in range(20):
        client.create_repository(repositoryName=f"repo-{n:02d}")  # each answered: each on disk
    server.stop(signal.SIGKILL)
    assert server.process.returncode == -signal.SIGKILL

    again = Serve("--state", str(path))
    try:
        names = [r["repositoryName"] for r in again.client().describe_repositories()["repositories"]]
        assert sorted(names) == [f"repo-{n:02d}" for n in range(20)]
    finally:
        again.stop()
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind


def test_the_clock_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    server = Serve("--state", str(path))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_ecr.server.cli",
            "clock",
            "freeze",
            "--at",
            "2030-01-01T00:00:00Z",
            "--endpoint",
            server.url,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    server.stop(signal.SIGKILL)
    again = Serve("--state", str(path))
    try:
        now = subprocess.run(
            [sys.executable, "-m", "pytest_ecr.server.cli", "clock", "now", "--endpoint", again.url],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert json.loads(now.stdout) == {
            "now": 1893456000.0,
            "time": "2030-01-01T00:00:00+00:00",
            "frozen": True,
        }
    finally:
        again.stop()


def test_a_seed_applies_only_to_a_new_state_file(tmp_path: Path, real_aws: None) -> None:
    path, seed = tmp_path / "state.json", tmp_path / "seed.json"
    seed.write_text(json.dumps({"repositories": ["seeded"]}))
    first = Serve("--state", str(path), "--seed", str(seed))
    first.client().delete_repository(repositoryName="seeded")
    first.stop()
    second = Serve("--state", str(path), "--seed", str(seed))
    try:
        assert second.client().describe_repositories()["repositories"] == []  # the state won
    finally:
        second.stop()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"format": "pytest-ecr state", "version": 1, "store": {"$obj": "St',
            "not a pytest-ecr state file: not valid JSON (Unterminated string",
        ),
        (b"\xff\xfe\x00garbage", "not a pytest-ecr state file: it is not UTF-8 text"),
        (
            b'{"name": "my-package", "version": "1.0.0"}',
            'not a pytest-ecr state file (no "format": "pytest-ecr state" header)',
        ),
        (b"[1, 2, 3]", 'not a pytest-ecr state file (no "format": "pytest-ecr state" header)'),
        (
            b'{"format": "pytest-ecr state", "version": 99}',
            "a pytest-ecr state file of format version 99; this pytest-ecr reads version 1",
        ),
        (
            b'{"format": "pytest-ecr state", "version": 1, "clock": {"offset": 0, "frozen_at": null},'
            b' "counters": {"images": 1}, "store": {"$obj": "Popen", "$id": 0, "fields": {}}}',
            "damaged pytest-ecr state: unknown object type 'Popen'",
        ),
    ],
)
def test_a_corrupt_or_foreign_file_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    stderr = refused("--state", str(path))
    assert stderr.startswith(f"pytest-ecr: {path}: {message}")
    assert stderr.endswith("; refusing to start (move the file away to start empty)\n")
    assert stderr.count("\n") == 1
    assert path.read_bytes() == content  # never overwritten


def test_a_damaged_file_never_half_loads(ecr: FakeECR, tmp_path: Path) -> None:
    ecr.create_repository("before")
    document = encode_state(ecr)
    registry = document["store"]["fields"]["registries"]["$dict"][0][1]
    registry["fields"]["repositories"]["before"]["fields"]["images"]["items"] = "not pairs"
    path = tmp_path / "state.json"
    path.write_text(json.dumps(document))
    ecr.create_repository("untouched")
    original = ecr.store
    with pytest.raises(StateError, match="damaged pytest-ecr state: expected a list of"):
        load(ecr, path)
    assert ecr.store is original
    assert sorted(original.registries[(ecr.account_id, ecr.region)].repositories) == ["before", "untouched"]


def test_load_refuses_and_keeps_the_state(ecr: FakeECR, tmp_path: Path) -> None:
    ecr.create_repository("mine")
    path = tmp_path / "state.json"
    path.write_text('{"format": "pytest-ecr state", "version": 1, "store": {}}')
    with pytest.raises(StateError, match="damaged pytest-ecr state: KeyError"):
        load(ecr, path)
    assert list(ecr.store.registries[(ecr.account_id, ecr.region)].repositories) == ["mine"]


def test_an_unwritable_state_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "missing-directory" / "state.json"
    assert refused("--state", str(path)).startswith(f"pytest-ecr: cannot write the state file {path}: ")


def test_unchanged_state_is_not_written_again(ecr: FakeECR, tmp_path: Path) -> None:
    state = StateFile(ecr, tmp_path / "state.json")
    ecr.clock.freeze()
    state.save()
    state.save()
    assert state.writes == 1
    ecr.create_repository("changed")
    state.save()
    assert state.writes == 2


@pytest.mark.parametrize(
    ("how", "sig"),
    [("SIGTERM", signal.SIGTERM), ("SIGINT though started with SIGINT ignored", signal.SIGINT)],
)
def test_serve_stops_cleanly_on_sigterm_and_on_an_inherited_ignored_sigint(
    tmp_path: Path, how: str, sig: int
) -> None:
    # SIGTERM is what kill, docker stop and systemd send; a process a shell without job control
    # starts in the background inherits SIGINT ignored (CI saw serve then outlive Ctrl-C).
    path = tmp_path / "state.json"
    ignore_sigint = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", ignore_sigint, *SERVE[1:], "--state", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    match = _URL.search(process.stdout.readline())
    assert match is not None, process
    boto3.client(
        "ecr",
        region_name="us-east-1",
        endpoint_url=match.group(1),
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="secret",
    ).create_repository(repositoryName="kept")
    process.send_signal(sig)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"serve outlived {how}") from None
    assert process.returncode == 0, stderr
    assert "pytest-ecr: stopped" in stderr
    assert "kept" in path.read_text()
