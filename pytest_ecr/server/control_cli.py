"""``pytest-ecr clock | seed | reset | export``: the control API (:mod:`.control`) from a shell.

Each command sends one request to a running ``pytest-ecr serve`` (``--endpoint``, default
``$AWS_ENDPOINT_URL_ECR``) and prints its JSON answer; an error answer or an unreachable server
ends it with one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .control import PREFIX
from .http import ENDPOINT_VARIABLE

_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``12h`` or ``2d``."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected seconds or a number with s, m, h or d (such as 12h), not {text!r}"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def add_commands(commands: Any) -> None:
    """The control subcommands, on the ``pytest-ecr`` parser's subparsers."""
    endpoint = argparse.ArgumentParser(add_help=False)
    endpoint.add_argument(
        "--endpoint",
        default=os.environ.get(ENDPOINT_VARIABLE),
        help=f"the server's URL, as `serve` prints it (default: ${ENDPOINT_VARIABLE})",
    )
    clock = commands.add_parser("clock", help="read, advance or freeze a running server's clock")
    actions = clock.add_subparsers(dest="action", required=True)
    actions.add_parser("now", parents=[endpoint], help="print the server's time")
    advance = actions.add_parser("advance", parents=[endpoint], help="move the server's time forward")
    advance.add_argument("by", type=duration, help="seconds, or a number with s, m, h or d: 90, 15m, 12h, 2d")
    freeze = actions.add_parser("freeze", parents=[endpoint], help="stop the server's time (at --at)")
    freeze.add_argument("--at", help="epoch seconds or an ISO 8601 time (default: now)")
    seed = commands.add_parser("seed", parents=[endpoint], help="seed a running server from a seed file")
    seed.add_argument("file", help="JSON or TOML seed file, as for serve --seed")
    commands.add_parser("reset", parents=[endpoint], help="empty a running server's every account and region")
    export = commands.add_parser(
        "export", parents=[endpoint], help="print (or write) a running server's state"
    )
    export.add_argument("--output", "-o", help="write it to this file (atomically) instead")


def run(args: argparse.Namespace, load_seed: Callable[[str], dict[str, Any]]) -> int:
    """Run one control subcommand of the parsed ``args``; ``load_seed`` reads a seed file as
    ``serve --seed`` does."""
    if not args.endpoint:
        raise SystemExit(f"pytest-ecr: no server: give --endpoint URL or set {ENDPOINT_VARIABLE}")
    if args.command == "clock":
        if args.action == "now":
            answer = request(args.endpoint, "GET", "clock")
        elif args.action == "advance":
            answer = request(args.endpoint, "POST", "clock/advance", {"seconds": args.by})
        else:
            at = float(args.at) if args.at and re.fullmatch(r"[0-9]+(\.[0-9]+)?", args.at) else args.at
            answer = request(args.endpoint, "POST", "clock/freeze", {} if at is None else {"at": at})
    elif args.command == "seed":
        answer = request(args.endpoint, "POST", "seed", load_seed(args.file))
    elif args.command == "reset":
        answer = request(args.endpoint, "POST", "reset", {})
    else:
        answer = request(args.endpoint, "GET", "state")
        if args.output:
            from .state import write_atomically

            write_atomically(Path(args.output), json.dumps(answer).encode())
            return 0
    print(json.dumps(answer))
    return 0


def request(endpoint: str, method: str, route: str, body: Any = None) -> Any:
    """One control request; its JSON answer, or SystemExit with the server's error message."""
    url = endpoint.rstrip("/") + PREFIX + route
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data, headers, method=method), timeout=60
        ) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as err:
        try:
            message = json.loads(err.read())["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {err.code} from {url}: is this a pytest-ecr server?"
        raise SystemExit(f"pytest-ecr: {message}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise SystemExit(f"pytest-ecr: cannot reach {url}: {reason}") from None
    except ValueError:
        raise SystemExit(f"pytest-ecr: {url} did not answer JSON: is this a pytest-ecr server?") from None
