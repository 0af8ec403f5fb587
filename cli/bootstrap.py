"""`numerous-bootstrap NAME`: a new app from the bootstrap template, installed and running."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click

from numerous.apps._templating import export_templates

from ._serve import load_app, serve
from .main import report_export

TEMPLATE_DIR = Path(__file__).resolve().parent / "bootstrap_app"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name", type=click.Path(file_okay=False, path_type=Path))
@click.option("--export-templates", "export", is_flag=True,
              help="Copy the built-in templates and numerous-base.css into the project.")
@click.option("--skip-deps", is_flag=True, help="Do not install the app's requirements.")
@click.option("--run-skip", is_flag=True, help="Do not start the app afterwards.")
@click.option("--port", default=8000, show_default=True, help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
def bootstrap(name: Path, export: bool, skip_deps: bool, run_skip: bool, port: int,
              host: str) -> None:
    """Create the app NAME from the bootstrap template, install its requirements, serve it.

    With --export-templates on an existing project, only the templates are exported; files
    you have changed are kept.
    """
    existing = name.exists() and any(name.iterdir())
    if existing and not export:
        raise click.ClickException(
            f"{name} exists and is not empty; choose a new name, or use --export-templates to "
            "add the templates to an existing project")
    if not existing:
        copy_template(name)
    if export:
        click.echo("Exporting templates:")
        report_export(export_templates(name))
    if not skip_deps and (name / "requirements.txt").is_file():
        install_requirements(name / "requirements.txt")
    if run_skip:
        click.echo(f"Done. Start it with: cd {name} && python app.py")
        return
    click.echo(f"Serving {name} on http://{host}:{port} (Ctrl+C to stop)")
    serve(load_app(name / "app.py"), host, port)


def copy_template(target: Path) -> None:
    shutil.copytree(TEMPLATE_DIR, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    click.echo(f"Created {target} from the bootstrap app.")


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
