"""Sign-in for the app: users in a SQLite database (app_auth.db), managed with create_users.py.

NUMEROUS_JWT_SECRET signs the tokens; it is read from `.env` next to this file when it exists.
For PostgreSQL, use a URL such as postgresql+asyncpg://user:password@host/db.
"""

import os
from pathlib import Path

from dotenv import load_dotenv

from numerous.apps.auth.providers.database_auth import DatabaseAuthProvider

HERE = Path(__file__).parent
load_dotenv(HERE / ".env")

auth_provider = DatabaseAuthProvider(
    database_url=os.environ.get("NUMEROUS_DATABASE_URL", f"sqlite+aiosqlite:///{HERE / 'app_auth.db'}"),
    jwt_secret=os.environ["NUMEROUS_JWT_SECRET"],
)
