"""The counter: one number, two buttons, one callback each.

    numerous dev app.py     # serves http://127.0.0.1:8000 and reloads on every save
    python -m pytest        # its tests, in-process
"""

import numerous.widgets as wi

from numerous.apps import create_app


def run_app():
    # Called once per browser session, on that session's own thread: every visitor counts alone.
    count = wi.Number(label="Count:", default=0, start=0, stop=1_000_000, fit_to_content=True)

    def add(event):
        count.value += 1

    def reset(event):
        count.value = 0

    return {"count": count,
            "add": wi.Button(label="Add one", on_click=add),
            "reset": wi.Button(label="Reset", on_click=reset)}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
