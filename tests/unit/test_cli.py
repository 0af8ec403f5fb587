"""The command-line tools, through click's runner and as real processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from numerous.apps import SessionLimits
from numerous.cli import bootstrap as bootstrap_module
from numerous.cli import main as main_module
from numerous.cli.bootstrap import bootstrap
from numerous.cli._serve import server_config
from numerous.cli.main import cli

from ._agent_support import TestClient
from ._support import make_app

BIN = Path(sys.executable).parent


def test_version_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and "numerous, version" in result.output
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "dev", "export-templates"):
        assert command in result.output
    for command in ("run", "dev", "export-templates"):
        assert runner.invoke(cli, [command, "--help"]).exit_code == 0


def test_docs_cli_names_every_command_and_option() -> None:
    """docs/cli.md documents the commands as click defines them."""
    import click

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    commands: list[tuple[str, click.Command]] = [("numerous-bootstrap", bootstrap)]
    commands += [(f"numerous {name}", command) for name, command in cli.commands.items()]
    for title, command in commands:
        assert f"`{title}" in text, title
        for param in command.params:
            names = param.opts if isinstance(param, click.Option) else [param.human_readable_name]
            assert any(f"`{name}" in text for name in names), (title, names)
    assert "`numerous --version`" in text


def test_bootstrap_creates_the_app_and_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "my_app"
    result = runner.invoke(bootstrap, [str(target), "--skip-deps", "--run-skip"])
    assert result.exit_code == 0, result.output
    for name in ("app.py", "index.html.j2", "requirements.txt", "static/css/styles.css"):
        assert (target / name).is_file(), name
    assert "python app.py" in result.output
    # What to do next, in the commands of the Python that ran it.
    steps = result.output.split("Next steps:\n")[1]
    assert steps.startswith(f"  cd {target}\n")
    for command in ("dev app.py", "-m pytest", "run app.py", "docs/tutorial.md"):
        assert command in steps, command
    assert str(BIN / "numerous") in steps or "  numerous dev" in steps
    # The app's tests run with what the bootstrap installs: pytest in this Python.
    for folder in ("bootstrap_app", "bootstrap_auth/db", "bootstrap_auth/oidc"):
        requirements = bootstrap_module.TEMPLATE_DIR.parent / folder / "requirements.txt"
        assert "pytest>=8" in requirements.read_text().splitlines(), folder
    again = runner.invoke(bootstrap, [str(target), "--skip-deps", "--run-skip"])
    assert again.exit_code == 1
    assert "exists and is not empty" in again.output


def test_export_templates_into_existing_project_keeps_user_changes(tmp_path: Path) -> None:
    runner = CliRunner()
    project = tmp_path / "existing"
    project.mkdir()
    (project / "app.py").write_text("# mine\n")
    first = runner.invoke(bootstrap, [str(project), "--export-templates", "--skip-deps",
                                      "--run-skip"])
    assert first.exit_code == 0, first.output
    assert (project / "app.py").read_text() == "# mine\n"  # the project itself is untouched
    for name in ("error.html.j2", "error_modal.html.j2", "splash_screen.html.j2",
                 "session_lost_banner.html.j2"):
        assert (project / "templates" / name).is_file(), name
    css = project / "static" / "css" / "numerous-base.css"
    assert "--numerous-primary" in css.read_text()
    css.write_text(":root { --numerous-primary: red; }")
    second = runner.invoke(cli, ["export-templates", str(project)])
    assert second.exit_code == 0
    assert "kept" in second.output and css.read_text() == ":root { --numerous-primary: red; }"
    forced = runner.invoke(cli, ["export-templates", str(project), "--force"])
    assert forced.exit_code == 0 and "--numerous-primary: #" in css.read_text()


def test_bootstrap_force_overwrites_changed_templates(tmp_path: Path) -> None:
    runner = CliRunner()
    project = tmp_path / "existing"
    project.mkdir()
    (project / "app.py").write_text("# mine\n")
    options = [str(project), "--export-templates", "--skip-deps", "--run-skip"]
    assert runner.invoke(bootstrap, options).exit_code == 0
    css = project / "static" / "css" / "numerous-base.css"
    css.write_text(":root { --numerous-primary: red; }")
    kept = runner.invoke(bootstrap, options)
    assert kept.exit_code == 0 and "kept" in kept.output
    assert css.read_text() == ":root { --numerous-primary: red; }"
    forced = runner.invoke(bootstrap, [*options, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "numerous-base.css: written" in forced.output
    assert "--numerous-primary: #" in css.read_text()
    assert (project / "app.py").read_text() == "# mine\n", "--force touches templates only"


def test_bootstrap_force_without_export_templates_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(bootstrap, [str(tmp_path / "new"), "--force", "--skip-deps",
                                            "--run-skip"])
    assert result.exit_code == 1
    assert "--force only applies to --export-templates" in result.output
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("flag", ["--with-auth", "--with-db-auth"])
def test_bootstrap_refuses_auth_flags_when_exporting_into_a_project(tmp_path: Path,
                                                                    flag: str) -> None:
    """Sign-in is only added to a new app; into an existing project it would be ignored."""
    project = tmp_path / "existing"
    project.mkdir()
    (project / "app.py").write_text("# mine\n")
    result = CliRunner().invoke(bootstrap, [str(project), "--export-templates", flag,
                                            "--skip-deps", "--run-skip"])
    assert result.exit_code == 1
    assert f"{flag} makes a new app" in result.output and "existing project" in result.output
    assert sorted(p.name for p in project.iterdir()) == ["app.py"], "nothing was written"


def test_bootstrap_adds_auth_and_templates_to_a_new_app(tmp_path: Path) -> None:
    target = tmp_path / "new"
    result = CliRunner().invoke(bootstrap, [str(target), "--export-templates", "--with-auth",
                                            "--skip-deps", "--run-skip"])
    assert result.exit_code == 0, result.output
    assert (target / "app_auth.py").is_file()
    assert (target / "templates" / "error.html.j2").is_file()


def test_failing_pip_install_is_a_clear_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    template = tmp_path / "template"
    runner.invoke(bootstrap, [str(template), "--skip-deps", "--run-skip"])
    (template / "requirements.txt").write_text("this is not a requirement ==\n")
    monkeypatch.setattr(bootstrap_module, "TEMPLATE_DIR", template)
    fresh = tmp_path / "fresh"
    result = runner.invoke(bootstrap, [str(fresh), "--run-skip"])
    assert result.exit_code == 1
    assert "pip failed" in result.output and "requirements.txt" in result.output
    assert (fresh / "app.py").is_file()


def test_run_with_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "nope.py")])
    assert result.exit_code != 0
    assert "does not exist" in result.output


DEV_APP = """
from numerous.apps import create_app

