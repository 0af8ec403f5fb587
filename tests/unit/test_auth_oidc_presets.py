"""The presets of well-known OpenID providers: the issuer each builds, and where each finds
roles in that provider's claims (sample claims shaped as each provider sends them)."""

from __future__ import annotations

import pytest

from numerous.apps.auth.providers import oidc_presets
from numerous.apps.auth.providers.oidc_auth import OIDCAuthProvider

SECRET = "x" * 40


def roles(provider: OIDCAuthProvider, claims: dict[str, object]) -> list[str]:
    return provider.oidc.claims.user(provider.oidc.name, {"sub": "s", **claims}).roles


def test_entra_id() -> None:
    provider = oidc_presets.entra_id("contoso.onmicrosoft.com", client_id="c",
                                     jwt_secret=SECRET)
    assert provider.oidc.client.issuer == (
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0")
    assert provider.login_options()[0].label == "Sign in with Microsoft"
    assert roles(provider, {"roles": ["Reader"], "groups": ["g-1"]}) == ["Reader", "g-1"]
    user = provider.oidc.claims.user("entra", {"sub": "s", "preferred_username": "a@contoso.com"})
    assert user.username == "a@contoso.com" and user.email == "a@contoso.com"
    with pytest.raises(ValueError, match="tenant's id"):
        oidc_presets.entra_id("common", client_id="c", jwt_secret=SECRET)


def test_google() -> None:
    provider = oidc_presets.google(client_id="c", allow_domains=["acme.com"], jwt_secret=SECRET)
    assert provider.oidc.client.issuer == "https://accounts.google.com"
    assert provider.oidc.allow_list.domains == ("acme.com",)
    assert roles(provider, {"email": "a@acme.com", "hd": "acme.com"}) == []


def test_okta() -> None:
    provider = oidc_presets.okta("acme.okta.com", client_id="c", jwt_secret=SECRET)
    assert provider.oidc.client.issuer == "https://acme.okta.com/oauth2/default"
    assert "groups" in provider.oidc.client.scopes.split()
    assert roles(provider, {"groups": ["Everyone", "analysts"]}) == ["Everyone", "analysts"]


def test_auth0() -> None:
    provider = oidc_presets.auth0("acme.eu.auth0.com", client_id="c", jwt_secret=SECRET,
                                  roles_claim="https://acme.com/roles")
    assert provider.oidc.client.issuer == "https://acme.eu.auth0.com"
    assert roles(provider, {"https://acme.com/roles": ["admin"]}) == ["admin"]


def test_keycloak() -> None:
    provider = oidc_presets.keycloak("https://sso.acme.com/", "acme", client_id="c",
                                     jwt_secret=SECRET, label="Acme SSO")
    assert provider.oidc.client.issuer == "https://sso.acme.com/realms/acme"
    assert provider.login_options()[0].label == "Sign in with Acme SSO", "options win"
    claims = {"realm_access": {"roles": ["offline_access", "analyst"]}, "groups": ["/team"]}
    assert roles(provider, claims) == ["offline_access", "analyst", "/team"]
