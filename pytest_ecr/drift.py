"""``pytest-ecr diff DIR``: replay a recording against a fresh fake and report where they differ.

The recording (:mod:`pytest_ecr.recording`; one directory per process of the run) is replayed
into one fresh :class:`~pytest_ecr.FakeECR` of the recorded account and region, every process's
calls in the order the endpoint answered them. Values are expected to differ
(times, ids); what is compared is what a user can act on, in these categories:

- ``status``: the HTTP status differs;
- ``error code``: one side failed and the other did not, or both failed with different codes;
- ``error message``: the same error code with another message;
- ``missing field``: a member the endpoint sent that the fake leaves out;
- ``extra field``: a member the fake sends that the endpoint does not;
- ``format``: a member both send, in another form (an integer for a decimal, a string that is an
  ARN on one side and not on the other...); ``1733350000.0`` is a decimal, ``1733350000`` an
  integer, so a time's precision is not judged from one value;
- ``digest``: an image or layer digest of another value (the content determines them).

Ids the endpoint made up (upload ids, pagination tokens) are mapped to the fake's as the replay
goes, so that later requests refer to what the fake made.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .recording import FORMAT, REDACTED, RUN_FILE

CATEGORIES = ("status", "error code", "error message", "missing field", "extra field", "format", "digest")
#: members whose values the content determines (sha256 of the exact bytes sent, spec 3.3): the
#: same requests must give the same values
_DETERMINED = frozenset({"imageDigest", "layerDigest"})
#: members whose values the endpoint invents (or, for a digest, computes otherwise), mapped to
#: the fake's during a replay
_INVENTED = frozenset({"uploadId", "nextToken"}) | _DETERMINED
_STRING_FORMATS = (
    ("ARN", re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:.*")),
    ("sha256 digest", re.compile(r"sha256:[0-9a-f]{64}")),
    ("ISO 8601 time", re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*")),
    ("URL", re.compile(r"https?://.+")),
    ("UUID", re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")),
    ("account id", re.compile(r"[0-9]{12}")),
)


class RecordingError(Exception):
    """The directory is not a recording ``pytest-ecr diff`` can read."""


@dataclass(frozen=True)
class Difference:
    category: str
    operation: str
    #: the recorded call: its file (and the test that made it)
    call: str
    detail: str


def _kind(value: Any) -> str:
    """The form of a JSON value, as compared across endpoint and fake."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        # A number written with a fraction or exponent, whatever its value: a millisecond time
        # that falls on a whole second (one time in a thousand) is not another form.
        return "decimal"
    if isinstance(value, str):
        if value == REDACTED:
            return REDACTED
        return next((name for name, pattern in _STRING_FORMATS if pattern.fullmatch(value)), "string")
    if value is None:
        return "null"
    return "object" if isinstance(value, dict) else "list"


def shape(value: Any, path: str = "") -> dict[str, set[str]]:
    """Every member path of a JSON value (list items merged under ``[]``) and the forms found there."""
    out: dict[str, set[str]] = {}

    def walk(item: Any, where: str) -> None:
        if where:
            out.setdefault(where, set()).add(_kind(item))
        if isinstance(item, dict):
            for key, child in item.items():
                walk(child, f"{where}.{key}" if where else key)
        elif isinstance(item, list):
            for child in item:
                walk(child, f"{where}[]")

    walk(value, path)
    return out


def _digests(value: Any, path: str = "") -> dict[str, list[str]]:
    """The digest members' values, by path (list items merged under ``[]``), sorted."""
    out: dict[str, list[str]] = {}
    if isinstance(value, dict):
        for key, child in value.items():
            where = f"{path}.{key}" if path else key
            if key in _DETERMINED and isinstance(child, str):
                out.setdefault(where, []).append(child)
            else:
                for sub, found in _digests(child, where).items():
                    out.setdefault(sub, []).extend(found)
    elif isinstance(value, list):
        for child in value:
            for sub, found in _digests(child, f"{path}[]").items():
                out.setdefault(sub, []).extend(found)
    return {k: sorted(v) for k, v in out.items()}


