"""An anywidget that compiles code at run time, as WebGL libraries built on regl do: under the
default policy its error names the setting; with `allow_eval=True` it renders."""

import anywidget
import traitlets

from numerous.apps import SecurityPolicy, create_app


class Compiled(anywidget.AnyWidget):
    _esm = """
    export default {
      render({ model, el }) {
        const shader = new Function("x", "return 'compiled ' + x");
        el.textContent = shader(model.get("value"));
      },
    };
    """
    value = traitlets.Unicode("ok").tag(sync=True)


def run_app() -> dict:
    return {"leaflet": Compiled(), "zoom": Compiled(value="second"), "closer": Compiled()}


allowed = create_app(template="leaflet.html.j2", app_generator=run_app,
                     security=SecurityPolicy(allow_eval=True))
strict = create_app(template="leaflet.html.j2", app_generator=run_app)
