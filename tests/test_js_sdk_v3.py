"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-ecr``) against server mode, in node subprocesses:
typed errors, a paginator, HTTPS with the run's CA, and the scan waiter and token expiry in
virtual time through the control API (``/_pytest_ecr/...``) and ``pytest-ecr clock advance``.

``.ci/run`` installs the SDK into ``.clients/js3`` (``PYTEST_ECR_NODE_MODULES_V3`` points
elsewhere); without it these tests skip, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_other_sdks import CLIENTS, NODE, run

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer

NODE_MODULES = Path(os.environ.get("PYTEST_ECR_NODE_MODULES_V3", CLIENTS / "js3" / "node_modules"))
pytestmark = pytest.mark.skipif(
    NODE is None or not (NODE_MODULES / "@aws-sdk" / "client-ecr").is_dir(),
    reason=f"node or the npm package @aws-sdk/client-ecr (in {NODE_MODULES}) is missing (.ci/run installs it)",
)
#: how the node scripts run this checkout's ``pytest-ecr`` command
CLI = [sys.executable, "-m", "pytest_ecr.server.cli"]

PRELUDE = """
const ecrSdk = require("@aws-sdk/client-ecr");
const { execFileSync } = require("node:child_process");
const endpoint = process.env.AWS_ENDPOINT_URL_ECR;
const client = new ecrSdk.ECRClient({ endpoint, region: process.env.AWS_REGION });
const cli = JSON.parse(process.env.PYTEST_ECR_CLI);
function pytestEcr(...args) {  // the shell command a JavaScript suite would run between its tests
  return JSON.parse(execFileSync(cli[0], [...cli.slice(1), ...args, "--endpoint", endpoint]));
}
async function control(route, body) {  // the control API itself
  const answer = await fetch(`${endpoint}/_pytest_ecr/${route}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`${route}: ${answer.status} ${await answer.text()}`);
  return answer.json();
}
function main(body) {
  body().then((out) => console.log(JSON.stringify(out))).catch((e) => { console.error(e); process.exit(1); });
}
"""


def node(script: str, tmp_path: Path) -> Any:
    path = tmp_path / "test.js"
    path.write_text(PRELUDE + script)
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES), "PYTEST_ECR_CLI": json.dumps(CLI)}
    return json.loads(run([str(NODE), str(path)], env=env))


def test_errors_are_typed(ecr: FakeECR, ecr_server: EcrServer, tmp_path: Path) -> None:
    answer = node(
        """
main(async () => {
  try {
    await client.send(new ecrSdk.DescribeRepositoriesCommand({ repositoryNames: ["absent"] }));
    return "no error";
  } catch (e) {
    return {
      typed: e instanceof ecrSdk.RepositoryNotFoundException,
      ecrServiceException: e instanceof ecrSdk.ECRServiceException,
      name: e.name, message: e.message, status: e.$metadata.httpStatusCode, fault: e.$fault,
    };
  }
});
""",
        tmp_path,
    )
    assert answer == {
        "typed": True,
        "ecrServiceException": True,
        "name": "RepositoryNotFoundException",
        # ECR's wording (docs/spec: ecr-behaviour.md, RepositoryNotFoundException)
        "message": f"The repository with name 'absent' does not exist in the registry with id '{ecr.account_id}'",
        "status": 400,
        "fault": "client",
    }


def test_paginator_walks_every_page(ecr: FakeECR, ecr_server: EcrServer, tmp_path: Path) -> None:
    ecr.create_repository("many")
    digests = ecr.push_images("many", 250)
    answer = node(
        """
main(async () => {
  const pages = [];
  for await (const page of ecrSdk.paginateDescribeImages({ client }, { repositoryName: "many" })) {
    pages.push(page.imageDetails.map((d) => d.imageDigest));
  }
  return pages;
});
""",
        tmp_path,
    )
    # DescribeImages returns 100 results a page unless maxResults says otherwise (API reference)
    assert [len(page) for page in answer] == [100, 100, 50]
    assert sorted(d for page in answer for d in page) == sorted(digests)


