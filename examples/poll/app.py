"""A live poll: every visitor sees the same widgets, so a vote shows in every open page.

    numerous dev app.py     # open http://127.0.0.1:8000 in two windows and vote
    python -m pytest        # its tests, in-process
"""

import numerous.widgets as wi

from numerous.apps import SharedWrites, create_app

CHOICES = ["Python", "JavaScript", "Rust"]


def run_app():
    # With share_widgets the widgets are built once, for everyone; callbacks run on one shared
    # thread, one message at a time, so the counts never race.
    votes = dict.fromkeys(CHOICES, 0)
    chart = wi.Chart(chart_type="bar")
    summary = wi.Text(value="")

    def show():
        chart.chart_data = {"labels": CHOICES,
                            "datasets": [{"label": "Votes", "data": list(votes.values()),
                                          "backgroundColor": "#6366f1"}]}
        total = sum(votes.values())
        summary.value = f"{total} vote{'s' if total != 1 else ''}"

    def voter(choice):
        def vote(event):
            votes[choice] += 1
            show()
        return vote

    buttons = {f"vote_{choice.lower()}": wi.Button(label=choice, on_click=voter(choice))
               for choice in CHOICES}
    show()
    return {**buttons, "chart": chart, "summary": summary}


# Visitors may press the buttons and nothing else: the chart and the summary are the app's.
VISITORS_MAY = SharedWrites(writable={f"vote_{choice.lower()}": ["clicked", "value"]
                                      for choice in CHOICES})

app = create_app(template="index.html.j2", dev=True, app_generator=run_app,
                 share_widgets=VISITORS_MAY)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
