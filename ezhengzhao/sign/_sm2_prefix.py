"""SM2 verification of messages that share a long start — the seal in every TBS_Sign.

Every licence an authority seals signs a TBS_Sign that begins with the same bytes: its header,
its version and the whole seal, seal picture included (about 8 KB). SM2 hashes
e = SM3(Z ‖ M) before the curve arithmetic, so a verifier that hashes that shared start once
and keeps the hash state spares a quarter of the cost of every later check.

tongsuopy verifies whole messages only. Its backend, though, binds Tongsuo's streaming
interface (``EVP_DigestVerifyInit``, ``EVP_DigestUpdate``, ``EVP_MD_CTX_copy_ex``,
``EVP_DigestVerify``), the same calls its own ``verify`` makes: here the context that has
absorbed the shared start is copied for each message and finished with the message's rest.
Tongsuo does all of it, including Z with the default identity, exactly as for a whole message.

The binding is tongsuopy's internal one, so before the first use a self-check signs and
verifies with it (good message accepted; changed message and changed signature refused). If
the binding is missing or the check fails, :func:`prepare` answers None and callers verify
whole messages as before.
"""

from __future__ import annotations

import threading
from typing import Any, Final

__all__ = ["Sm2Prefix", "prepare"]


class Sm2Prefix:
    """A Tongsuo verification context for one SM2 key that has absorbed a message start.

    The context is never changed after it is built: each :meth:`verify` works on a copy, so
    one instance serves any number of threads.
    """

    __slots__ = ("_ctx", "_key")

    def __init__(self, ctx: Any, key: object) -> None:
        self._ctx = ctx
        self._key = key  # keeps the EVP_PKEY the context points to alive

    def verify(self, der_signature: bytes, rest: bytes) -> bool | None:
        """Whether ``der_signature`` is the key's SM2 signature of the start ‖ ``rest``; None
        when no context could be had for the check (the caller then verifies whole)."""
        lib, ffi = _BINDING
        ctx = lib.EVP_MD_CTX_new()
        if ctx == ffi.NULL:
            lib.ERR_clear_error()
            return None
        try:
            if lib.EVP_MD_CTX_copy_ex(ctx, self._ctx) != 1:
                lib.ERR_clear_error()
                return None
            ok = lib.EVP_DigestVerify(ctx, der_signature, len(der_signature), rest, len(rest))
            if ok != 1:  # 0: does not verify; negative: malformed signature
                lib.ERR_clear_error()
            return bool(ok == 1)
        finally:
            lib.EVP_MD_CTX_free(ctx)


def prepare(public_key: object, prefix: bytes) -> Sm2Prefix | None:
    """A context for tongsuopy SM2 ``public_key`` that has hashed ``prefix``, or None when
    this tongsuopy cannot give one (callers then verify whole messages)."""
    if not _available():
        return None
    return _build(public_key, prefix)


def _build(public_key: object, prefix: bytes) -> Sm2Prefix | None:
    lib, ffi = _BINDING
    evp_pkey = getattr(public_key, "_evp_pkey", None)
    if evp_pkey is None:
        return None
    raw_ctx = lib.EVP_MD_CTX_new()
    if raw_ctx == ffi.NULL:
        lib.ERR_clear_error()
        return None
    ctx = ffi.gc(raw_ctx, lib.EVP_MD_CTX_free)
    md = lib.EVP_get_digestbyname(b"sm3")  # what tongsuopy's verify passes for SM3
    if md == ffi.NULL or lib.EVP_DigestVerifyInit(ctx, ffi.NULL, md, ffi.NULL, evp_pkey) != 1:
        lib.ERR_clear_error()
        return None
    if prefix and lib.EVP_DigestUpdate(ctx, prefix, len(prefix)) != 1:
        lib.ERR_clear_error()
        return None
    return Sm2Prefix(ctx, public_key)


def _load_binding() -> tuple[Any, Any] | None:
    try:
        from tongsuopy.backends.tongsuo import backend
    except ImportError:  # pragma: no cover - tongsuopy is a dependency
        return None
    lib, ffi = getattr(backend, "_lib", None), getattr(backend, "_ffi", None)
    needed = (
        "EVP_MD_CTX_new",
        "EVP_MD_CTX_free",
        "EVP_MD_CTX_copy_ex",
        "EVP_DigestVerifyInit",
        "EVP_DigestUpdate",
        "EVP_DigestVerify",
        "EVP_get_digestbyname",
        "ERR_clear_error",
    )
    if lib is None or ffi is None or not all(hasattr(lib, name) for name in needed):
        return None
    return lib, ffi


_BINDING: Final[tuple[Any, Any]] = _load_binding() or (None, None)
_state: dict[str, bool] = {}
_state_lock = threading.Lock()


def _available() -> bool:
    """Whether streaming verification works here, decided once by a self-check."""
    known = _state.get("ok")
    if known is None:
        with _state_lock:
            known = _state.get("ok")
            if known is None:
                known = _BINDING[0] is not None and _self_check()
                _state["ok"] = known
    return known


def _self_check() -> bool:
    from tongsuopy.crypto import hashes
    from tongsuopy.crypto.asymciphers import ec

    try:
        key = ec.generate_private_key(ec.SM2())
        start, rest = b"\x30\x82" + bytes(range(256)) * 8, b"the part that differs"
        signature = key.sign(start + rest, ec.ECDSA(hashes.SM3()))
        prepared = _build(key.public_key(), start)
        if prepared is None:
            return False
        changed = bytes([signature[0]]) + signature[1:-1] + bytes([signature[-1] ^ 1])
        return (
            prepared.verify(signature, rest) is True
            and prepared.verify(signature, rest) is True  # the context survives a use
            and prepared.verify(signature, rest[:-1] + b"?") is False
            and prepared.verify(changed, rest) is False
            and prepared.verify(b"\x30\x00", rest) is False
        )
    except Exception:  # any surprise from an internal binding: use whole messages instead
        return False
