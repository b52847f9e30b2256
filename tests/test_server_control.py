"""The control API (``/_pytest_ecr/...``) over HTTP, and the ``pytest-ecr clock | seed | reset |
export`` commands on it, against a server in this process."""

from __future__ import annotations

import base64
import json
import urllib.request
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from pytest_ecr import FakeECR
from pytest_ecr.server import EcrServer
from pytest_ecr.server.cli import main
from pytest_ecr.server.state import FORMAT, decode_state

JSON = {"Content-Type": "application/json"}
TWELVE_HOURS = 12 * 3600  # ECR's authorization tokens: "valid for 12 hours" (GetAuthorizationToken docs)


def control(
    server: EcrServer, method: str, route: str, body: bytes | None = None, **headers: str
) -> tuple[int, Any]:
    conn = HTTPConnection(server.registry, timeout=10)
    try:
        conn.request(method, f"/_pytest_ecr/{route}", body=body, headers=headers)
        reply = conn.getresponse()
        assert reply.getheader("Content-Type") == "application/json"
        return reply.status, json.loads(reply.read())
    finally:
        conn.close()


def post(server: EcrServer, route: str, data: Any) -> tuple[int, Any]:
    return control(server, "POST", route, json.dumps(data).encode(), **{"Content-Type": "application/json"})


def cli(capsys: pytest.CaptureFixture[str], server: EcrServer, *argv: str) -> Any:
    """The JSON a control command prints."""
    assert main([*argv, "--endpoint", server.url]) == 0
    return json.loads(capsys.readouterr().out)


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    code = stopped.value.code
    return code if isinstance(code, str) else capsys.readouterr().err


