"""Sign-in for the app: EnvAuthProvider reads its users and secret from the environment.

NUMEROUS_JWT_SECRET signs the tokens; NUMEROUS_AUTH_USERS lists the users as JSON. Both are
read from `.env` next to this file when it exists (see `.env.example`).
"""

from pathlib import Path

from dotenv import load_dotenv

from numerous.apps.auth.providers.env_auth import EnvAuthProvider

load_dotenv(Path(__file__).with_name(".env"))

auth_provider = EnvAuthProvider()
