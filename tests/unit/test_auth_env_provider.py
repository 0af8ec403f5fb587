"""EnvAuthProvider: users from NUMEROUS_AUTH_USERS, secrets, and its configuration errors."""

from __future__ import annotations

import asyncio

import json
import logging
from pathlib import Path

import pytest

from numerous.apps.auth import AuthProvider, AuthResult, BaseAuthProvider, User
from numerous.apps.auth._passwords import scrypt_verify
from numerous.apps.auth.providers import AuthConfigError, EnvAuthProvider, env_auth
from numerous.apps.auth.providers.env_auth import EnvAuthProvider as EnvAuthProviderDirect

from ._auth_support import USERS, env_provider, make_app, new_secret


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("NUMEROUS_AUTH_USERS", raising=False)
    monkeypatch.delenv("NUMEROUS_JWT_SECRET", raising=False)
    return monkeypatch


def test_users_come_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("NUMEROUS_AUTH_USERS", json.dumps(USERS))
    env.setenv("NUMEROUS_JWT_SECRET", new_secret())
    provider = EnvAuthProvider()
    assert EnvAuthProvider is EnvAuthProviderDirect
    assert isinstance(provider, BaseAuthProvider)
    assert [u.username for u in provider.list_users()] == ["ann", "bob", "root"]
    assert not provider.secret_is_generated


async def test_authenticate_and_look_users_up(env: pytest.MonkeyPatch) -> None:
    provider = env_provider()
    result = await provider.authenticate("ann", "ann-password-1")
    assert result.success and result.user is not None
    assert result.user.roles == ["viewer"] and result.user.email == "a@x.org"
    assert (await provider.get_user(result.user.id)) == result.user
    assert (await provider.get_user_by_username("root")).is_admin  # type: ignore[union-attr]
    assert await provider.get_user("nobody") is None


async def test_unknown_user_and_wrong_password_fail_alike(env: pytest.MonkeyPatch) -> None:
    provider = env_provider()
    wrong = await provider.authenticate("ann", "wrong-password")
    unknown = await provider.authenticate("nobody", "wrong-password")
    assert not wrong.success and not unknown.success
    assert wrong.error == unknown.error == "Invalid username or password"


async def test_an_unknown_user_is_checked_against_a_dummy_hash(
        env: pytest.MonkeyPatch) -> None:
    """Same work for an unknown user as for a wrong password: no timing oracle."""
    provider = env_provider()
    checked: list[str] = []

    def spy(password: str, stored: str) -> bool:
        checked.append(stored)
        return scrypt_verify(password, stored)

    env.setattr(env_auth, "scrypt_verify", spy)
    assert not (await provider.authenticate("nobody", "wrong-password")).success
    assert not (await provider.authenticate("ann", "wrong-password")).success
    assert len(checked) == 2 and checked[0] != checked[1]
    assert checked[0].startswith("scrypt$") and checked[0].split("$")[1:4] == \
        checked[1].split("$")[1:4], "the dummy hash costs what a real one costs"


def test_passwords_are_not_kept_in_plain_text(env: pytest.MonkeyPatch) -> None:
    provider = env_provider()
    assert "ann-password-1" not in repr(vars(provider))
    assert all(h.startswith("scrypt$") for h in provider._hashes.values())


def test_no_users_is_allowed_with_a_warning(env: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "numerous.apps.auth"):
        provider = EnvAuthProvider(jwt_secret=new_secret())
    assert provider.list_users() == []
    assert "nobody can sign in" in caplog.text


@pytest.mark.parametrize(("raw", "message"), [
    ("not json", "NUMEROUS_AUTH_USERS is not valid JSON"),
    ('{"username": "a"}', "must be a JSON list of users, not a dict"),
    ('["ann"]', "entry 1 must be an object"),
    ('[{"username": "ann"}]', "entry 1 (username 'ann'): the field 'password' is missing"),
    ('[{"password": "x"}]', "entry 1: the field 'username' is missing"),
    ('[{"username": "a", "password": "p"}, {"username": "b", "password": 5}]',
     "entry 2 (username 'b'): 'password' must be a string"),
    ('[{"username": "a", "password": "p", "is_admin": "yes"}]',
     "entry 1 (username 'a'): 'is_admin' must be a boolean"),
    ('[{"username": "a", "password": "p", "roles": "admin"}]',
     "'roles' must be a list of strings"),
    ('[{"username": "a", "password": "p", "roles": [1]}]',
     "'roles' must be a list of non-empty strings"),
    ('[{"username": "a", "password": "p", "is_amdin": true}]',
     "unknown field(s) 'is_amdin'"),
    ('[{"username": "a", "password": ""}]', "'password' must not be empty"),
    ('[{"username": " a", "password": "p"}]', "'username' must be a non-empty string"),
    ('[{"username": "a", "password": "p"}, {"username": "a", "password": "q"}]',
     "entry 2: the username 'a' appears more than once"),
])
def test_malformed_users_name_the_entry_and_field(env: pytest.MonkeyPatch, raw: str,
                                                  message: str) -> None:
    env.setenv("NUMEROUS_AUTH_USERS", raw)
    with pytest.raises(AuthConfigError) as caught:
        EnvAuthProvider(jwt_secret=new_secret())
    assert message in str(caught.value)
    assert "password\": \"p" not in str(caught.value)


