"""Access and refresh tokens: claims, and every way a token can be wrong."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from numerous.apps.auth._tokens import ALGORITHM, TokenIssuer, generated_secret
from numerous.apps.auth.models import User

from ._auth_support import new_secret

USER = User(id="u1", username="ann")


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(new_secret(), access_lifetime=900, refresh_lifetime=7 * 86400)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_an_access_token_carries_the_documented_claims(issuer: TokenIssuer) -> None:
    before = int(time.time())
    issued = issuer.issue(USER, "access")
    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == "HS256"
    claims = issuer.verify(issued.token, "access")
    assert claims is not None
    assert claims["sub"] == "u1" and claims["username"] == "ann" and claims["type"] == "access"
    assert claims["jti"] == issued.jti and len(issued.jti) >= 16
    assert before <= claims["iat"] <= before + 2
    assert claims["exp"] == int(claims["iat"]) + 900 == issued.expires_at
    assert claims["iat"] == round(claims["iat"], 3), "issued at, to the millisecond"
    assert issued.token not in repr(issued), "a token never shows in a repr"


def test_refresh_tokens_last_seven_days_and_ids_are_unique(issuer: TokenIssuer) -> None:
    first, second = issuer.issue(USER, "refresh"), issuer.issue(USER, "refresh")
    claims = issuer.verify(first.token, "refresh")
    assert claims is not None and claims["exp"] - int(claims["iat"]) == 7 * 86400
    assert first.jti != second.jti


def test_a_token_of_the_other_type_is_refused(issuer: TokenIssuer) -> None:
    assert issuer.verify(issuer.issue(USER, "refresh").token, "access") is None
    assert issuer.verify(issuer.issue(USER, "access").token, "refresh") is None


def test_an_expired_token_is_refused(issuer: TokenIssuer) -> None:
    old = issuer.issue(USER, "access", now=time.time() - 901)
    assert issuer.verify(old.token, "access") is None


def test_a_token_signed_with_another_secret_is_refused(issuer: TokenIssuer) -> None:
    other = TokenIssuer(new_secret(), access_lifetime=900, refresh_lifetime=900)
    assert issuer.verify(other.issue(USER, "access").token, "access") is None


def test_a_tampered_token_is_refused(issuer: TokenIssuer) -> None:
    header, payload, signature = issuer.issue(USER, "access").token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "someone-else"
    assert issuer.verify(f"{header}.{_b64(claims)}.{signature}", "access") is None
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert issuer.verify(f"{header}.{payload}.{flipped}", "access") is None


def test_alg_none_is_refused(issuer: TokenIssuer) -> None:
    now = int(time.time())
    claims = {"sub": "u1", "username": "ann", "type": "access", "iat": now, "exp": now + 900,
              "jti": "x" * 22}
    for alg in ("none", "None", "NONE"):
        unsigned = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."
        assert issuer.verify(unsigned, "access") is None


def test_another_algorithm_with_the_same_secret_is_refused() -> None:
    secret = new_secret()
    issuer = TokenIssuer(secret, access_lifetime=900, refresh_lifetime=900)
    now = int(time.time())
    claims = {"sub": "u1", "username": "ann", "type": "access", "iat": now, "exp": now + 900,
              "jti": "x" * 22}
    assert issuer.verify(jwt.encode(claims, secret, algorithm=ALGORITHM), "access") is not None
    assert issuer.verify(jwt.encode(claims, secret, algorithm="HS512"), "access") is None


@pytest.mark.parametrize("missing", ["sub", "type", "exp", "jti", "iat"])
def test_a_token_missing_a_claim_is_refused(missing: str) -> None:
    secret = new_secret()
    issuer = TokenIssuer(secret, access_lifetime=900, refresh_lifetime=900)
    now = int(time.time())
    claims = {"sub": "u1", "username": "ann", "type": "access", "iat": now, "exp": now + 900,
              "jti": "x" * 22}
    del claims[missing]
    assert issuer.verify(jwt.encode(claims, secret, algorithm=ALGORITHM), "access") is None


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 5000, "....."])
def test_garbage_is_refused(issuer: TokenIssuer, garbage: str) -> None:
    assert issuer.verify(garbage, "access") is None


def test_the_generated_dev_secret_is_one_per_process() -> None:
    assert generated_secret() == generated_secret()
    assert len(generated_secret()) == 64


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenIssuer("", access_lifetime=1, refresh_lifetime=1)
