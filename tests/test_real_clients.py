"""Real container clients against server mode (issue 7): skopeo pushes, pulls, inspects, lists and
deletes through the OCI Distribution API with credentials from GetAuthorizationToken, and what it
does is what boto3 sees (and the other way round).

skopeo comes from Debian (``apt-get install skopeo``, which ``.ci/run`` does); without it these tests
skip, saying so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import make_layout, sha256, upload_blob

SKOPEO = shutil.which("skopeo")
pytestmark = pytest.mark.skipif(
    SKOPEO is None, reason="skopeo is not installed (Debian: apt-get install skopeo; .ci/run installs it)"
)
TWELVE_HOURS = 12 * 3600


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    # --insecure-policy: no /etc/containers/policy.json needed; the registry is plain HTTP on loopback.
    return subprocess.run(
        [str(SKOPEO), "--insecure-policy", *args], capture_output=True, text=True, timeout=120, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"skopeo failed ({result.returncode}):\n{result.stderr}"
    return result.stdout


def digests(client: Any, repository: str) -> dict[str, list[str]]:
    details = client.describe_images(repositoryName=repository)["imageDetails"]
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}


def creds(server: Any) -> str:
    return f"{server.username}:{server.password}"


def test_copy_an_oci_layout_in_and_see_it_through_boto3(ecr, ecr_client, ecr_server, tmp_path):
    written = make_layout(
        tmp_path / "layout", {"v1": ["linux/amd64"], "multi": ["linux/amd64", "linux/arm64"]}
    )
    ecr.create_repository("team/app")
    target = f"docker://{ecr_server.registry}/team/app"

    for tag in ("v1", "multi"):
        ok(
            skopeo(
                "copy",
                "--all",
                "--dest-tls-verify=false",
                "--dest-creds",
                creds(ecr_server),
                f"oci:{tmp_path / 'layout'}:{tag}",
                f"{target}:{tag}",
            )
        )

    # Byte for byte: every manifest of the layout (the index's children too) is an image, same digest.
    stored = digests(ecr_client, "team/app")
    assert set(stored) == set(written)
    tagged = {tag for tags in stored.values() for tag in tags}
    assert tagged == {"v1", "multi"}
    [v1] = ecr_client.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])["images"]
    assert v1["imageManifest"].encode() == written[v1["imageId"]["imageDigest"]]


def put_layout_with_boto3(
    client: Any, repository: str, layout: Path, manifests: dict[str, bytes], tag: str
) -> str:
    """Push the layout's manifest tagged ``tag`` through the ECR API: each blob by the layer upload
    operations, then PutImage. Returns its digest."""
    index = json.loads((layout / "index.json").read_text())
    [entry] = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    manifest = manifests[entry["digest"]]
    doc = json.loads(manifest)
    for blob in [doc["config"], *doc["layers"]]:
        upload_blob(
            client, repository, (layout / "blobs" / "sha256" / blob["digest"].split(":")[1]).read_bytes()
        )
    client.put_image(repositoryName=repository, imageManifest=manifest.decode(), imageTag=tag)
    return str(entry["digest"])


def test_pull_an_image_put_through_boto3(ecr, ecr_client, ecr_server, tmp_path):
    manifests = make_layout(tmp_path / "source", {"v2": ["linux/amd64"]})
    ecr.create_repository("team/app")
    digest = put_layout_with_boto3(ecr_client, "team/app", tmp_path / "source", manifests, "v2")

    ok(
        skopeo(
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            creds(ecr_server),
            f"docker://{ecr_server.registry}/team/app:v2",
            f"oci:{tmp_path / 'out'}:v2",
        )
    )

    index = json.loads((tmp_path / "out" / "index.json").read_text())
    [entry] = index["manifests"]
    assert entry["digest"] == digest  # the same bytes: nothing was converted on the way
    manifest = (tmp_path / "out" / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
    for blob in json.loads(manifest)["layers"]:
        data = (tmp_path / "out" / "blobs" / "sha256" / blob["digest"].split(":")[1]).read_bytes()
        assert sha256(data) == blob["digest"]
        assert len(data) == blob["size"]
    # Layers came through the redirect to the "pre-signed" host, as from S3 behind real ECR.
    statuses = [(entry.method, entry.status) for entry in ecr_server.log if "/blobs/sha256:" in entry.path]
    assert ("GET", 307) in statuses


def test_inspect_list_tags_and_delete(ecr, ecr_client, ecr_server):
    ecr.create_repository("team/app")
    first = ecr.push_image("team/app", ["v1", "stable"])
    ecr.push_image("team/app", "v2")
    ref = f"docker://{ecr_server.registry}/team/app"
    tls = "--tls-verify=false"

    raw = ok(skopeo("inspect", "--raw", tls, "--creds", creds(ecr_server), f"{ref}:stable"))
    assert sha256(raw.encode()) == first.digest
    tags = json.loads(ok(skopeo("list-tags", tls, "--creds", creds(ecr_server), ref)))["Tags"]
    assert sorted(tags) == ["stable", "v1", "v2"]

    ok(skopeo("delete", tls, "--creds", creds(ecr_server), f"{ref}@{first.digest}"))

    assert first.digest not in digests(ecr_client, "team/app")
    assert sorted(t for tags in digests(ecr_client, "team/app").values() for t in tags) == ["v2"]


def test_wrong_and_expired_credentials_are_refused(ecr, ecr_server):
    ecr.create_repository("team/app")
    ecr.push_image("team/app", "v1")
    ref = f"docker://{ecr_server.registry}/team/app:v1"

    wrong = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", "AWS:not-a-token", ref)
    assert wrong.returncode != 0
    assert "unauthorized" in wrong.stderr.lower()

    password = ecr_server.password
    ok(skopeo("inspect", "--raw", "--tls-verify=false", "--creds", f"AWS:{password}", ref))
    ecr.clock.advance(TWELVE_HOURS + 1)
    expired = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", f"AWS:{password}", ref)
    assert expired.returncode != 0
    assert "unauthorized" in expired.stderr.lower()


def test_a_push_to_a_missing_repository_is_name_unknown(ecr_server, tmp_path: Path):
    make_layout(tmp_path / "layout", {"v1": ["linux/amd64"]})

    result = skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds(ecr_server),
        f"oci:{tmp_path / 'layout'}:v1",
        f"docker://{ecr_server.registry}/absent/app:v1",
    )

    assert result.returncode != 0
    assert "name unknown" in result.stderr.lower() or "NAME_UNKNOWN" in result.stderr


def test_a_synthetic_image_is_pulled_as_is(ecr, ecr_server, tmp_path):
    """ecr.push_image's layers are valid gzipped tars, so skopeo copies them without recompressing."""
    ecr.create_repository("team/app")
    pushed = ecr.push_image("team/app", "seeded", size=300_000)

    ok(
        skopeo(
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            creds(ecr_server),
            f"docker://{ecr_server.registry}/team/app:seeded",
            f"oci:{tmp_path / 'out'}:seeded",
        )
    )

    [entry] = json.loads((tmp_path / "out" / "index.json").read_text())["manifests"]
    assert entry["digest"] == pushed.digest


def test_a_push_creates_the_repository_a_create_on_push_template_covers(
    ecr, ecr_client, ecr_server, tmp_path
):
    model = ecr_client.meta.service_model.shape_for("RCTAppliedFor")
    if "CREATE_ON_PUSH" not in model.enum:
        pytest.skip("this botocore's ECR model has no CREATE_ON_PUSH")
    ecr_client.create_repository_creation_template(
        prefix="team", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE"
    )
    make_layout(tmp_path / "layout", {"v1": ["linux/amd64"]})

    ok(
        skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds(ecr_server),
            f"oci:{tmp_path / 'layout'}:v1",
            f"docker://{ecr_server.registry}/team/new-app:v1",
        )
    )

    [repo] = ecr_client.describe_repositories(repositoryNames=["team/new-app"])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert [i["imageTag"] for i in ecr_client.list_images(repositoryName="team/new-app")["imageIds"]] == [
        "v1"
    ]
