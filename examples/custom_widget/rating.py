"""A star rating, written from scratch as an anywidget: synced traits in Python, the view in
rating.js, its look in rating.css. It works in Jupyter and marimo too."""

from pathlib import Path

import anywidget
import traitlets

HERE = Path(__file__).parent


class StarRating(anywidget.AnyWidget):
    _esm = HERE / "rating.js"
    _css = HERE / "rating.css"

    value = traitlets.Int(0).tag(sync=True)
    stars = traitlets.Int(5).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)

    @traitlets.validate("value")
    def _within_the_stars(self, proposal):
        # Values from the browser go through this check too: a page cannot set 9 of 5.
        if not 0 <= proposal["value"] <= self.stars:
            raise traitlets.TraitError(f"the rating is 0 to {self.stars}")
        return proposal["value"]
