"""oras-py (PyPI) against server mode (issue 7): an artifact pushed and pulled with oras's ECR auth
backend, which reads the registry's Basic challenge and asks boto3's GetAuthorizationToken for the
credentials itself (answered in-process by the same fake)."""

from __future__ import annotations

from pathlib import Path

import pytest

oras_client = pytest.importorskip("oras.client", reason="oras is not installed (pip install oras)")


def test_oras_pushes_and_pulls_an_artifact_with_ecr_auth(ecr, ecr_client, ecr_server, tmp_path: Path):
    ecr.create_repository("team/app")
    payload = tmp_path / "sbom.json"
    payload.write_text('{"packages": []}\n')
    oras = oras_client.OrasClient(hostname=ecr_server.registry, insecure=True, auth_backend="ecr")
    target = f"{ecr_server.registry}/team/app:sbom"

    pushed = oras.push(target=target, files=[str(payload)], disable_path_validation=True)
    pulled = oras.pull(target=target, outdir=str(tmp_path / "out"))

    assert pushed.status_code == 201
    assert [Path(p).read_text() for p in pulled] == ['{"packages": []}\n']
    [detail] = ecr_client.describe_images(repositoryName="team/app")["imageDetails"]
    assert detail["imageTags"] == ["sbom"]
    # ECR counts the config blob (oras's empty "{}") and the layer (the payload)
    assert detail["imageSizeInBytes"] == 2 + payload.stat().st_size
    # oras found ECR's challenge, fetched a token through boto3, and retried with it.
    ecr.calls.assert_called("GetAuthorizationToken")
    first = ecr_server.log[0]
    assert first.status == 401
    assert any(e.method == "PUT" and "/manifests/sbom" in e.path and e.status == 201 for e in ecr_server.log)
