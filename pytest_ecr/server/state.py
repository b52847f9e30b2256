"""The fake's state as a versioned JSON document: ``serve --state PATH`` and ``GET state``.

The document is ``{"format": "pytest-ecr state", "version": 1, "account", "region", "clock",
"counters", "store"}``. ``store`` is the :class:`~pytest_ecr.store.Store` walked field by field:
JSON values stand for themselves, and anything else is an object with one ``$``-key --
``{"$obj": class, "$id": n, "fields": {...}}`` for the store's own dataclasses (a later
occurrence of the same object is ``{"$ref": n}``, so jobs and images that share a scan still
share it), ``$tuple``, ``$dict`` (keys that are not strings), ``$bytes`` (base64), ``$float``
(infinities), ``$count``. Only the classes in :data:`_CLASSES` are ever built, so a file from
anywhere else is refused, never executed (which is why this is not pickle).

A file is read whole and decoded into a new store before anything is replaced: a corrupt or
foreign file is refused with a :class:`StateError` naming the file, and nothing is half-loaded.
Writes are atomic: a temporary file in the same directory, flushed and fsynced, renamed over
the old one, then the directory fsynced.

Not kept: the call log, the server's request log, fault rules and options (``serve``'s
command line gives those again).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import itertools
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import agenda, blobs, store, synthetic, upstreams
from ..events import EventLog

if TYPE_CHECKING:
    from ..fake import FakeECR

FORMAT = "pytest-ecr state"
VERSION = 1

_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        store.Image,
        store.SigningJob,
        store.ScanFailure,
        store.Scan,
        store.Upload,
        store.Repository,
        store.LifecyclePolicy,
        store.LifecyclePreview,
        store.ReplicationStatus,
        store.PendingReplication,
        store.Backfill,
        store.AuthToken,
        store.Registry,
        store.Store,
        agenda.Job,
        agenda.Agenda,
        blobs.Blob,
        synthetic.SyntheticImage,
        upstreams.UpstreamImage,
        upstreams.Upstreams,
    )
}
#: fields never saved: the copy-on-access bookkeeping of a restored snapshot (ids of jobs still the
#: snapshot's, and their copy memo), which means nothing in another process; loaded as their defaults
_TRANSIENT: dict[type, frozenset[str]] = {agenda.Agenda: frozenset({"_shared", "_memo"})}
#: each class's saved field names, looked up once (dataclasses.fields is slow for every image)
_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls) if f.name not in _TRANSIENT.get(cls, ()))
    for cls in _CLASSES.values()
}
_COUNT = re.compile(r"count\((-?[0-9]+)\)")


class StateError(ValueError):
    """A state file or document that cannot be loaded (corrupt, foreign, another version)."""


def counter_value(counter: Any) -> int:
    """The next number an ``itertools.count`` gives, without taking it (its repr says it)."""
    match = _COUNT.fullmatch(repr(counter))
    if match is None:
        raise TypeError(f"cannot save the counter {counter!r}")
    return int(match.group(1))


class _Encoder:
    def __init__(self) -> None:
        self.ids: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps encoded objects alive, so their id()s stay unique

    def value(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"$float": repr(obj)}
        if isinstance(obj, list):
            return [self.value(item) for item in obj]
        if isinstance(obj, tuple):
            return {"$tuple": [self.value(item) for item in obj]}
        if isinstance(obj, (bytes, bytearray)):
            return {"$bytes": base64.b64encode(obj).decode("ascii")}
        if type(obj) is dict:
            if all(isinstance(key, str) and not key.startswith("$") for key in obj):
                return {key: self.value(item) for key, item in obj.items()}
            return {"$dict": [[self.value(key), self.value(item)] for key, item in obj.items()]}
        if type(obj) is itertools.count:
            return {"$count": counter_value(obj)}
        return self.shared(obj)

    def shared(self, obj: Any) -> Any:
        seen = self.ids.get(id(obj))
        if seen is not None:
            return {"$ref": seen}
        number = self.ids[id(obj)] = len(self.ids)
        self.keep.append(obj)
        if isinstance(obj, store.ImageTable):
            return {"$obj": "ImageTable", "$id": number, "items": self.value(list(obj.items()))}
        if isinstance(obj, EventLog):
            fields = {"pending": obj._pending, "events": obj._events, "times": obj._times}
            return {"$obj": "EventLog", "$id": number, "fields": self.value(fields)}
        names = _FIELDS.get(type(obj))
        if names is None:
            raise TypeError(f"the state file format has no place for {type(obj).__qualname__} objects")
        name = type(obj).__name__
        value = self.value
        fields = {
            key: None if name == "Upload" and key == "sha256" else value(getattr(obj, key)) for key in names
        }
        return {"$obj": name, "$id": number, "fields": fields}


class _Decoder:
    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}

    def value(self, data: Any) -> Any:
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.value(item) for item in data]
        if not isinstance(data, dict):
            raise StateError(f"unexpected {type(data).__name__}")
        if "$obj" in data:
            return self.obj(data)
        if len(data) == 1:
            ((key, inner),) = data.items()
            if key == "$ref":
                if inner not in self.objects:
                    raise StateError(f"reference to object {inner!r} before it is defined")
                return self.objects[inner]
            if key == "$tuple":
                return tuple(self.value(item) for item in _list(inner, key))
            if key == "$dict":
                return {self.value(pair[0]): self.value(pair[1]) for pair in _pairs(inner)}
            if key == "$bytes":
                return base64.b64decode(_str(inner, key), validate=True)
            if key == "$float":
                if inner not in ("inf", "-inf"):
                    raise StateError(f"$float must be 'inf' or '-inf', not {inner!r}")
                return float(inner)
            if key == "$count":
                if isinstance(inner, bool) or not isinstance(inner, int):
                    raise StateError(f"$count must be a whole number, not {inner!r}")
                return itertools.count(inner)
        if any(key.startswith("$") for key in data):
            raise StateError(f"unknown tagged value with keys {sorted(data)}")
        return {key: self.value(item) for key, item in data.items()}

    def obj(self, data: dict[str, Any]) -> Any:
        name, number = data["$obj"], data.get("$id")
        if isinstance(number, bool) or not isinstance(number, int) or number in self.objects:
            raise StateError(f"object {name!r} has a missing or repeated $id {number!r}")
        if name == "ImageTable":
            table = self.objects[number] = store.ImageTable()
            for digest, image in _pairs(self.value(data.get("items"))):
                table[digest] = image
            return table
        if name == "EventLog":
            log = self.objects[number] = EventLog()
            fields = self.value(data.get("fields"))
            log._pending, log._events, log._times = fields["pending"], fields["events"], fields["times"]
            return log
        cls = _CLASSES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise StateError(f"unknown object type {name!r}")
        obj: Any = object.__new__(cls)
        self.objects[number] = obj
        fields = data.get("fields")
        if not isinstance(fields, dict):
            raise StateError(f"{name} object {number} has no fields object")
        expected = set(_FIELDS[cls])
        if set(fields) != expected:
            raise StateError(
                f"{name} object {number} has fields {sorted(fields)}, expected {sorted(expected)}"
            )
        for key, item in fields.items():
            object.__setattr__(obj, key, self.value(item))  # frozen dataclasses too
        for field in dataclasses.fields(cls):
            if field.name in _TRANSIENT.get(cls, ()):
                default = (
                    field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
                )
                object.__setattr__(obj, field.name, default)
        if isinstance(obj, store.Upload):  # a hash's state cannot be saved: hash the parts again
            obj.sha256 = hashlib.sha256(b"".join(obj.parts))
        return obj


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise StateError(f"{key} must hold a list")
    return value


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise StateError(f"{key} must hold a string")
    return value


def _pairs(value: Any) -> list[Any]:
    if not isinstance(value, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
        raise StateError("expected a list of [key, value] pairs")
    return value


def encode_state(fake: FakeECR) -> dict[str, Any]:
    """The fake's state as a JSON-ready document (taken under the fake's lock)."""
    with fake._lock:
        clock = fake.clock
        return {
            "format": FORMAT,
            "version": VERSION,
            "account": fake.account_id,
            "region": fake.region,
            "clock": {"offset": clock._offset, "frozen_at": clock.now() if clock.frozen else None},
            "counters": {"images": counter_value(fake._image_counter)},
            "store": _Encoder().value(fake.store),
        }


def decode_state(data: Any, where: str) -> tuple[store.Store, dict[str, Any]]:
    """(the store, the rest of the document) from a document :func:`encode_state` made; a
    :class:`StateError` naming ``where`` for anything else."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f'{where}: not a pytest-ecr state file (no "format": "{FORMAT}" header)')
    if data.get("version") != VERSION:
        raise StateError(
            f"{where}: a pytest-ecr state file of format version {data.get('version')!r}; "
            f"this pytest-ecr reads version {VERSION}"
        )
    try:
        result = _Decoder().value(data["store"])
        clock, counters = data["clock"], data["counters"]
        _number(clock["offset"]), _number(counters["images"])
        if clock["frozen_at"] is not None:
            _number(clock["frozen_at"])
    except StateError as err:
        raise StateError(f"{where}: damaged pytest-ecr state: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise StateError(f"{where}: damaged pytest-ecr state: {type(err).__name__}: {err}") from None
    if not isinstance(result, store.Store):
        raise StateError(f'{where}: damaged pytest-ecr state: "store" is not a Store')
    return result, data


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StateError(f"expected a number, not {value!r}")
    return float(value)


def install(fake: FakeECR, new: store.Store) -> None:
    """Make ``new`` the fake's store, wired to the fake as the one it was built with."""
    with fake._lock:
        fake.store = new
        new.events.settle = fake.settle_due
        new.events.guard = fake._lock


def reset(fake: FakeECR) -> None:
    """Every account and region empty again, the call log too; the clock is left as it is."""
    with fake._lock:
        install(fake, store.Store())
        fake.calls.clear()


def load(fake: FakeECR, path: Path) -> None:
    """Replace the fake's state by the file's; a :class:`StateError` (and nothing changed) if the
    file is not a whole pytest-ecr state file."""
    try:
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise StateError(f"{path}: not a pytest-ecr state file: it is not UTF-8 text") from None
    except (ValueError, RecursionError) as err:
        raise StateError(f"{path}: not a pytest-ecr state file: not valid JSON ({err})") from None
    new, document = decode_state(data, str(path))
    clock = document["clock"]
    with fake._lock:
        install(fake, new)
        fake._image_counter = itertools.count(int(document["counters"]["images"]))
        if clock["frozen_at"] is not None:
            fake.clock.freeze(float(clock["frozen_at"]))
        elif clock["offset"] > fake.clock._offset:
            fake.clock.advance(float(clock["offset"]) - fake.clock._offset)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` so that a crash at any moment leaves the old file or the new one."""
    directory = path.parent
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # not every platform can open a directory
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class StateFile:
    """Where ``serve --state`` keeps the fake's state: written after every request that changed
    it (the encoding compared with the last one written)."""

    def __init__(self, fake: FakeECR, path: Path) -> None:
        self.fake, self.path = fake, path
        self._written = b""
        self.writes = 0
        #: whether the fake's state came from the file (it existed when the server started)
        self.loaded = False

    def save(self) -> None:
        with self.fake._lock:
            data = json.dumps(encode_state(self.fake), separators=(",", ":"), allow_nan=False).encode()
            if data == self._written:
                return
            write_atomically(self.path, data)
            self._written = data
            self.writes += 1
