"""A widget of your own: StarRating (rating.py, rating.js, rating.css) beside the stock ones.

    numerous dev app.py     # serves http://127.0.0.1:8000; saving rating.js reloads the page
    python -m pytest        # its tests, in-process
"""

import numerous.widgets as wi
from rating import StarRating

from numerous.apps import create_app


def run_app():
    rating = StarRating(label="How was the talk?")
    summary = wi.Text(value="No rating yet.")

    def rated(change):
        summary.value = f"You gave {change['new']} of {rating.stars} stars."

    rating.observe(rated, names="value")
    return {"rating": rating, "summary": summary}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
