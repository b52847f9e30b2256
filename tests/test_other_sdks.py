"""Clients that are not this process's boto3 use the fake through server mode (issue 7): the AWS CLI
(its own virtual environment: it pins its own botocore) and the AWS SDK for JavaScript v2 (the SDK
the ECR API reference documents), each in a subprocess that finds the server through
``AWS_ENDPOINT_URL_ECR``, which the ``ecr_server`` fixture sets.

``.ci/run`` installs both under ``.clients/`` in the project (``PYTEST_ECR_AWS_CLI`` and
``PYTEST_ECR_NODE_MODULES`` point elsewhere); without them these tests skip, saying so.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers import image_manifest

CLIENTS = Path(__file__).resolve().parent.parent / ".clients"
AWS_CLI = Path(os.environ.get("PYTEST_ECR_AWS_CLI", CLIENTS / "awscli" / "bin" / "aws"))
NODE_MODULES = Path(os.environ.get("PYTEST_ECR_NODE_MODULES", CLIENTS / "js" / "node_modules"))
NODE = shutil.which("node")

needs_aws_cli = pytest.mark.skipif(
    not AWS_CLI.is_file(), reason=f"the AWS CLI is not installed at {AWS_CLI} (.ci/run installs it)"
)
needs_js_sdk = pytest.mark.skipif(
    NODE is None or not (NODE_MODULES / "aws-sdk").is_dir(),
    reason=f"node or the npm package aws-sdk (in {NODE_MODULES}) is missing (.ci/run installs it)",
)


def run(command: list[str], **kwargs: Any) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, **kwargs)
    assert result.returncode == 0, f"{command[0]} failed ({result.returncode}):\n{result.stderr}"
    return result.stdout


def aws(*args: str) -> Any:
    out = run([str(AWS_CLI), "ecr", *args, "--output", "json"])
    return json.loads(out) if out.strip().startswith(("{", "[")) else out.strip()


@needs_aws_cli
def test_aws_cli_logs_in_creates_and_describes(ecr, ecr_server):
    password = aws("get-login-password")
    assert ecr.token_valid(base64.b64encode(f"AWS:{password}".encode()).decode())

    created = aws("create-repository", "--repository-name", "cli/app")["repository"]
    # server mode names the fake's own registry host (docs/server.rst), not AWS's
    assert (
        created["repositoryUri"]
        == f"{ecr.account_id}.dkr.ecr.{ecr.region}.localhost:{ecr_server.port}/cli/app"
    )
    pushed = ecr.push_image("cli/app", "v1")
    [detail] = aws("describe-images", "--repository-name", "cli/app")["imageDetails"]
    assert (detail["imageDigest"], detail["imageTags"]) == (pushed.digest, ["v1"])

    # They came over HTTP to the fake: same call log as in-process clients.
    assert [c.operation for c in ecr.calls] == ["GetAuthorizationToken", "CreateRepository", "DescribeImages"]
    assert {(e.method, e.path, e.status) for e in ecr_server.log} == {("POST", "/", 200)}


@needs_aws_cli
def test_aws_cli_gets_ecr_errors(ecr, ecr_server):
    result = subprocess.run(
        [str(AWS_CLI), "ecr", "describe-repositories", "--repository-names", "absent"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 255  # AWS CLI v1's exit status for a service error (v2 uses 254)
    assert "RepositoryNotFoundException" in result.stderr
    assert f"The repository with name 'absent' does not exist in the registry with id '{ecr.account_id}'" in (
        result.stderr
    )


@needs_aws_cli
@pytest.mark.skipif(importlib.util.find_spec("trustme") is None, reason="TLS needs trustme (pytest-ecr[tls])")
@pytest.mark.ecr_server(tls=True)
def test_aws_cli_over_https_with_the_ca_bundle_from_the_environment(ecr, ecr_server):
    password = aws("get-login-password")  # AWS_ENDPOINT_URL_ECR and AWS_CA_BUNDLE only
    assert ecr.token_valid(base64.b64encode(f"AWS:{password}".encode()).decode())
    [data] = aws("get-authorization-token")["authorizationData"]
    assert data["proxyEndpoint"] == f"https://{ecr_server.registry_host()}"
    assert {(e.method, e.path, e.status) for e in ecr_server.log} == {("POST", "/", 200)}


SCRIPT = """
const AWS = require("aws-sdk");
const ecr = new AWS.ECR({ endpoint: process.env.AWS_ENDPOINT_URL_ECR, region: process.env.AWS_REGION });
(async () => {
  const created = await ecr.createRepository({ repositoryName: "js/other" }).promise();
  const put = await ecr.putImage({
    repositoryName: "js/app", imageManifest: process.env.MANIFEST, imageTag: "v1",
  }).promise();
  const listed = await ecr.listImages({ repositoryName: "js/app" }).promise();
  const deleted = await ecr.batchDeleteImage({
    repositoryName: "js/app", imageIds: [{ imageTag: "v1" }],
  }).promise();
  let error = null;
  try {
    await ecr.describeRepositories({ repositoryNames: ["absent"] }).promise();
  } catch (e) {
    error = { code: e.code, message: e.message, statusCode: e.statusCode };
  }
  console.log(JSON.stringify({ created, put, listed, deleted, error }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@needs_js_sdk
def test_javascript_sdk_v2_puts_lists_and_deletes(ecr, ecr_server, tmp_path):
    ecr.create_repository("js/app")
    manifest = image_manifest(ecr, "js/app")
    script = tmp_path / "ecr.js"
    script.write_text(SCRIPT)

    out = run(
        [str(NODE), str(script)],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES), "MANIFEST": manifest},
    )

    answer = json.loads(out)
    digest = answer["put"]["image"]["imageId"]["imageDigest"]
    assert answer["created"]["repository"]["repositoryName"] == "js/other"
    assert answer["put"]["image"]["imageManifest"] == manifest
    assert answer["listed"]["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    assert answer["deleted"] == {"imageIds": [{"imageDigest": digest, "imageTag": "v1"}], "failures": []}
    assert answer["error"] == {
        "code": "RepositoryNotFoundException",
        "message": f"The repository with name 'absent' does not exist in the registry with id '{ecr.account_id}'",
        "statusCode": 400,
    }
    assert ecr.repository("js/other").registry_id == ecr.account_id  # KeyError had it not landed
    assert ecr.repository("js/app").images == {}
