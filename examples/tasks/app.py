"""Long work without a frozen page: a slow computation with a progress bar and a cancel
button, a chart every visitor gets from one shared cache, and a clock that keeps ticking.

    python app.py        # serves http://127.0.0.1:8000
    python -m pytest     # its tests, in-process

Set NUMEROUS_CACHE_REDIS=redis://127.0.0.1:6379/0 to share the chart between several
instances of the app through Redis. See docs/tasks.md.
"""

import math
import os
import time

import numerous.widgets as wi

from numerous.apps import RedisBackend, cache, create_app, every, start_task

REDIS = os.environ.get("NUMEROUS_CACHE_REDIS")


@cache(ttl=600, maxsize=8, backend=RedisBackend(REDIS) if REDIS else None, name="sales_chart")
def sales_chart(months: int) -> dict:
    """The chart every visitor asks for: computed once (a slow query, in a real app), then
    shared by every session for ten minutes."""
    time.sleep(0.5)
    labels = [f"M{m + 1}" for m in range(months)]
    sales = [round(100 + 40 * math.sin(m / 2) + 3 * m, 1) for m in range(months)]
    return {"labels": labels, "datasets": [{"label": "Sales", "data": sales}]}


def count_primes(task, limit):
    """The slow computation: runs on a worker thread, reports progress, stops when cancelled
    (`task.progress` raises once the page has pressed Cancel)."""
    found = 0
    for n in range(2, limit):
        found += all(n % d for d in range(2, math.isqrt(n) + 1))
        if n % 2000 == 0:  # often: progress is cheap, and cancel waits for the next report
            task.progress(n / limit, f"{found:,} primes so far")
    return found


def run_app():
    limit = wi.Number(label="Count primes below", default=300_000, start=1000,
                      stop=50_000_000, step=1000)
    start = wi.Button(label="Start")
    cancel = wi.Button(label="Cancel", disabled=True)
    progress = wi.ProgressBar(value=0, label="Progress")
    status = wi.Text(value="Press Start.")
    chart = wi.Chart(chart_type="line")
    clock = wi.Text(value="")
    running = []

    def show_progress(fraction, message):
        progress.value = round(100 * fraction, 1)
        status.value = message

    def finished(outcome):
        cancel.disabled, start.disabled = True, False
        status.value = outcome

    def done(found):
        progress.value = 100
        finished(f"{found:,} primes below {int(limit.value):,}.")

    def begin(_):
        cancel.disabled, start.disabled = False, True
        progress.value = 0
        running[:] = [start_task(
            count_primes, int(limit.value), on_progress=show_progress,
            on_done=done,
            on_cancel=lambda: finished("Cancelled."),
            on_error=lambda exc: finished(f"Failed: {exc}"))]

    start.on_click = begin
    cancel.on_click = lambda _: running and running[0].cancel()

    # The chart loads off the page's thread too: the page shows at once, the chart follows.
    start_task(lambda task: sales_chart(24), key="chart",
               on_done=lambda data: setattr(chart, "chart_data", data))
    every(1.0, lambda: setattr(clock, "value", time.strftime("%H:%M:%S")))

    return {"limit": limit, "start": start, "cancel": cancel, "progress": progress,
            "status": status, "chart": chart, "clock": clock}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