def registry_status(server: EcrServer, password: str) -> int:
    token = base64.b64encode(f"AWS:{password}".encode()).decode()
    request = urllib.request.Request(f"{server.url}/v2/", headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_clock_now_advance_and_freeze(
    ecr: FakeECR, ecr_server: EcrServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ecr.clock.freeze("2026-01-01T00:00:00Z")
    assert cli(capsys, ecr_server, "clock", "now") == {
        "now": 1767225600.0,
        "time": "2026-01-01T00:00:00+00:00",
        "frozen": True,
    }
    assert cli(capsys, ecr_server, "clock", "advance", "12h")["time"] == "2026-01-01T12:00:00+00:00"
    assert cli(capsys, ecr_server, "clock", "advance", "90")["time"] == "2026-01-01T12:01:30+00:00"
    assert cli(capsys, ecr_server, "clock", "advance", "2d")["time"] == "2026-01-03T12:01:30+00:00"
    assert cli(capsys, ecr_server, "clock", "advance", "15m")["time"] == "2026-01-03T12:16:30+00:00"
    assert cli(capsys, ecr_server, "clock", "advance", "1.5s")["now"] == 1767442591.5
    assert cli(capsys, ecr_server, "clock", "freeze", "--at", "2026-02-01T00:00:00Z")["time"] == (
        "2026-02-01T00:00:00+00:00"
    )
    assert ecr.clock.now() == 1769904000.0  # the fake's own clock moved: one clock


def test_clock_freeze_stops_a_running_clock(ecr: FakeECR, ecr_server: EcrServer) -> None:
    status, frozen = post(ecr_server, "clock/freeze", {})
    assert status == 200
    assert frozen["frozen"] is True
    assert control(ecr_server, "GET", "clock")[1]["now"] == frozen["now"]
    ecr.clock.unfreeze()


def test_token_expires_after_clock_advance(
    ecr: FakeECR, ecr_server: EcrServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, ecr_server, "clock", "freeze")
    password = ecr_server.login()[1]
    assert registry_status(ecr_server, password) == 200
    cli(capsys, ecr_server, "clock", "advance", f"{TWELVE_HOURS - 1}s")
    assert registry_status(ecr_server, password) == 200
    cli(capsys, ecr_server, "clock", "advance", "1s")
    assert registry_status(ecr_server, password) == 401


def test_a_scan_completes_when_the_clock_is_advanced(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.create_repository("scanned")
    ecr.push_image("scanned", "v1")
    client = ecr_server.client()
    client.start_image_scan(repositoryName="scanned", imageId={"imageTag": "v1"})
    described = client.describe_image_scan_findings(repositoryName="scanned", imageId={"imageTag": "v1"})
    assert described["imageScanStatus"]["status"] == "IN_PROGRESS"
    assert post(ecr_server, "clock/advance", {"seconds": ecr.options.scan_seconds})[0] == 200
    described = client.describe_image_scan_findings(repositoryName="scanned", imageId={"imageTag": "v1"})
    assert described["imageScanStatus"]["status"] == "COMPLETE"


def test_seed_reset_and_export(
    ecr: FakeECR, ecr_server: EcrServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps({"repositories": ["web/app"], "images": {"web/app": ["v1", ["v2", "latest"]]}})
    )
    assert cli(capsys, ecr_server, "seed", str(seed)) == {"repositories": 1, "images": 2}
    tags = ecr_server.client().list_images(repositoryName="web/app")["imageIds"]
    assert sorted(i["imageTag"] for i in tags) == ["latest", "v1", "v2"]

    exported = tmp_path / "state.json"
    assert main(["export", "--output", str(exported), "--endpoint", ecr_server.url]) == 0
    document = json.loads(exported.read_text())
    assert (document["format"], document["version"]) == (FORMAT, 1)
    store, _ = decode_state(document, str(exported))
    assert sorted(store.registries[(ecr.account_id, ecr.region)].repositories["web/app"].tag_index) == [
        "latest",
        "v1",
        "v2",
    ]
    assert cli(capsys, ecr_server, "export")["format"] == FORMAT

    assert cli(capsys, ecr_server, "reset") == {"repositories": 0, "images": 0}
    assert ecr_server.client().describe_repositories()["repositories"] == []
    assert len(ecr.calls) == 1  # the reset emptied the call log too: only the DescribeRepositories since


def test_a_bad_seed_is_refused_whole(ecr: FakeECR, ecr_server: EcrServer) -> None:
    status, error = post(ecr_server, "seed", {"repositories": ["good", "Bad Name"], "imagez": {}})
    assert status == 400
    assert error["error"] == "BadSeed"
    assert "imagez" in error["message"]
    assert "'Bad Name' is not valid in ECR" in error["message"]
    assert ecr.store.registries.get((ecr.account_id, ecr.region)) is None  # not even "good"


@pytest.mark.parametrize(
    ("method", "route", "body", "headers", "status", "code", "message"),
    [
        (
            "GET",
            "nothing",
            None,
            {},
            404,
            "NotFound",
            "no control route /_pytest_ecr/nothing; the routes are GET",
        ),
        ("GET", "reset", None, {}, 405, "MethodNotAllowed", "/_pytest_ecr/reset takes POST, not GET"),
        (
            "POST",
            "clock/advance",
            b'{"seconds": 1}',
            {},
            415,
            "UnsupportedMediaType",
            "Content-Type: application/json",
        ),
        (
            "POST",
            "clock/advance",
            b"{",
            {"Content-Type": "application/json"},
            400,
            "BadJSON",
            "not valid JSON",
        ),
        (
            "POST",
            "clock/advance",
            b"[1]",
            {"Content-Type": "application/json"},
            400,
            "BadJSON",
            "a JSON object",
        ),
        (
            "POST",
            "clock/advance",
            b'{"seconds": "1h"}',
            {"Content-Type": "application/json"},
            400,
            "BadParameter",
            "seconds must be a number, got '1h'",
        ),
        (
            "POST",
            "clock/advance",
            b'{"seconds": -5}',
            {"Content-Type": "application/json"},
            400,
            "BadParameter",
            "never goes backwards",
        ),
        (
            "POST",
            "clock/advance",
            b'{"seconds": 1, "minutes": 2}',
            {"Content-Type": "application/json"},
            400,
            "BadParameter",
            "unknown key(s) minutes; accepted: seconds",
        ),
        (
            "POST",
            "clock/freeze",
            b'{"at": "yesterday-ish"}',
            {"Content-Type": "application/json"},
            400,
            "BadParameter",
            "yesterday-ish",
        ),
        *[
            ("POST", route, body, JSON, 400, "BadParameter", message)
            for route, body, message in [
                ("clock/advance", b'{"seconds": 1e400}', "a number too large for a time"),
                ("clock/advance", b'{"seconds": 1' + b"0" * 400 + b"}", "a number too large for a time"),
                ("clock/advance", b'{"seconds": 1e12}', "the clock cannot pass 9000-01-01T00:00:00Z"),
                ("clock/freeze", b'{"at": 1e20}', "the clock cannot pass 9000-01-01T00:00:00Z"),
                (
                    "clock/freeze",
                    b'{"at": "9999-12-31T23:59:59Z"}',
                    "the clock cannot pass 9000-01-01T00:00:00Z",
                ),
            ]
        ],
        (
            "GET",
            "clock",
            None,
            {"Host": "attacker.example:80"},
            403,
            "Forbidden",
            "must name a loopback host",
        ),
    ],
)
def test_bad_control_requests_get_json_errors(
    ecr_server: EcrServer,
    method: str,
    route: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
    code: str,
    message: str,
) -> None:
    got_status, error = control(ecr_server, method, route, body, **headers)
    assert (got_status, error["error"]) == (status, code)
    assert message in error["message"]


def test_a_frozen_clock_is_never_moved_back(ecr: FakeECR, ecr_server: EcrServer) -> None:
    ecr.clock.freeze("2026-06-01T00:00:00Z")
    status, error = post(ecr_server, "clock/freeze", {"at": "2026-01-01T00:00:00Z"})
    assert (status, error["error"]) == (400, "BadParameter")
    assert ecr.clock.now() == 1780272000.0  # 2026-06-01T00:00:00Z, unchanged


def test_cli_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], ecr_server: EcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_ECR", raising=False)
    assert cli_error(capsys, "clock", "now") == (
        "pytest-ecr: no server: give --endpoint URL or set AWS_ENDPOINT_URL_ECR"
    )
    assert cli_error(capsys, "clock", "advance", "5x", "--endpoint", ecr_server.url).endswith(
        "argument by: expected seconds or a number with s, m, h or d (such as 12h), not '5x' "
        "(see pytest-ecr clock advance --help)\n"
    )
    assert cli_error(capsys, "clock", "freeze", "--at", "soon", "--endpoint", ecr_server.url).startswith(
        "pytest-ecr: "
    )
    unreachable = cli_error(capsys, "clock", "now", "--endpoint", "http://127.0.0.1:9")
    assert unreachable.startswith("pytest-ecr: cannot reach http://127.0.0.1:9/_pytest_ecr/clock: ")


def test_the_environment_variable_names_the_server(
    ecr: FakeECR, ecr_server: EcrServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # the ecr_server fixture sets AWS_ENDPOINT_URL_ECR, as a JavaScript or shell suite would
    ecr.clock.freeze("2026-01-01T00:00:00Z")
    assert main(["clock", "now"]) == 0
    assert json.loads(capsys.readouterr().out)["now"] == 1767225600.0
