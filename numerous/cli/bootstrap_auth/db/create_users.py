"""Create a user of the app: python create_users.py USERNAME [--admin] [--email E] [--role R]

The password is asked for (or read from NUMEROUS_NEW_PASSWORD, for scripts).
"""

import argparse
import asyncio
import getpass
import os

from app_auth import auth_provider

from numerous.apps.auth.models import CreateUserRequest


async def create(args: argparse.Namespace, password: str) -> None:
    user = await auth_provider.create_user(CreateUserRequest(
        username=args.username, password=password, email=args.email,
        roles=args.role, is_admin=args.admin))
    print(f"created {user.username}{' (admin)' if user.is_admin else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("username")
    parser.add_argument("--admin", action="store_true", help="make the user an administrator")
    parser.add_argument("--email", default=None)
    parser.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    args = parser.parse_args()
    password = os.environ.get("NUMEROUS_NEW_PASSWORD") or getpass.getpass("Password: ")
    asyncio.run(create(args, password))


if __name__ == "__main__":
    main()
