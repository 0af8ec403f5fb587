"""A sales dashboard: pick a region and a period; a chart, a table and the totals follow.

    numerous dev app.py     # serves http://127.0.0.1:8000
    python -m pytest        # its tests, in-process
"""

import numerous.widgets as wi

from numerous.apps import create_app

REGIONS = ["North", "South", "East", "West"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def sales(region: str, month: int) -> dict:
    """One month of one region (made-up numbers, the same on every run)."""
    base = 100 + 25 * REGIONS.index(region)
    units = base + (month * 37 + REGIONS.index(region) * 11) % 60
    return {"month": MONTHS[month], "units": units, "revenue": round(units * 12.5, 2)}


def run_app():
    region = wi.DropDown(options=REGIONS, label="Region:", default="North")
    months = wi.Slider(label="Months:", min_value=1, max_value=12, step=1, default=6)
    chart = wi.Chart(chart_type="bar")
    table = wi.Table(data=[], columns=[{"accessorKey": "month", "header": "Month"},
                                       {"accessorKey": "units", "header": "Units"},
                                       {"accessorKey": "revenue", "header": "Revenue"}],
                     page_size=12)
    totals = wi.Text(value="")

    def refresh(change=None):
        rows = [sales(region.selected_value, m) for m in range(int(months.value))]
        chart.chart_data = {"labels": [row["month"] for row in rows],
                            "datasets": [{"label": f"Units, {region.selected_value}",
                                          "data": [row["units"] for row in rows],
                                          "backgroundColor": "#6366f1"}]}
        table.data = rows
        totals.value = (f"{sum(row['units'] for row in rows):,} units, "
                        f"{sum(row['revenue'] for row in rows):,.2f} revenue")

    region.observe(refresh, names="selected_value")
    months.observe(refresh, names="value")
    refresh()
    return {"region": region, "months": months, "chart": chart, "table": table,
            "totals": totals}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
