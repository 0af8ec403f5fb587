"""`numerous`: run an app, export the built-in templates."""

from __future__ import annotations

import threading
import webbrowser
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click

from numerous.apps.ops import LogFormat, configure_logging
from numerous.apps.serving import DevServer, export_templates

from ._serve import (
    TIMEOUT_HEADERS,
    TIMEOUT_KEEP_ALIVE,
    dev_logging,
    dev_was_asked,
    load_app,
    serve,
)


def _version() -> str:
    try:
        return version("numerous-apps")
    except PackageNotFoundError:
        return "unknown"


ALLOWED_HOSTS = click.option(
    "--allowed-hosts", default=None,
    help="Host names the server answers to, comma-separated ('*': any) "
         "[default: the --host address; with localhost when it is 127.0.0.1].")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="numerous")
def cli() -> None:
    """Numerous Apps: reactive web apps in plain Python."""


@cli.command()
@click.argument("app_file", type=click.Path(dir_okay=False, path_type=Path), default="app.py")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, help="Port to bind.")
@click.option("--app", "attribute", default=None, help="Name of the app object in the file.")
@click.option("--root-path", default="", help="Path prefix set by a reverse proxy.")
@click.option("--proxy-headers/--no-proxy-headers", default=True, show_default=True,
              help="Trust X-Forwarded-* headers from --forwarded-allow-ips.")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True,
              help="Proxies whose X-Forwarded-* headers are trusted.")
@ALLOWED_HOSTS
@click.option("--timeout-headers", default=TIMEOUT_HEADERS, show_default=True,
              help="Seconds a request has to send its complete headers.")
@click.option("--timeout-keep-alive", default=TIMEOUT_KEEP_ALIVE, show_default=True,
              help="Seconds an idle connection stays open between requests.")
@click.option("--dev", "dev_mode", is_flag=True,
              help="Keep dev mode (tracebacks in pages, the agent API) if the app asks for it.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Write logs as text or as one JSON object per line (secrets redacted).")
def run(app_file: Path, host: str, port: int, attribute: str | None, root_path: str,
        proxy_headers: bool, forwarded_allow_ips: str, allowed_hosts: str | None,
        timeout_headers: float, timeout_keep_alive: int, dev_mode: bool,
        log_format: LogFormat | None) -> None:
    """Serve APP_FILE for production: no reload; sessions closed on shutdown.

    Dev mode is off even where the app passes dev=True to create_app, unless --dev is given.
    """
    if log_format is not None:
        configure_logging(log_format)  # before the app loads, so that its own lines follow
    app = load_app(app_file, attribute, dev=None if dev_mode else False)
    if dev_was_asked(app):
        click.echo(f"{app_file.name} asks for dev=True; serving it with dev mode off "
                   "(pass --dev to keep it)", err=True)
    serve(app, host, port, root_path=root_path, proxy_headers=proxy_headers,
          forwarded_allow_ips=forwarded_allow_ips, allowed_hosts=_names(allowed_hosts),
          timeout_headers=timeout_headers, timeout_keep_alive=timeout_keep_alive,
          **({"log_config": None} if log_format is not None else {}))


def _names(value: str | None) -> list[str] | None:
    return [name.strip() for name in value.split(",") if name.strip()] if value else None


@cli.command()
@click.argument("app_file", type=click.Path(dir_okay=False, path_type=Path), default="app.py")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, help="Port to bind.")
@click.option("--app", "attribute", default=None, help="Name of the app object in the file.")
@click.option("--open", "open_browser", is_flag=True, help="Open the app in a browser.")
@ALLOWED_HOSTS
def dev(app_file: Path, host: str, port: int, attribute: str | None, open_browser: bool,
        allowed_hosts: str | None) -> None:
    """Serve APP_FILE with hot reload.

    Saving a template or static file reloads open pages; saving a Python file in the app's
    folder runs the app again and reloads them, keeping the values typed into widgets.
    A file that fails to load (or defines no app) shows its error in the browser and the
    terminal until it is fixed; the server keeps watching and logs "app reloaded" when it
    loads again.
    """
    if not app_file.is_file():
        raise click.ClickException(f"{app_file.resolve()} does not exist")  # as `run` says it
    dev_logging()  # before the first load, so that a failure there shows too
    server = DevServer(app_file, attribute)
    url = f"http://{host}:{port}/"
    click.echo(f"Dev server for {app_file} on {url} (watching {server.folder})")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    serve(server, host, port, log_level="info", allowed_hosts=_names(allowed_hosts))


@cli.command("export-templates")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that differ from the built-ins.")
def export_templates_command(directory: Path, force: bool) -> None:
    """Copy the built-in templates and numerous-base.css into DIRECTORY for customisation."""
    report_export(export_templates(directory, overwrite=force))


def report_export(results: list[tuple[Path, str]]) -> None:
    for path, status in results:
        note = {"written": "written", "same": "unchanged",
                "kept": "kept (yours differs; --force to overwrite)"}[status]
        click.echo(f"  {path}: {note}")


def main() -> None:
    cli()
