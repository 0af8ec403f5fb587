"""A loan calculator that scripts and agents can drive through the agent API.

    python app.py            # serves http://127.0.0.1:8000
    python drive.py          # opens a session of its own and fills it in
    python drive.py --attach=CODE   # fills in the session your browser shows

Press "Hand this page to a script" on the page for the CODE. See docs/agents.md.
"""

import numerous.widgets as wi

from numerous.apps import action, create_app


def run_app():
    principal = wi.Number(label="Loan", default=200_000, start=0, stop=10_000_000, step=1000)
    rate = wi.Number(label="Yearly rate (%)", default=4.0, start=0, stop=30, step=0.1)
    years = wi.Number(label="Years", default=25, start=1, stop=50, step=1)
    result = wi.MarkdownDisplay(content="Press **Compute**.")

    @action
    def compute() -> dict[str, float]:
        """Compute the monthly payment for the loan, rate and years now set; shows it on the
        page and returns it with the total paid."""
        months = max(1, round(years.value * 12))
        monthly_rate = rate.value / 100 / 12
        if monthly_rate == 0:
            payment = principal.value / months
        else:
            payment = principal.value * monthly_rate / (1 - (1 + monthly_rate) ** -months)
        result.content = f"Monthly payment: **{payment:,.2f}** over {months} months"
        return {"monthly_payment": round(payment, 2), "total_paid": round(payment * months, 2)}

    button = wi.Button(label="Compute", on_click=lambda _: compute())
    return {"principal": principal, "rate": rate, "years": years, "button": button,
            "result": result}


# The agent API is on in dev mode anyway; agent_api=True serves it in production too.
app = create_app(template="index.html.j2", app_generator=run_app, agent_api=True)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
