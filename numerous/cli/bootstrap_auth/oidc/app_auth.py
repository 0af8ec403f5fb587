"""Sign-in for the app: single sign-on with your organisation's OpenID Connect provider
(Microsoft Entra ID, Google, Okta, Auth0, Keycloak, ...).

Everything comes from the environment, read from `.env` next to this file when it exists
(see `.env.example`): the provider (NUMEROUS_OIDC_ISSUER), this app's client id and secret
there, who may come in (NUMEROUS_OIDC_ALLOW_DOMAINS, ..._EMAILS, ..._GROUPS) and the secret
that signs the app's own sign-in cookies (NUMEROUS_JWT_SECRET). Register
http://127.0.0.1:8000/api/auth/oidc/callback (your app's address + /api/auth/oidc/callback)
as a redirect URI with the provider, and http://127.0.0.1:8000/login as a sign-out one.

NUMEROUS_AUTH_USERS, when set, adds users with a password beside single sign-on (the tests
use it: they sign in without the provider).
"""

import os
from pathlib import Path

from dotenv import load_dotenv

from numerous.apps.auth.providers.env_auth import EnvAuthProvider
from numerous.apps.auth.providers.oidc_auth import OIDCAuthProvider

load_dotenv(Path(__file__).with_name(".env"))

auth_provider = OIDCAuthProvider(
    password_provider=EnvAuthProvider() if os.environ.get("NUMEROUS_AUTH_USERS") else None)
