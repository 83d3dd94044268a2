"""The signing-key store: keys live in the database, private halves encrypted at rest.

Workers cache the keys they use for a short time. Rotation publishes a key as ``next``
before any worker signs with it, so a worker whose cache is a little stale never signs
with a key that verifiers cannot find in JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

CACHE_SECONDS = 30
# Longer than any token we mint; anything bigger is not ours and is not parsed.
MAX_TOKEN_LENGTH = 16384


class SigningKeyError(Exception):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _int_bytes(n: int, length: int | None = None) -> bytes:
    length = length or (n.bit_length() + 7) // 8
    return n.to_bytes(length, "big")


def _fernet() -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"iam-signing-keys", info=b"fernet").derive(
        settings.SECRET_KEY.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_private_key(pem: bytes) -> str:
    return _fernet().encrypt(pem).decode("ascii")


def decrypt_private_key(token: str):
    try:
        pem = _fernet().decrypt(token.encode("ascii"))
    except InvalidToken as exc:
        raise SigningKeyError("cannot decrypt signing key: was SECRET_KEY changed?") from exc
    return serialization.load_pem_private_key(pem, password=None)


def public_jwk(public_key, alg: str) -> dict:
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk = {"kty": "RSA", "e": b64url(_int_bytes(numbers.e)), "n": b64url(_int_bytes(numbers.n))}
        required = ("e", "kty", "n")
    else:
        numbers = public_key.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(_int_bytes(numbers.x, 32)),
            "y": b64url(_int_bytes(numbers.y, 32)),
        }
        required = ("crv", "kty", "x", "y")
    # RFC 7638 thumbprint as the key id: stable, and derived from the key alone.
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    jwk["kid"] = b64url(hashlib.sha256(canonical.encode()).digest())
    jwk["alg"] = alg
    jwk["use"] = "sig"
    return jwk


def generate_private_key(alg: str):
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise SigningKeyError(f"unsupported algorithm {alg}")


def private_pem(private_key) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _sign(private_key, alg: str, data: bytes) -> bytes:
    if alg == "RS256":
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    der = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return _int_bytes(r, 32) + _int_bytes(s, 32)


def _verify(public_key, alg: str, data: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        if alg == "RS256":
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@dataclass
class LoadedKey:
    kid: str
    alg: str
    private_key: object


class KeyStore:
    """Per-process view of the SigningKey table, refreshed every CACHE_SECONDS."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._active: dict[str, LoadedKey] = {}
        self._published: list[dict] = []
        self._public_keys: dict[str, tuple[str, object]] = {}

    def invalidate(self) -> None:
        self._loaded_at = 0.0

    def _refresh(self) -> None:
        from iam.models import SigningKey

        now = time.monotonic()
        if now - self._loaded_at < CACHE_SECONDS:
            return
        with self._lock:
            if now - self._loaded_at < CACHE_SECONDS:
                return
            active: dict[str, LoadedKey] = {}
            published: list[dict] = []
            public_keys: dict[str, tuple[str, object]] = {}
            rows = SigningKey.objects.exclude(state=SigningKey.RETIRED).order_by("-activated_at", "-created")
            for row in rows:
                published.append(row.public_jwk)
                if row.state == SigningKey.ACTIVE and row.alg not in active:
                    active[row.alg] = LoadedKey(row.kid, row.alg, decrypt_private_key(row.private_key_encrypted))
                    public_keys[row.kid] = (row.alg, active[row.alg].private_key.public_key())
                else:
                    public_keys[row.kid] = (row.alg, _public_key_from_jwk(row.public_jwk))
            self._active, self._published, self._public_keys = active, published, public_keys
            self._loaded_at = now

    def signing_key(self, alg: str = "RS256") -> LoadedKey:
        """The active key for ``alg`` -- never another algorithm's: a client registered for
        ES256 gets ES256 tokens or none. With no active key for ``alg`` (a database migrated
        before keys were made at migrate, keys deleted by hand) the first one is created now,
        so a server never answers a token request with "no key"."""
        self._refresh()
        key = self._active.get(alg)
        if key is None:
            from iam.services.keys import ensure_active_key

            row = ensure_active_key(actor="system:first-use", alg=alg)
            # Serve from the row and reload at the next call: inside a transaction that later
            # rolls back, the cache must not keep a key the database never kept.
            self.invalidate()
            key = LoadedKey(row.kid, row.alg, decrypt_private_key(row.private_key_encrypted))
        return key

    def active_algorithms(self) -> list[str]:
        """Algorithms with an active key (discovery lists them); a server with no key at all
        makes its first RS256 key rather than advertise none."""
        self._refresh()
        if not self._active:
            return [self.signing_key("RS256").alg]
        return sorted(self._active)

    def jwks(self) -> dict:
        self._refresh()
        if not self._published:  # never an empty key set: make the first key, as signing would
            self.active_algorithms()
            self._refresh()
        return {"keys": list(self._published)}

    def sign(self, claims: dict, *, alg: str = "RS256", typ: str = "JWT") -> str:
        key = self.signing_key(alg)
        header = {"alg": key.alg, "typ": typ, "kid": key.kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":"), default=str).encode())
        )
        signature = _sign(key.private_key, key.alg, signing_input.encode("ascii"))
        return signing_input + "." + b64url(signature)

    def verify(self, token) -> tuple[dict, dict] | None:
        """Return (header, claims) when a key we publish signed ``token``; expiry is not checked.

        Anything malformed -- not three parts, bad base64 or JSON, a header or payload that is
        not an object, a ``kid`` or ``alg`` that is not a string -- is simply not verified."""
        self._refresh()
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(payload_b64))
            signature = b64url_decode(signature_b64)
        except (ValueError, TypeError, UnicodeError):
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return None
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or not isinstance(alg, str):
            return None
        entry = self._public_keys.get(kid)
        if entry is None or alg != entry[0]:
            return None
        try:
            signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
        except UnicodeError:
            return None
        if not _verify(entry[1], entry[0], signing_input, signature):
            return None
        return header, claims


def _public_key_from_jwk(jwk: dict):
    if jwk["kty"] == "RSA":
        return rsa.RSAPublicNumbers(
            int.from_bytes(b64url_decode(jwk["e"]), "big"), int.from_bytes(b64url_decode(jwk["n"]), "big")
        ).public_key()
    return ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64url_decode(jwk["x"]), "big"), int.from_bytes(b64url_decode(jwk["y"]), "big"), ec.SECP256R1()
    ).public_key()


key_store = KeyStore()
