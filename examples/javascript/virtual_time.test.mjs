// A JavaScript (AWS SDK v3) test suite driving pytest-ecr's clock through its control API.
//
//   pytest-ecr serve --port 5000 &            # or: pytest-ecr serve --state ecr-state.json
//   export AWS_ENDPOINT_URL_ECR=http://127.0.0.1:5000 AWS_REGION=us-east-1
//   export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=x
//   npm install @aws-sdk/client-ecr && node --test virtual_time.test.mjs
//
// tests/test_js_sdk_v3.py runs the same calls against a server in pytest.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  ECRClient, StartImageScanCommand,
  GetAuthorizationTokenCommand, waitUntilImageScanComplete,
} from "@aws-sdk/client-ecr";

const endpoint = process.env.AWS_ENDPOINT_URL_ECR;
const client = new ECRClient({ endpoint });

// The control API: JSON in and out, under /_pytest_ecr/ (a path ECR never uses).
async function control(route, body = {}) {
  const answer = await fetch(`${endpoint}/_pytest_ecr/${route}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`${route}: ${(await answer.json()).message}`);
  return answer.json();
}

// What the ecr fixture does between pytest tests: every account and region empty again.
beforeEach(() => control("reset"));

test("a scan waiter finishes at once when the clock moved past the scan", async () => {
  await control("seed", { images: { app: ["v1"] } });     // a seed file's object: an image tagged v1
  const image = { repositoryName: "app", imageId: { imageTag: "v1" } };
  await client.send(new StartImageScanCommand(image));
  await control("clock/advance", { seconds: 10 });          // the fake's scans take 10 s of its time
  const result = await waitUntilImageScanComplete({ client, maxWaitTime: 60 }, image);
  assert.equal(result.state, "SUCCESS");                    // first poll: no real 5 s sleep
});

test("a registry token expires after 12 hours", async () => {
  const { authorizationData } = await client.send(new GetAuthorizationTokenCommand({}));
  const login = async () => (await fetch(`${endpoint}/v2/`, {
    headers: { Authorization: `Basic ${authorizationData[0].authorizationToken}` },
  })).status;
  assert.equal(await login(), 200);
  execFileSync("pytest-ecr", ["clock", "advance", "12h", "--endpoint", endpoint]);  // or control(...)
  assert.equal(await login(), 401);
});
