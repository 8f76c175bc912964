"""JWT checks shared by the tests.

Two independent verifiers are used on purpose:
  * Authlib's ``authlib.jose`` (with its OIDC ``CodeIDToken`` claim rules), as an RP would;
  * ``jwcrypto``, a separate JOSE implementation, against the JWK set from the
    certs endpoint.
A token that only one of them accepts is a conformance bug.
"""

from __future__ import annotations

import base64
import hashlib
import json
import warnings

from jwcrypto import jwk as jc_jwk
from jwcrypto import jwt as jc_jwt

import authlib.deprecate  # noqa: F401  (installs an "always" filter; ours must come after it)

with warnings.catch_warnings():
    # authlib.jose is deprecated in favour of joserfc (removal planned for Authlib 2.0) but
    # is still the JOSE API of the pinned Authlib 1.9: silence only its import-time notice.
    warnings.filterwarnings("ignore", message="authlib.jose module is deprecated")
    from authlib.jose import JsonWebKey
    from authlib.jose import jwt as authlib_jwt
from authlib.oidc.core import CodeIDToken

LEEWAY = 30  # seconds of clock skew tolerated when checking exp/iat


def b64url_decode(seg: str) -> bytes:
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def unverified_header(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[0]))


def unverified_claims(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[1]))


def left_half_hash(value: str, alg: str) -> str:
    """OIDC at_hash / c_hash: base64url(left half of HASH(ascii(value))), HASH by the JWS alg."""
    bits = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[alg[-3:]]
    digest = bits(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def normalize_typ(typ: str) -> str:
    """RFC 7515 4.1.9: 'at+jwt' and 'application/at+jwt' are the same media type."""
    t = typ.lower()
    return t if "/" in t else "application/" + t


def verify_id_token_authlib(
    id_token: str, jwks: dict, *, issuer: str, client_id: str, nonce: str, access_token: str
) -> dict:
    """Verify signature + OIDC ID token rules with authlib.jose; return the claims."""
    keyset = JsonWebKey.import_key_set(jwks)
    claims = authlib_jwt.decode(
        id_token,
        keyset,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        },
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    # IDToken.validate: iss/aud/exp/iat/nbf (joserfc registry), nonce, azp, at_hash, auth_time, amr
    claims.validate(leeway=LEEWAY)
    return dict(claims)


def fetch_jwcrypto_keyset(jwks_text: str) -> jc_jwk.JWKSet:
    return jc_jwk.JWKSet.from_json(jwks_text)


def verify_jwcrypto(token: str, keyset: jc_jwk.JWKSet, check_claims: dict, algs=("RS256",)):
    """Verify signature with jwcrypto (key picked by kid) and the given claim checks.

    Returns (header, claims) as dicts.  ``check_claims`` follows jwcrypto's
    semantics: {"iss": value, "aud": value, "exp": None, "nonce": value, ...}
    where None means 'must be present (and for exp/nbf: not expired)'.
    """
    # (jwcrypto verifies inside the constructor, with its default 60 s leeway for exp/nbf)
    t = jc_jwt.JWT(
        jwt=token,
        key=keyset,
        algs=list(algs),
        check_claims=check_claims,
        expected_type="JWS",
    )
    return json.loads(t.header), json.loads(t.claims)
