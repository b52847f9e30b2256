"""Signing Docker schema 1 manifests: libtrust's "pretty JWS" with an ES256 (ECDSA P-256) key.

Schema 1 manifests carry their signatures inside the JSON: the signed payload is the manifest
without its ``signatures`` member, recoverable as ``signed[:formatLength] + formatTail`` from the
protected header (Docker's manifest-v2-1 spec, "Signed manifests"). A registry that converts a
schema 2 manifest signs it with its own key (distribution's manifest handler uses the registry's
trust key), so the signature proves nothing about who built the image: the fake signs with one
key made per process. P-256 is done here in plain integers, so the plugin needs no crypto library.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
from typing import Any

# NIST P-256 (FIPS 186-4, D.1.2.3; SEC 2 secp256r1)
_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_A = _P - 3
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)

Point = tuple[int, int] | None  # None is the point at infinity


def _add(p: Point, q: Point) -> Point:
    if p is None:
        return q
    if q is None:
        return p
    (x1, y1), (x2, y2) = p, q
    if x1 == x2 and (y1 + y2) % _P == 0:
        return None
    # the tangent when doubling, the chord otherwise
    rise, run = (3 * x1 * x1 + _A, 2 * y1) if p == q else (y2 - y1, x2 - x1)
    slope = rise * pow(run, -1, _P) % _P
    x3 = (slope * slope - x1 - x2) % _P
    return x3, (slope * (x1 - x3) - y1) % _P


def _multiply(k: int, point: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def b64url(data: bytes) -> str:
    """Base64url without padding, as JOSE writes it (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@functools.cache
def _key() -> tuple[int, tuple[int, int]]:
    private = 1 + secrets.randbelow(_N - 1)
    public = _multiply(private, _G)
    assert public is not None
    return private, public


def public_jwk() -> dict[str, str]:
    """The signing key's public half as a JWK (RFC 7518 §6.2); no ``kid``, which is optional."""
    _, (x, y) = _key()
    return {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url(x.to_bytes(32, "big")),
        "y": b64url(y.to_bytes(32, "big")),
    }


def _es256(message: bytes) -> bytes:
    """ECDSA P-256 over SHA-256, the signature as r || s (RFC 7518 §3.4)."""
    private, _ = _key()
    z = int.from_bytes(hashlib.sha256(message).digest(), "big")
    while True:
        k = 1 + secrets.randbelow(_N - 1)
        point = _multiply(k, _G)
        assert point is not None
        r = point[0] % _N
        s = pow(k, -1, _N) * (z + r * private) % _N
        if r and s:
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign_pretty(doc: dict[str, Any], signed_at: str) -> str:
    """``doc`` as a signed schema 1 manifest (3-space indented, as Docker writes them).

    The payload is ``doc`` itself; the returned text adds a last ``signatures`` member, so the
    payload is the text up to ``formatLength`` followed by ``formatTail``.
    """
    payload = json.dumps(doc, indent=3)
    tail = "\n}"
    format_length = len(payload) - len(tail)
    protected = b64url(
        json.dumps(
            {"formatLength": format_length, "formatTail": b64url(tail.encode()), "time": signed_at}
        ).encode()
    )
    signature = _es256(f"{protected}.{b64url(payload.encode())}".encode("ascii"))
    signatures = [
        {
            "header": {"jwk": public_jwk(), "alg": "ES256"},
            "signature": b64url(signature),
            "protected": protected,
        }
    ]
    signed = json.dumps({**doc, "signatures": signatures}, indent=3)
    # `signatures` is the last member, so the signed text starts with the payload's own text.
    assert signed.startswith(payload[:format_length])
    return signed
