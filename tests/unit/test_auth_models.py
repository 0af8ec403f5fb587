"""The auth records: users, results, create and update requests."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from numerous.apps.auth import AuthResult, CreateUserRequest, UpdateUserRequest, User


def test_a_user_has_roles_and_any_of_several() -> None:
    user = User(id="1", username="ann", roles=["viewer", "editor"])
    assert user.has_role("viewer") and not user.has_role("admin")
    assert user.has_any_role("admin", "editor")
    assert user.has_any_role(["admin", "editor"])
    assert not user.has_any_role(["admin"])
    assert not user.has_any_role()
    assert user.is_active and not user.is_admin and user.metadata == {} and user.email is None


def test_what_the_browser_sees_of_a_user_leaves_out_metadata() -> None:
    user = User(id="1", username="ann", metadata={"api_key": "k"}, roles=["r"])
    assert user.public() == {"id": "1", "username": "ann", "email": None, "roles": ["r"],
                             "is_admin": False}


def test_auth_results() -> None:
    user = User(id="1", username="ann")
    assert AuthResult.ok(user).success and AuthResult.ok(user).user == user
    failed = AuthResult.fail("Invalid credentials")
    assert not failed.success and failed.user is None and failed.error == "Invalid credentials"


def test_create_user_request_needs_eight_characters_of_password() -> None:
    with pytest.raises(ValidationError, match="at least 8"):
        CreateUserRequest(username="ann", password="short")
    request = CreateUserRequest(username="ann", password="12345678", roles=["editor"])
    assert request.is_admin is False and request.roles == ["editor"]
    assert "12345678" not in repr(request), "a password never shows in a repr"


@pytest.mark.parametrize("username", ["", " ann", "ann ", "a\nb"])
def test_create_user_request_refuses_odd_usernames(username: str) -> None:
    with pytest.raises(ValidationError):
        CreateUserRequest(username=username, password="long enough")


def test_create_user_request_refuses_huge_passwords_and_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        CreateUserRequest(username="ann", password="x" * 2000)
    with pytest.raises(ValidationError):
        CreateUserRequest.model_validate({"username": "ann", "password": "long enough",
                                          "is_amdin": True})


def test_update_user_request_knows_which_fields_were_given() -> None:
    changes = UpdateUserRequest(roles=["a"], is_active=False)
    assert changes.model_fields_set == {"roles", "is_active"}
    with pytest.raises(ValidationError):
        UpdateUserRequest(roles=[""])
