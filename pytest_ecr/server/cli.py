"""``pytest-ecr serve``: the fake ECR as a standalone server, for clients in other processes
(``--state``: :mod:`.persistent`); ``pytest-ecr clock | seed | reset | export`` drive a running
one (:mod:`.control_cli`).

Bad input ends the command with one line on stderr: a bad option value with argparse's usage
error (exit status 2, the account and region checked by the pytest options' own validators); a
seed file that cannot be read or parsed, or a port that cannot be listened on, with
``pytest-ecr: ...`` (exit status 1).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..calls import CallLog
from ..config import check_account_id, check_region
from ..fake import DEFAULT_ACCOUNT, DEFAULT_REGION, FakeECR, FakeError
from ..seed_schema import SEED_KEYS, SeedError, check_seed
from . import control_cli
from .hosts import NAMINGS
from .http import LOOPBACK, EcrServer
from .persistent import PersistentServer, open_state

#: how many calls (``FakeECR.calls``) and requests (``EcrServer.log``) a long-running server keeps
DEFAULT_LOG_LIMIT = 1000


def load_seed(path: str) -> dict[str, Any]:
    """A seed file: JSON, or TOML for a ``.toml`` name, with the ``ecr_seed`` marker's arguments
    ``repositories`` (names or CreateRepository parameter dicts), ``images``, ``upstream``,
    ``account`` and ``region``, checked as a whole: a file that cannot be read, parsed or used
    exits with one line naming the file (and each problem's key path)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SystemExit(f"pytest-ecr: {path}: cannot read the seed file: it is not UTF-8 text") from None
    except OSError as err:
        raise SystemExit(f"pytest-ecr: {path}: cannot read the seed file: {err.strerror or err}") from None
    if path.endswith(".toml"):
        try:
            tomllib = importlib.import_module("tomllib")
        except ImportError:  # Python 3.10
            raise SystemExit("pytest-ecr: TOML seed files need Python 3.11+; use JSON") from None
        kind, parse = "TOML", tomllib.loads
    else:
        kind, parse = "JSON", json.loads
    try:
        data: Any = parse(text)
    except RecursionError:
        raise SystemExit(f"pytest-ecr: {path}: not valid {kind}: nested too deeply") from None
    except ValueError as err:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise SystemExit(f"pytest-ecr: {path}: not valid {kind}: {err}") from None
    if not isinstance(data, dict):
        raise SystemExit(f"pytest-ecr: {path}: expected an object with keys among {', '.join(SEED_KEYS)}")
    try:
        check_seed(data, path)
    except SeedError as err:
        raise SystemExit(f"pytest-ecr: {err}") from None
    return data


def _checked(check: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse type from one of the plugin's validators: the same rule, argparse's error."""

    def convert(value: str) -> str:
        try:
            return check(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return convert


def _port(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", value) or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {value!r}")
    return int(value)


def _version() -> str:
    try:
        return importlib.metadata.version("pytest-ecr")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line, not argparse's usage block: the usage is a --help away
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _log_limit(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text):  # ASCII digits only: str.isdigit takes superscripts too
        raise argparse.ArgumentTypeError(f"expected a whole number of entries, 0 or more, not {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pytest-ecr", description="A fake Amazon ECR.")
    parser.add_argument("--version", action="version", version=f"pytest-ecr {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the ECR API and the OCI registry API over HTTP")
    serve.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: any free port)")
    serve.add_argument("--seed", help="JSON or TOML file of repositories and images to create first")
    serve.add_argument(
        "--account", type=_checked(check_account_id), default=DEFAULT_ACCOUNT, help="the default account id"
    )
    serve.add_argument(
        "--region", type=_checked(check_region), default=DEFAULT_REGION, help="the default region"
    )
    serve.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a certificate from a CA made for this run"
    )
    serve.add_argument(
        "--ca-file", metavar="PATH", help="with --tls: write the run's CA certificate (PEM) to PATH"
    )
    serve.add_argument(
        "--naming",
        choices=NAMINGS,
        default="account",
        help="how API answers name registries: <account>.dkr.ecr.<region>.localhost:PORT (account, "
        "the default) or 127.0.0.1:PORT (loopback)",
    )
    serve.add_argument("--quiet", action="store_true", help="do not log requests")
    serve.add_argument(
        "--log-limit",
        type=_log_limit,
        default=DEFAULT_LOG_LIMIT,
        metavar="N",
        help=f"keep the last N calls and requests in memory (default: {DEFAULT_LOG_LIMIT})",
    )
    serve.add_argument(
        "--state",
        metavar="PATH",
        help="keep the state in this JSON file across restarts (--seed applies only when it does not exist yet)",
    )
    control_cli.add_commands(commands)
    _add_diff(commands)
    return parser


def _add_diff(commands: Any) -> None:
    diff = commands.add_parser(
        "diff",
        help="replay a recording (pytest --ecr-record DIR) against a fresh fake and print the differences",
    )
    diff.add_argument("directory", help="the recording's directory")


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> int:
    """Run the server until interrupted (or until ``stop`` is set)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "diff":
        from ..drift import main as diff

        return diff(args.directory)
    if args.command != "serve":
        return control_cli.run(args, load_seed)
    if args.ca_file and not args.tls:
        parser.error("--ca-file needs --tls")
    fake = FakeECR(args.account, args.region)
    fake.calls = CallLog(args.log_limit)  # a long run keeps the latest calls, not every one
    state = open_state(fake, args.state) if args.state else None
    if args.seed and not (state and state.loaded):
        try:
            fake.seed(**load_seed(args.seed))
        except FakeError as err:
            raise SystemExit(f"pytest-ecr: {args.seed}: {err}") from None
    options: dict[str, Any] = {
        "port": args.port,
        "verbose": not args.quiet,
        "log_limit": args.log_limit,
        "tls": args.tls,
        "naming": args.naming,
    }
    if state is not None:
        try:
            state.save()  # the file exists (and holds the seed) from the start
        except OSError as err:
            raise SystemExit(
                f"pytest-ecr: cannot write the state file {args.state}: {err.strerror or err}"
            ) from None
    try:
        if state is not None:
            server: EcrServer = PersistentServer(fake, state, **options).start()
        else:
            server = EcrServer(fake, **options).start()
    except OSError as err:  # the port is taken, or not ours to bind
        raise SystemExit(
            f"pytest-ecr: cannot listen on {LOOPBACK}:{args.port}: {err.strerror or err}"
        ) from None
    except RuntimeError as err:  # --tls without trustme
        raise SystemExit(f"pytest-ecr: {err}") from None
    if args.ca_file:
        try:
            server.write_ca(args.ca_file)
        except OSError as err:
            server.stop()
            raise SystemExit(
                f"pytest-ecr: cannot write the CA certificate to {args.ca_file}: {err.strerror or err}"
            ) from None
    print(
        f"pytest-ecr: ECR API at {server.url} (account {args.account}, region {args.region}); "
        f"OCI registry at {server.registry} and {server.registry_host()}; log in with "
        f"`aws ecr get-login-password --endpoint-url {server.url} | docker login -u AWS --password-stdin "
        f"{server.registry}`",
        flush=True,
    )
    if args.tls:
        print(f"pytest-ecr: TLS: trust the CA certificate in {args.ca_file or server.ca_file}", flush=True)
    stopping = stop or threading.Event()
    previous = _stop_on_signals(stopping)
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
        print("pytest-ecr: stopped", file=sys.stderr, flush=True)
    return 0


def _stop_on_signals(stopping: threading.Event) -> dict[int, Any]:
    """Ctrl-C and SIGTERM (``kill``, ``docker stop``, systemd) stop the server cleanly, its state
    saved. Set here rather than left to Python's default: a process started in the background by a
    shell without job control inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt. Only in the main thread, the one Python lets set handlers; returns the
    handlers they replace, put back when the server stops."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, lambda *_: stopping.set())
    return previous


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
