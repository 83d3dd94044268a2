"""Recognising our own ID tokens when a client hands one back as ``id_token_hint``.

``/authorize/`` and ``/end_session/`` take an ID token as a hint about who the client thinks is
signed in. Our signature alone does not make a JWT an ID token: access tokens are our JWTs
too, and a resource server holding a user's access token must not be able to log that user
out, or pick a redirect of the token's client, with it. So the header type and the claims
must be those of an ID token (``iam.claims.id_token_claims``, signed with ``typ: JWT``), not
those of an access token (``iam.claims.access_token_claims``: ``client_id`` and ``scope``,
signed with ``typ: at+jwt``; a profile that signs access tokens with ``typ: JWT``, as WLCG
consumers want, still leaves those two claims in them).

Expiry is not checked: an expired ID token is still an acceptable hint (OIDC Core §3.1.2.1,
RP-Initiated Logout §2).
"""

from __future__ import annotations

from iam.conf import config
from iam.keys import key_store

ID_TOKEN_TYPE = "JWT"
# Claims our access tokens carry and our ID tokens never do.
ACCESS_TOKEN_CLAIMS = ("client_id", "scope")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def audiences(claims: dict) -> list[str]:
    """The ``aud`` of verified ID-token claims as a list."""
    aud = claims["aud"]
    return [aud] if isinstance(aud, str) else list(aud)


def verified_id_token(token) -> dict | None:
    """The claims of ``token`` when it is an ID token this server issued, else None.

    Anything else (not a string, malformed, not signed by a key we publish, another issuer,
    an access token) is None; nothing here raises on odd input.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    try:
        verified = key_store.verify(token)
    except (ValueError, TypeError, KeyError, AttributeError):
        # Malformed input that verify() did not turn into None itself.
        return None
    if not isinstance(verified, tuple) or len(verified) != 2:
        return None
    header, claims = verified
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != ID_TOKEN_TYPE:
        return None
    if claims.get("iss") != config.issuer or any(name in claims for name in ACCESS_TOKEN_CLAIMS):
        return None
    sub, aud, azp = claims.get("sub"), claims.get("aud"), claims.get("azp")
    if not isinstance(sub, str) or not sub:
        return None
    if isinstance(aud, list):
        if not aud or not all(isinstance(a, str) for a in aud):
            return None
    elif not isinstance(aud, str):
        return None
    # We always name the client twice (aud and azp); a JWT without azp is not our ID token.
    if not isinstance(azp, str) or azp not in audiences(claims):
        return None
    if not _is_int(claims.get("iat")) or not _is_int(claims.get("exp")):
        return None
    return claims
