"""An ipyleaflet map. Its code compiles templates at run time, so the app allows eval; map
tiles come from the network, which the map does not need to render and round-trip."""

import ipyleaflet
import ipywidgets as widgets

from numerous.apps import SecurityPolicy, create_app


def run_app() -> dict:
    leaflet = ipyleaflet.Map(center=(59.91, 10.75), zoom=10,
                             layout=widgets.Layout(height="300px"))
    zoom = widgets.Label(value="zoom 10")
    leaflet.observe(lambda change: setattr(zoom, "value", f"zoom {change['new']}"), "zoom")
    closer = widgets.Button(description="Closer")
    closer.on_click(lambda _: setattr(leaflet, "zoom", leaflet.zoom + 1))
    return {"leaflet": leaflet, "zoom": zoom, "closer": closer}


app = create_app(template="leaflet.html.j2", app_generator=run_app,
                 security=SecurityPolicy(allow_eval=True))
strict = create_app(template="leaflet.html.j2", app_generator=run_app)
