"""``pytest-ecr``'s command line: bad input ends it with one line on stderr, never a traceback.

Option values argparse refuses exit with status 2 (argparse's), the account and region checked by
the same validators as ``--ecr-account-id`` / ``--ecr-region``; a seed file that cannot be read or
parsed and a port that cannot be listened on exit with status 1.
"""

from __future__ import annotations

import importlib.metadata
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_ecr.server.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """(exit status, stderr) of ``pytest-ecr argv`` that must stop before serving."""
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    err = capsys.readouterr().err
    code = stopped.value.code
    if isinstance(code, str):  # SystemExit("message"): Python prints it and exits with 1
        return 1, code + "\n"
    return int(code or 0), err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--account", "12"], "argument --account: must be 12 digits, got '12'"),
        (
            ["--region", "europe"],
            "argument --region: must be an AWS region name such as us-east-1, got 'europe'",
        ),
        (["--port", "99999"], "argument --port: must be a port number from 0 to 65535, got '99999'"),
        (["--port", "http"], "argument --port: must be a port number from 0 to 65535, got 'http'"),
        (["--port", "-1"], "argument --port: must be a port number from 0 to 65535, got '-1'"),
    ],
)
def test_bad_option_values_are_one_usage_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    assert run(capsys, "serve", *argv) == (
        2,
        f"pytest-ecr serve: error: {line} (see pytest-ecr serve --help)\n",
    )


def test_the_same_validator_as_the_pytest_options(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyfile("def test_x(ecr): pass")
    result = pytester.runpytest("--ecr-region", "europe")
    result.stderr.fnmatch_lines(["*ecr_region must be an AWS region name such as us-east-1, got 'europe'*"])
    status, err = run(capsys, "serve", "--region", "europe")
    assert (status, "must be an AWS region name such as us-east-1, got 'europe'" in err) == (2, True)


def test_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys) == (
        2,
        "pytest-ecr: error: the following arguments are required: command (see pytest-ecr --help)\n",
    )


def test_a_missing_seed_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    assert run(capsys, "serve", "--seed", str(missing)) == (
        1,
        f"pytest-ecr: {missing}: cannot read the seed file: No such file or directory\n",
    )


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("seed.json", b'{"repositories": [', "not valid JSON: Expecting value: line 1 column 19 (char 18)"),
        ("seed.json", b"[" * 100_000, "not valid JSON: nested too deeply"),
        ("seed.json", b"\xff\xfe{}", "cannot read the seed file: it is not UTF-8 text"),
        (
            "seed.json",
            b'["a"]',
            "expected an object with keys among repositories, images, upstream, account, region",
        ),
    ],
)
def test_a_malformed_seed_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    seed = tmp_path / name
    seed.write_bytes(content)
    assert run(capsys, "serve", "--seed", str(seed)) == (1, f"pytest-ecr: {seed}: {problem}\n")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TOML seed files need tomllib (3.11+)")
def test_a_malformed_toml_seed_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    seed = tmp_path / "seed.toml"
    seed.write_text("repositories = [\n")
    status, err = run(capsys, "serve", "--seed", str(seed))
    assert (status, err.startswith(f"pytest-ecr: {seed}: not valid TOML: "), err.count("\n")) == (1, True, 1)


def test_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(capsys, "serve", "--port", str(port)) == (
            1,
            f"pytest-ecr: cannot listen on 127.0.0.1:{port}: Address already in use\n",
        )


def test_version_of_the_installed_distribution() -> None:
    # a subprocess, as a user runs it: the version is the installed "pytest-ecr" distribution's
    done = subprocess.run(
        [sys.executable, "-m", "pytest_ecr.server.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"pytest-ecr {importlib.metadata.version('pytest-ecr')}\n",
        "",
    )


def test_a_traceback_never_reaches_the_user(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text("{")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_ecr.server.cli", "serve", "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
