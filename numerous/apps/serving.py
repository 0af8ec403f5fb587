"""What the command line builds on, public for tools that serve apps their own way: load an app
from its file (the same way `numerous run`, `numerous dev` and the test driver do), find the
Numerous apps inside a server, serve an app with hot reload, allow only the server's own host
names, export the built-in templates."""

from __future__ import annotations

from ._app import runtimes
from ._dev import DevServer
from ._hosts import HostCheck, default_allowed_hosts
from ._loader import AppNotFound, app_file, load_app
from ._templating import export_templates

__all__ = ["AppNotFound", "DevServer", "HostCheck", "app_file", "default_allowed_hosts",
           "export_templates", "load_app", "runtimes"]