app = create_app(template="index.html.j2", dev=True, widgets={})
"""


@pytest.mark.parametrize(("flags", "dev"), [([], False), (["--dev"], True)])
def test_run_turns_dev_mode_off_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             flags: list[str], dev: bool) -> None:
    """An app written for `numerous dev` (dev=True) is served by `numerous run` without
    tracebacks for visitors and without the agent API that came with dev mode."""
    (tmp_path / "index.html.j2").write_text("<main>hello</main>")
    (tmp_path / "devapp.py").write_text(DEV_APP)
    served: list[Any] = []
    monkeypatch.setattr(main_module, "serve", lambda app, *args, **kwargs: served.append(app))
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "devapp.py"), *flags])
    assert result.exit_code == 0, result.output
    (app,) = served
    assert app.numerous.dev is dev and app.numerous.sessions.dev is dev
    assert ("serving it with dev mode off (pass --dev to keep it)" in result.output) is not dev
    assert result.output.count("dev mode off") == (0 if dev else 1)
    with TestClient(app) as client:
        agent = client.post("/api/agent/sessions", json={})
        assert agent.status_code == (201 if dev else 404), agent.text
        assert client.get("/").status_code == 200


def test_run_refuses_sign_in_made_in_dev_mode_without_a_real_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "index.html.j2").write_text("<main>hello</main>")
    (tmp_path / "authapp.py").write_text(DEV_APP.replace("dev=True", (
        "dev=True, auth_provider=EnvAuthProvider(users=[])")).replace(
        "from numerous.apps import create_app", (
            "from numerous.apps import create_app\n"
            "from numerous.apps.auth.providers.env_auth import EnvAuthProvider")))
    monkeypatch.delenv("NUMEROUS_JWT_SECRET", raising=False)
    monkeypatch.setattr(main_module, "serve", lambda app, *args, **kwargs: None)
    refused = CliRunner().invoke(cli, ["run", str(tmp_path / "authapp.py")])
    assert refused.exit_code == 1
    assert "needs a JWT secret in production" in refused.output and "--dev" in refused.output
    kept = CliRunner().invoke(cli, ["run", str(tmp_path / "authapp.py"), "--dev"])
    assert kept.exit_code == 0, kept.output


def test_run_says_nothing_about_dev_mode_for_a_production_app(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "index.html.j2").write_text("<main>hello</main>")
    (tmp_path / "prodapp.py").write_text(DEV_APP.replace("dev=True", "dev=False"))
    monkeypatch.setattr(main_module, "serve", lambda app, *args, **kwargs: None)
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "prodapp.py")])
    assert result.exit_code == 0 and "dev" not in result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_bootstrap_serves_the_app_as_a_real_process(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([str(BIN / "numerous-bootstrap"), "served", "--skip-deps",
                                "--port", str(port)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
                time.sleep(0.1)
        else:
            pytest.fail("the bootstrapped app did not start")
        assert page.status_code == 200
        assert 'data-numerous-widget="counter"' in page.text
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert "Created" in output
    assert "Traceback" not in output
    assert "WARNING" not in output.upper().replace("WARNINGS", "")


def test_auth_flags_are_exclusive_and_write_secrets_privately(tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(bootstrap, [str(tmp_path / "a"), "--with-auth", "--with-db-auth",
                                     "--skip-deps", "--run-skip"])
    assert both.exit_code == 1 and "choose one" in both.output
    env_app = tmp_path / "b"
    result = runner.invoke(bootstrap, [str(env_app), "--with-auth", "--skip-deps", "--run-skip"])
    assert result.exit_code == 0, result.output
    assert "auth_provider=auth_provider" in (env_app / "app.py").read_text()
    assert (env_app / ".env").stat().st_mode & 0o777 == 0o600
    assert ".env" in (env_app / ".gitignore").read_text()


def test_a_stopping_server_turns_newcomers_away_before_ending_sessions() -> None:
    """Between the signal and the end, a balancer must send new visitors elsewhere: the port
    stops accepting at once, and a page asked for on a connection still open gets a 503 that
    tries again by itself."""
    import asyncio
    import signal
    import threading

    import uvicorn

    from numerous.cli._serve import GracefulServer, load_app

    app = load_app(Path(__file__).resolve().parents[1] / "e2e" / "counter" / "app.py")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = GracefulServer(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"), app)
    # On a thread of its own, uvicorn leaves the process's signal handlers alone.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),))
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        with httpx.Client() as open_connection:
            assert open_connection.get(url).status_code == 200
            (session,) = list(app.numerous.sessions)

            loop.call_soon_threadsafe(server.handle_exit, signal.SIGTERM, None)
            turned_away = open_connection.get(url)
            assert turned_away.status_code == 503
            assert turned_away.headers["retry-after"] == "5"
            assert '<meta http-equiv="refresh" content="5">' in turned_away.text
            assert session.closed and not list(app.numerous.sessions)
            with pytest.raises(httpx.ConnectError), httpx.Client() as newcomer:
                newcomer.get(url)
        thread.join(10)
        assert not thread.is_alive(), "the server did not stop"
    finally:
        server.should_exit = True
        thread.join(10)
        loop.close()


def test_bootstrap_with_oidc_writes_a_single_sign_on_app(tmp_path: Path) -> None:
    target = tmp_path / "sso"
    result = CliRunner().invoke(bootstrap, [str(target), "--with-oidc", "--skip-deps"])
    assert result.exit_code == 0, result.output
    assert "Fill in your OpenID provider" in result.output, "not served before it is set up"
    assert "OIDCAuthProvider" in (target / "app_auth.py").read_text()
    assert "auth_provider=auth_provider" in (target / "app.py").read_text()
    example = (target / ".env.example").read_text()
    for name in ("NUMEROUS_OIDC_ISSUER", "NUMEROUS_OIDC_CLIENT_ID", "NUMEROUS_OIDC_CLIENT_SECRET",
                 "NUMEROUS_OIDC_ALLOW_DOMAINS", "NUMEROUS_JWT_SECRET"):
        assert f"{name}=" in example
    env = (target / ".env").read_text()
    assert "NUMEROUS_JWT_SECRET='" in env and "NUMEROUS_OIDC_ISSUER=\n" in env
    assert (target / ".env").stat().st_mode & 0o777 == 0o600
    both = CliRunner().invoke(bootstrap, [str(tmp_path / "x"), "--with-oidc", "--with-auth",
                                          "--skip-deps", "--run-skip"])
    assert both.exit_code == 1 and "choose one of" in both.output


def test_the_oidc_bootstrap_apps_own_tests_pass(tmp_path: Path) -> None:
    target = tmp_path / "sso"
    assert CliRunner().invoke(bootstrap, [str(target), "--with-oidc", "--skip-deps",
                                          "--run-skip"]).exit_code == 0
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "test_app.py"], cwd=target, capture_output=True, text=True,
                            check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_the_server_refuses_frames_far_over_the_apps_limit_before_reading_them(
        tmp_path: Path) -> None:
    """A frame up to twice `max_message_bytes` gets a `too_large` answer; a bigger one is
    refused by uvicorn from its header (1009), before its payload is read or decoded."""
    app = make_app(tmp_path, limits=SessionLimits(max_message_bytes=300_000))
    assert server_config(app, "127.0.0.1", 8000).ws_max_size == 600_000