def test_without_a_secret_dev_mode_warns_loudly(env: pytest.MonkeyPatch, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    env.setenv("NUMEROUS_AUTH_USERS", json.dumps(USERS))
    provider = EnvAuthProvider()
    assert provider.secret_is_generated
    with caplog.at_level(logging.WARNING, "numerous.apps.auth"):
        make_app(tmp_path, provider, dev=True)
    assert "NUMEROUS_JWT_SECRET is not set" in caplog.text
    assert provider.jwt_secret not in caplog.text


def test_without_a_secret_production_refuses_to_start(env: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    env.setenv("NUMEROUS_AUTH_USERS", json.dumps(USERS))
    with pytest.raises(RuntimeError, match="set NUMEROUS_JWT_SECRET"):
        make_app(tmp_path, EnvAuthProvider(), dev=False)


def test_a_short_secret_is_warned_about(env: pytest.MonkeyPatch, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "numerous.apps.auth"):
        make_app(tmp_path, EnvAuthProvider(users=USERS, jwt_secret="a-twenty-byte-secret"))
    assert "shorter than 32 bytes" in caplog.text
    assert "a-twenty-byte-secret" not in caplog.text


@pytest.mark.parametrize("secret", ["x", "fifteen-bytes!!"])
def test_production_refuses_a_secret_under_16_bytes(env: pytest.MonkeyPatch, tmp_path: Path,
                                                    secret: str) -> None:
    with pytest.raises(RuntimeError, match="NUMEROUS_JWT_SECRET") as caught:
        make_app(tmp_path, EnvAuthProvider(users=USERS, jwt_secret=secret))
    assert "secrets.token_urlsafe(32)" in str(caught.value)
    assert "fifteen-bytes!!" not in str(caught.value)


def test_production_refuses_the_placeholder_secret_of_env_example(
        env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "numerous" / "cli" / "bootstrap_auth" / "env" / \
        ".env.example"
    placeholder = next(line.split("=", 1)[1] for line in example.read_text().splitlines()
                       if line.startswith("NUMEROUS_JWT_SECRET="))
    with pytest.raises(RuntimeError, match="placeholder"):
        make_app(tmp_path, EnvAuthProvider(users=USERS, jwt_secret=placeholder))
    make_app(tmp_path, EnvAuthProvider(users=USERS, jwt_secret=placeholder), dev=True)


def test_dev_mode_accepts_a_short_secret_with_a_warning(env: pytest.MonkeyPatch, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "numerous.apps.auth"):
        make_app(tmp_path, EnvAuthProvider(users=USERS, jwt_secret="tiny"), dev=True)
    assert "shorter than 32 bytes" in caplog.text


def test_a_provider_that_is_not_one_is_refused(tmp_path: Path) -> None:
    class OnlyTheProtocol:
        async def authenticate(self, username: str, password: str) -> AuthResult:
            return AuthResult.fail()

        async def get_user(self, user_id: str) -> User | None:
            return None

        async def get_user_by_username(self, username: str) -> User | None:
            return None

    duck: AuthProvider = OnlyTheProtocol()
    with pytest.raises(TypeError, match="BaseAuthProvider"):
        make_app(tmp_path, duck)  # type: ignore[arg-type]


async def test_a_custom_provider_as_in_the_readme_gets_tokens_and_refresh(
        tmp_path: Path) -> None:
    class MyCustomAuthProvider(BaseAuthProvider):
        async def authenticate(self, username: str, password: str) -> AuthResult:
            if (username, password) == ("ann", "pw-pw-pw-pw"):
                return AuthResult.ok(User(id="1", username="ann"))
            return AuthResult.fail("Invalid credentials")

        async def get_user(self, user_id: str) -> User | None:
            return User(id="1", username="ann") if user_id == "1" else None

        async def get_user_by_username(self, username: str) -> User | None:
            return await self.get_user("1") if username == "ann" else None

    provider = MyCustomAuthProvider(jwt_secret=new_secret())
    result = await provider.sign_in("ann", "pw-pw-pw-pw")
    assert result.user is not None
    pair = await provider.issue_tokens(result.user)
    assert (await provider.user_for_access_token(pair.access.token)) == result.user
    rotated = await provider.refresh(pair.refresh.token)
    assert rotated is not None and await provider.refresh(pair.refresh.token) is None
    assert (await provider.sign_in("ann", "nope")).error == "Invalid credentials"


async def test_revoking_a_users_tokens_refuses_their_access_tokens_too(
        env: pytest.MonkeyPatch) -> None:
    provider = EnvAuthProvider(users=USERS, jwt_secret=new_secret())
    ann = await provider.get_user_by_username(USERS[0]["username"])
    assert ann is not None
    before = await provider.issue_tokens(ann)
    assert await provider.user_for_access_token(before.access.token) == ann
    await asyncio.sleep(0.002)  # tokens are stamped to the millisecond
    await provider.revoke_user_tokens(ann.id)
    assert await provider.user_for_access_token(before.access.token) is None
    assert await provider.refresh(before.refresh.token) is None
    after = await provider.issue_tokens(ann)
    assert await provider.user_for_access_token(after.access.token) == ann
