"""Schemathesis against the app's HTTP API (the agent API's OpenAPI schema): whatever the
generated requests hold, the server answers without an internal error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anywidget
import schemathesis
import traitlets
from hypothesis import settings
from schemathesis.checks import not_a_server_error

from numerous.apps import action, create_app


class Meter(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Float(0.0).tag(sync=True)
    label = traitlets.Unicode("m").tag(sync=True)

    @action
    def reset(self, to: float = 0.0) -> float:
        """Set the value back."""
        self.value = to
        return self.value


def _app() -> object:
    folder = Path(tempfile.mkdtemp(prefix="numerous-schemathesis-"))
    (folder / "index.html.j2").write_text("<main>{{ meter }}</main>")
    return create_app(template="index.html.j2", base_dir=folder, agent_api=True,
                      app_generator=lambda: {"meter": Meter()}, session_grace=0.5)


schema = schemathesis.openapi.from_asgi("/api/agent/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=25, deadline=None)
def test_the_api_never_fails_internally(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
