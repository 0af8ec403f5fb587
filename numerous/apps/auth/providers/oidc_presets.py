"""`OIDCAuthProvider`s configured for well-known OpenID providers: the issuer URL pattern, the
claims each puts roles in, and the button's label. Every option of `OIDCAuthProvider` may be
passed on (client id and secret, the allow-list, ...) and wins over the preset's.

    from numerous.apps.auth.providers.oidc_presets import keycloak
    provider = keycloak("https://sso.example.com", "acme", allow_groups=["analysts"])

| preset | issuer | roles from |
| --- | --- | --- |
| `entra_id(tenant)` | `https://login.microsoftonline.com/<tenant>/v2.0` | `roles` (app roles), `groups` |
| `google()` | `https://accounts.google.com` | none: allow by `allow_domains` |
| `okta(domain)` | `https://<domain>/oauth2/default` | `groups` (scope `groups`) |
| `auth0(domain)` | `https://<domain>/` | a namespaced claim an Action adds |
| `keycloak(url, realm)` | `<url>/realms/<realm>` | `realm_access.roles`, `groups` |

GitHub is not here: it signs in with OAuth 2 only, without OpenID Connect (no ID token, no
discovery), so `OIDCAuthProvider` cannot use it. Put an OpenID provider in front of it
(Keycloak, Auth0 and Okta can all broker a GitHub sign-in) and use that one's preset.
"""

from __future__ import annotations

from typing import Any

from ._oidc_claims import ClaimMapping
from .oidc_auth import OIDCAuthProvider

__all__ = ["auth0", "entra_id", "google", "keycloak", "okta"]

_MULTI_TENANT = ("common", "organizations", "consumers")


def _provider(defaults: dict[str, Any], options: dict[str, Any]) -> OIDCAuthProvider:
    return OIDCAuthProvider(**{**defaults, **options})


def entra_id(tenant: str, **options: Any) -> OIDCAuthProvider:
    """Microsoft Entra ID (Azure AD), for one tenant (its id or primary domain).

    App roles you define on the app registration arrive in `roles`; security groups (ids, if
    "groups claim" is turned on) in `groups`.
    """
    if tenant in _MULTI_TENANT:
        raise ValueError(f"entra_id(tenant={tenant!r}): use your tenant's id or domain; the "
                         "multi-tenant endpoints sign in users of any organisation, and their "
                         "tokens name each user's own tenant as issuer")
    return _provider({
        "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0", "label": "Microsoft",
        "name": "entra",
        "claims": ClaimMapping(username=("preferred_username", "email", "sub"),
                               email=("email", "preferred_username"),
                               roles=("roles", "groups"))}, options)


def google(**options: Any) -> OIDCAuthProvider:
    """Google accounts. Google sends no roles: let in your Workspace domain with
    `allow_domains=["example.com"]` (Google marks its emails verified)."""
    return _provider({
        "issuer": "https://accounts.google.com", "label": "Google", "name": "google",
        "claims": ClaimMapping(username=("email", "sub"), roles=())}, options)


def okta(domain: str, authorization_server: str = "default", **options: Any) -> OIDCAuthProvider:
    """Okta, through an authorization server (`default` unless you made your own). Add a
    `groups` claim to it (filter: matches regex `.*`) to get the user's groups as roles."""
    return _provider({
        "issuer": f"https://{domain}/oauth2/{authorization_server}", "label": "Okta",
        "name": "okta", "scopes": "openid email profile groups",
        "claims": ClaimMapping(roles=("groups",))}, options)


def auth0(domain: str, roles_claim: str = "https://numerous.app/roles",
          **options: Any) -> OIDCAuthProvider:
    """Auth0 (`your-tenant.eu.auth0.com` or a custom domain). Auth0 puts roles in no standard
    claim: a post-login Action adds them under a namespaced name, `roles_claim`."""
    return _provider({
        "issuer": f"https://{domain}/", "label": "Auth0", "name": "auth0",
        "claims": ClaimMapping(roles=(roles_claim,))}, options)


def keycloak(url: str, realm: str, **options: Any) -> OIDCAuthProvider:
    """Keycloak (`url` as users reach it, `https://sso.example.com`, with `/auth` for versions
    before 17). Realm roles arrive in `realm_access.roles`; groups in `groups` once a "Group
    Membership" mapper is added to the client."""
    return _provider({
        "issuer": f"{url.rstrip('/')}/realms/{realm}", "label": "Keycloak", "name": "keycloak",
        "claims": ClaimMapping(roles=("realm_access.roles", "groups"))}, options)
