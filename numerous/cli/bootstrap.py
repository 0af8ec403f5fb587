"""`numerous-bootstrap NAME`: a new app from the bootstrap template, installed and running."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import click

from numerous.apps.serving import export_templates

from ._serve import load_app, serve
from .main import report_export

TEMPLATE_DIR = Path(__file__).resolve().parent / "bootstrap_app"
AUTH_DIR = Path(__file__).resolve().parent / "bootstrap_auth"
CREATE_APP_LINE = 'app = create_app(template="index.html.j2", dev=True, app_generator=run_app)'


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name", type=click.Path(file_okay=False, path_type=Path))
@click.option("--with-auth", is_flag=True,
              help="Sign-in with users from environment variables (EnvAuthProvider).")
@click.option("--with-db-auth", is_flag=True,
              help="Sign-in with users in a SQLite database (DatabaseAuthProvider).")
@click.option("--with-oidc", is_flag=True,
              help="Single sign-on with an OpenID Connect provider (OIDCAuthProvider).")
@click.option("--export-templates", "export", is_flag=True,
              help="Copy the built-in templates and numerous-base.css into the project.")
@click.option("--force", is_flag=True,
              help="With --export-templates: overwrite files that differ from the built-ins.")
@click.option("--skip-deps", is_flag=True, help="Do not install the app's requirements.")
@click.option("--run-skip", is_flag=True, help="Do not start the app afterwards.")
@click.option("--port", default=8000, show_default=True, help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
def bootstrap(name: Path, with_auth: bool, with_db_auth: bool, with_oidc: bool, export: bool,
              force: bool, skip_deps: bool, run_skip: bool, port: int, host: str) -> None:
    """Create the app NAME from the bootstrap template, install its requirements, serve it.

    With --export-templates on an existing project, only the templates are exported; files
    you have changed are kept unless --force is given.
    """
    existing = name.exists() and any(name.iterdir())
    kind = auth_kind(with_auth, with_db_auth, with_oidc)
    check_options(name, existing, kind, export, force)
    if not existing:
        copy_template(name)
        if kind is not None:
            add_auth(name, kind)
    if export:
        click.echo("Exporting templates:")
        report_export(export_templates(name, overwrite=force))
    if not skip_deps and (name / "requirements.txt").is_file():
        install_requirements(name / "requirements.txt")
    if with_db_auth and not existing:
        create_first_admin(name)
    if with_oidc and not run_skip:
        click.echo(f"Fill in your OpenID provider in {name}/.env (see .env.example), then "
                   f"start it with: cd {name} && python app.py")
        return
    if not existing:
        click.echo(next_steps(name))
    if run_skip:
        click.echo(f"Done. Start it with: cd {name} && python app.py")
        return
    click.echo(f"Serving {name} on http://{host}:{port} (Ctrl+C to stop)")
    serve(load_app(name / "app.py"), host, port)


def next_steps(name: Path) -> str:
    """What to do after the bootstrap, with the commands of the Python that ran it."""
    python, numerous = _command("python"), _command("numerous")
    steps = [(f"cd {name}", ""),
             (f"{numerous} dev app.py", "serve it while you edit: saved changes show at once"),
             (f"{python} -m pytest", "run its tests (test_app.py)"),
             (f"{numerous} run app.py", "serve it for production (docs/deploy.md)")]
    width = max(len(command) for command, _ in steps)
    lines = [f"  {command:<{width}}  {note}".rstrip() for command, note in steps]
    return ("\nNext steps:\n" + "\n".join(lines) + "\nThen the tutorial, \"Your first app in "
            "15 minutes\" (docs/tutorial.md in numerous-apps), builds on this app.\n")


def _command(name: str) -> str:
    """How to call this installation's `python` or `numerous` from a shell: the bare name when
    the shell finds this one, else its full path (so that the tests run with the packages the
    bootstrap installed, not another Python's)."""
    if name == "python":
        own: Path | None = Path(sys.executable)
        names = ["python", Path(sys.executable).name]
    else:
        own = next((path for path in (Path(sys.argv[0]).absolute().parent / name,
                                      Path(sys.executable).parent / name) if path.is_file()),
                   None)
        names = [name]
    if own is None:
        return name
    for candidate in names:
        found = shutil.which(candidate)
        if found is not None and Path(found).parent == own.parent:
            return candidate
    return str(own)


AUTH_FLAGS = {"env": "--with-auth", "db": "--with-db-auth", "oidc": "--with-oidc"}


def auth_kind(with_auth: bool, with_db_auth: bool, with_oidc: bool) -> str | None:
    """Which sign-in the flags ask for (a folder of bootstrap_auth), or None."""
    chosen = [kind for kind, flag in zip(AUTH_FLAGS, (with_auth, with_db_auth, with_oidc))
              if flag]
    if len(chosen) > 1:
        raise click.ClickException(f"choose one of {', '.join(AUTH_FLAGS.values())}")
    return chosen[0] if chosen else None


def check_options(name: Path, existing: bool, kind: str | None, export: bool,
                  force: bool) -> None:
    """Refuse what would be ignored or would overwrite a project, before anything is written."""
    if existing and not export:
        raise click.ClickException(
            f"{name} exists and is not empty; choose a new name, or use --export-templates to "
            "add the templates to an existing project")
    if existing and kind is not None:
        flag = AUTH_FLAGS[kind]
        raise click.ClickException(
            f"{flag} makes a new app and {name} is an existing project: only the templates can "
            f"be exported into it. Run without {flag}, or bootstrap a new folder with {flag} "
            "and copy app_auth.py (and .env) from it")
    if force and not export:
        raise click.ClickException("--force only applies to --export-templates")


def copy_template(target: Path) -> None:
    shutil.copytree(TEMPLATE_DIR, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    click.echo(f"Created {target} from the bootstrap app.")


def add_auth(target: Path, kind: str) -> None:
    """Turn the bootstrap app into one that asks its users to sign in."""
    shutil.copytree(AUTH_DIR / kind, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    app = target / "app.py"
    app.write_text(app.read_text().replace(CREATE_APP_LINE, (
        "from app_auth import auth_provider  # noqa: E402 - sign-in, see app_auth.py\n\n"
        'app = create_app(template="index.html.j2", dev=True, app_generator=run_app,\n'
        "                 auth_provider=auth_provider)")))
    settings = {"NUMEROUS_JWT_SECRET": secrets.token_hex(32)}
    if kind == "env":
        password = secrets.token_urlsafe(12)
        settings["NUMEROUS_AUTH_USERS"] = json.dumps(
            [{"username": "admin", "password": password, "is_admin": True}])
        click.echo(f"Sign in as admin with the password {password} (kept in {target}/.env).")
    env = "".join(f"{key}='{value}'\n" for key, value in settings.items())
    if kind == "oidc":
        env += OIDC_TO_FILL
    (target / ".env").write_text(env)
    (target / ".env").chmod(0o600)
    (target / ".gitignore").write_text(".env\napp_auth.db\n__pycache__/\n")


OIDC_TO_FILL = """\
# Your OpenID provider and this app's client there (see .env.example for each provider):
NUMEROUS_OIDC_ISSUER=
NUMEROUS_OIDC_CLIENT_ID=
NUMEROUS_OIDC_CLIENT_SECRET=
NUMEROUS_OIDC_LABEL=
# Who may come in (comma-separated email domains):
NUMEROUS_OIDC_ALLOW_DOMAINS=
"""


def create_first_admin(target: Path) -> None:
    """Create an administrator with a fresh password, or say how to create one."""
    password = secrets.token_urlsafe(12)
    result = subprocess.run([sys.executable, "create_users.py", "admin", "--admin"], cwd=target,
                            env={**os.environ, "NUMEROUS_NEW_PASSWORD": password},
                            capture_output=True, text=True, check=False)
    if result.returncode == 0:
        click.echo(f"Sign in as admin with the password {password} (change it in the app's "
                   "database; more users: python create_users.py NAME).")
    else:
        click.echo("Could not create the first user yet (are the requirements installed?). "
                   f"Create it with: cd {target} && python create_users.py admin --admin\n"
                   f"{result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ''}")


def install_requirements(requirements: Path) -> None:
    click.echo(f"Installing {requirements} ...")
    command = [sys.executable, "-m", "pip", "install", "--progress-bar", "on", "-r",
               str(requirements)]
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise click.ClickException(
            f"pip failed (exit {result.returncode}) installing {requirements}; the app is in "
            f"place, fix the error above and run: pip install -r {requirements}")


def main() -> None:
    bootstrap()