def test_scan_waiter_in_virtual_time(ecr: FakeECR, ecr_server: EcrServer, tmp_path: Path) -> None:
    ecr.clock.freeze()  # only the control API's advance can complete the scans, never real time
    ecr.create_repository("scanned")
    ecr.push_image("scanned", ["v1"])
    ecr.push_image("scanned", ["v2"])
    answer = node(
        f"""
const scanSeconds = {ecr.options.scan_seconds};
const waiting = {{ client, maxWaitTime: 60 }};
main(async () => {{
  const image = (tag) => ({{ repositoryName: "scanned", imageId: {{ imageTag: tag }} }});
  const status = async (tag) =>
    (await client.send(new ecrSdk.DescribeImageScanFindingsCommand(image(tag)))).imageScanStatus.status;

  // 1. the clock advanced before waiting: the waiter's first poll (it polls at once) sees COMPLETE
  await client.send(new ecrSdk.StartImageScanCommand(image("v1")));
  const before = await status("v1");
  await control("clock/advance", {{ seconds: scanSeconds }});
  let started = performance.now();
  const first = await ecrSdk.waitUntilImageScanComplete(waiting, image("v1"));
  const firstMs = performance.now() - started;

  // 2. the clock advanced while waiting, with a short minDelay: the waiter's next poll sees it
  await client.send(new ecrSdk.StartImageScanCommand(image("v2")));
  started = performance.now();
  const waiter = ecrSdk.waitUntilImageScanComplete({{ ...waiting, minDelay: 0.1, maxDelay: 0.1 }}, image("v2"));
  await control("clock/advance", {{ seconds: scanSeconds }});
  const second = await waiter;
  const secondMs = performance.now() - started;
  return {{ before, first: first.state, firstMs, second: second.state, secondMs,
            findings: second.reason.imageScanStatus.status }};
}});
""",
        tmp_path,
    )
    assert answer["before"] == "IN_PROGRESS"
    assert (answer["first"], answer["second"], answer["findings"]) == ("SUCCESS", "SUCCESS", "COMPLETE")
    # The first wait ended on the waiter's first poll: a second one comes only after its default
    # minDelay of 5 s (serviceDefaults in @aws-sdk/client-ecr). A bound, not a figure: shared
    # machines are noisy.
    assert answer["firstMs"] < 5000
    # the real time each wait took, for the docs
    print(f"\nJS v3 scan waiter, real time: {answer['firstMs']:.0f} ms, {answer['secondMs']:.0f} ms")


def test_token_expiry_with_clock_advance(ecr: FakeECR, ecr_server: EcrServer, tmp_path: Path) -> None:
    answer = node(
        """
main(async () => {
  const login = async (token) =>
    (await fetch(`${endpoint}/v2/`, { headers: { Authorization: `Basic ${token}` } })).status;
  const before = pytestEcr("clock", "now").now;
  const data = (await client.send(new ecrSdk.GetAuthorizationTokenCommand({}))).authorizationData[0];
  const fresh = await login(data.authorizationToken);
  const later = pytestEcr("clock", "advance", "12h");
  const expired = await login(data.authorizationToken);
  return { lifetime: data.expiresAt.getTime() / 1000 - before, fresh, expired, advanced: later.now - before };
});
""",
        tmp_path,
    )
    # ECR's authorization tokens are "valid for 12 hours" (GetAuthorizationToken, API reference)
    assert 12 * 3600 <= answer["lifetime"] < 12 * 3600 + 60
    assert answer["advanced"] >= 12 * 3600
    assert (answer["fresh"], answer["expired"]) == (200, 401)


@pytest.mark.ecr_server(tls=True)
def test_https_with_the_environment_the_fixture_sets(
    ecr: FakeECR, ecr_server: EcrServer, tmp_path: Path
) -> None:
    """The SDK v3 does not read ``AWS_CA_BUNDLE`` (measured here: without node's
    ``NODE_EXTRA_CA_CERTS`` it refuses the certificate), so the fixture sets both."""
    ecr.create_repository("team/app")
    script = """
main(async () => (await client.send(new ecrSdk.DescribeRepositoriesCommand({}))).repositories
  .map((r) => r.repositoryUri));
"""
    assert os.environ["NODE_EXTRA_CA_CERTS"] == os.environ["AWS_CA_BUNDLE"] == ecr_server.ca_file
    assert node(script, tmp_path) == [f"{ecr_server.registry_host()}/team/app"]
    (tmp_path / "test.js").write_text(PRELUDE + script)
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES), "PYTEST_ECR_CLI": json.dumps(CLI)}
    del env["NODE_EXTRA_CA_CERTS"]
    result = subprocess.run([str(NODE), "test.js"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120, check=False)  # fmt: skip
    assert result.returncode == 1
    assert "UNABLE_TO_VERIFY_LEAF_SIGNATURE" in result.stderr  # node: the issuer is not trusted


def test_the_documented_example_passes(ecr_server: EcrServer, tmp_path: Path) -> None:
    # docs/server.rst shows examples/javascript/virtual_time.test.mjs; an ES module finds its
    # packages in a node_modules beside it (NODE_PATH is for CommonJS only)
    example = Path(__file__).resolve().parent.parent / "examples" / "javascript" / "virtual_time.test.mjs"
    (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    (tmp_path / example.name).write_text(example.read_text())
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # this checkout's pytest-ecr
    out = run([str(NODE), "--test", example.name], cwd=tmp_path, env={**os.environ, "PATH": path})
    assert "# pass 2\n" in out
    assert "# fail 0\n" in out