def _error(status: int, body: Any) -> tuple[str, str] | None:
    if status < 300:
        return None
    body = body if isinstance(body, dict) else {}
    code = str(body.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP {status}"
    return code, str(body.get("message", body.get("Message", "")))


def _outcome(error: tuple[str, str] | None) -> str:
    return "success" if error is None else f"{error[0]} ({error[1]!r})"


def _tops(paths: set[str]) -> list[str]:
    """``paths`` without those under another of them (``failures[]`` stands for its members)."""
    return sorted(p for p in paths if not any(p.startswith((q + ".", q + "[]")) for q in paths))


def compare(recorded_status: int, recorded: Any, status: int, replayed: Any) -> list[tuple[str, str]]:
    """The differences between the endpoint's response and the fake's to one request, as
    (category, detail)."""
    found: list[tuple[str, str]] = []
    if recorded_status != status:
        found.append(("status", f"endpoint {recorded_status}, fake {status}"))
    theirs, ours = _error(recorded_status, recorded), _error(status, replayed)
    if theirs or ours:
        if theirs is None or ours is None or theirs[0] != ours[0]:
            found.append(("error code", f"endpoint {_outcome(theirs)}, fake {_outcome(ours)}"))
        elif theirs[1] != ours[1]:
            found.append(("error message", f"{theirs[0]}: endpoint {theirs[1]!r}, fake {ours[1]!r}"))
        return found
    their_shape, our_shape = shape(recorded), shape(replayed)
    found.extend(("missing field", path) for path in _tops(their_shape.keys() - our_shape.keys()))
    found.extend(("extra field", path) for path in _tops(our_shape.keys() - their_shape.keys()))
    for path in sorted(their_shape.keys() & our_shape.keys()):
        a, b = their_shape[path] - {REDACTED}, our_shape[path] - {REDACTED}
        if a and b and a != b:
            found.append(("format", f"{path}: endpoint {', '.join(sorted(a))}, fake {', '.join(sorted(b))}"))
    their_digests, our_digests = _digests(recorded), _digests(replayed)
    for path in sorted(their_digests.keys() & our_digests.keys()):
        if their_digests[path] != our_digests[path]:
            # the values go after the tab: a report groups the calls by what comes before it
            found.append(
                ("digest", f"{path} differs\tendpoint {their_digests[path]}, fake {our_digests[path]}")
            )
    return found


def _learn(recorded: Any, replayed: Any, ids: dict[str, str]) -> None:
    """Map the ids the endpoint invented to the fake's, member by member."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key, value in recorded.items():
            if key in _INVENTED and isinstance(value, str) and isinstance(replayed.get(key), str):
                ids[value] = replayed[key]
            else:
                _learn(value, replayed.get(key), ids)


def _substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


def _runs(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    if not directory.is_dir():
        raise RecordingError(f"{directory}: no such directory")
    found = sorted(p.parent for p in directory.glob(f"*/{RUN_FILE}"))
    if (directory / RUN_FILE).exists():
        found.insert(0, directory)
    if not found:
        raise RecordingError(
            f"{directory}: not a recording (no {RUN_FILE}; make one with pytest --ecr-record)"
        )
    for run in found:
        try:
            meta = json.loads((run / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise RecordingError(f"{run / RUN_FILE}: cannot read it: {err}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise RecordingError(f"{run / RUN_FILE}: not a recording of format {FORMAT}")
        yield run, meta


def _calls(directory: Path) -> tuple[dict[str, Any], list[tuple[Path, dict[str, Any]]]]:
    """The recording's metadata (of its first run) and every recorded call of every run, in the
    order the endpoint answered them: the workers of a run share the endpoint's state."""
    runs = list(_runs(directory))
    accounts = {meta["account"] for _, meta in runs}
    if len(accounts) > 1:
        raise RecordingError(f"{directory}: runs against several accounts ({', '.join(sorted(accounts))})")
    calls: list[tuple[float, int, str, Path, dict[str, Any]]] = []
    for index, (run, meta) in enumerate(runs):
        for path in run.glob("[0-9]*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                record["status"] = int(record["status"])
                record["region"] = record.get("region") or meta["region"]
                key = (float(record.get("at", 0.0)), index, path.name)
                missing = {"operation", "request", "response"} - record.keys()
                if missing:
                    raise KeyError(", ".join(sorted(missing)))
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise RecordingError(f"{path}: not a recorded call: {err}") from None
            calls.append((*key, path, record))
    calls.sort(key=lambda call: call[:3])
    return runs[0][1], [(path, record) for *_, path, record in calls]


def replay(directory: Path) -> tuple[int, list[Difference]]:
    """Replay the recording under ``directory`` into one fresh fake; (the number of calls, their
    differences)."""
    from .fake import FakeECR
    from .protocol.model import TARGET_PREFIX

    meta, calls = _calls(directory)
    fake = FakeECR(meta["account"], meta["region"])
    ids: dict[str, str] = {}
    found: list[Difference] = []
    for path, record in calls:
        operation = record["operation"]
        body = json.dumps(_substitute(record["request"], ids)).encode()
        exchange = fake.handle(TARGET_PREFIX + operation, body, meta["account"], record["region"])
        replayed = json.loads(exchange.body)
        _learn(record["response"], replayed, ids)
        label = str(path.relative_to(directory)) + (f" ({record['test']})" if record.get("test") else "")
        found.extend(
            Difference(category, operation, label, detail)
            for category, detail in compare(record["status"], record["response"], exchange.status, replayed)
        )
    return len(calls), found


def report(count: int, found: list[Difference]) -> str:
    calls = len({d.call for d in found})
    lines = [f"pytest-ecr diff: {count} recorded call(s) replayed against the fake; {calls} differ"]
    for category in CATEGORIES:
        # one entry per difference, however many calls showed it
        groups: dict[tuple[str, str], list[Difference]] = {}
        for d in found:
            if d.category == category:
                groups.setdefault((d.operation, d.detail.split("\t")[0]), []).append(d)
        if groups:
            lines.append(f"\n{category} ({len(groups)}):")
            for (operation, detail), these in groups.items():
                more = f", and {len(these) - 1} more call(s)" if len(these) > 1 else ""
                example = these[0].detail.partition("\t")[2]
                lines.append(f"  {operation}: {detail}" + (f" ({example})" if example else ""))
                lines.append(f"      in {these[0].call}{more}")
    return "\n".join(lines)


def main(directory: str) -> int:
    """Print the report; exit status 0 when nothing differs, 1 when something does, 2 when the
    directory is not a recording."""
    try:
        count, found = replay(Path(directory))
    except RecordingError as err:
        print(f"pytest-ecr: {err}", file=sys.stderr)
        return 2
    print(report(count, found))
    return 1 if found else 0
