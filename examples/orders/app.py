"""Orders: pages, URL state, upload and download in one small app.

- `/` lists orders, filtered by status and a search; both filters live in the URL
  (`/?status=open&q=lamp`), so a filtered view can be shared or bookmarked, and back/forward
  step through the status filters.
- `/orders/{order_id:int}` is a page per order; an unknown order gets the 404 page.
- A CSV upload replaces this session's orders; "Export CSV" downloads the filtered ones.

Run it with `numerous run examples/orders/app.py` (or `python examples/orders/app.py`).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import anywidget
import traitlets

from numerous.apps import (
    Page,
    PageContext,
    PageNotFound,
    Upload,
    UploadedFile,
    bind_query,
    create_app,
    download,
)

COLUMNS = ["id", "customer", "item", "status", "total"]
STATUSES = ["all", "open", "shipped", "returned"]
ORDERS: list[dict[str, Any]] = [
    {"id": n, "customer": customer, "item": item, "status": status, "total": total}
    for n, (customer, item, status, total) in enumerate([
        ("Ada", "Desk lamp", "open", 39.0), ("Grace", "Notebook", "shipped", 4.5),
        ("Linus", "Keyboard", "open", 89.0), ("Margaret", "Desk lamp", "returned", 39.0),
        ("Alan", "Monitor", "shipped", 219.0), ("Barbara", "Chair", "open", 149.0),
        ("Ken", "Cable", "shipped", 9.9), ("Frances", "Headphones", "open", 59.0),
    ], start=1)
]


class Choice(anywidget.AnyWidget):
    _esm = """
    export default { render({ model, el }) {
      const select = document.createElement("select");
      for (const option of model.get("options")) select.add(new Option(option, option));
      const show = () => { select.value = model.get("value"); };
      select.addEventListener("change", () => { model.set("value", select.value); model.save_changes(); });
      model.on("change:value", show); show(); el.append(select);
    } };"""
    options = traitlets.List(traitlets.Unicode()).tag(sync=True)
    value = traitlets.Unicode("").tag(sync=True)

    @traitlets.validate("value")
    def _known(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in self.options:
            raise traitlets.TraitError(f"not one of {self.options}")
        return str(proposal["value"])


class Search(anywidget.AnyWidget):
    _esm = """
    export default { render({ model, el }) {
      const input = document.createElement("input");
      input.type = "search"; input.placeholder = "Search";
      const show = () => { input.value = model.get("value"); };
      input.addEventListener("change", () => { model.set("value", input.value); model.save_changes(); });
      model.on("change:value", show); show(); el.append(input);
    } };"""
    value = traitlets.Unicode("").tag(sync=True)


class Table(anywidget.AnyWidget):
    _esm = """
    export default { render({ model, el }) {
      const draw = () => {
        const table = document.createElement("table");
        const columns = model.get("columns");
        table.createTHead().insertRow().append(...columns.map((c) => {
          const th = document.createElement("th"); th.textContent = c; return th; }));
        const body = table.createTBody();
        for (const row of model.get("rows")) {
          const tr = body.insertRow();
          for (const c of columns) {
            const td = tr.insertCell();
            const link = model.get("link");
            if (c === "id" && link) {
              const a = document.createElement("a");
              a.href = link.replace("{id}", encodeURIComponent(row.id)); a.textContent = row.id;
              td.append(a);
            } else td.textContent = row[c] ?? "";
          }
        }
        el.replaceChildren(table);
        el.dataset.rows = String(model.get("rows").length);
      };
      model.on("change:rows", draw); draw();
    } };"""
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    link = traitlets.Unicode("").tag(sync=True)


class Button(anywidget.AnyWidget):
    _esm = """
    export default { render({ model, el }) {
      const button = document.createElement("button");
      button.className = "numerous-button"; button.textContent = model.get("label");
      button.addEventListener("click", () => model.send({ click: true }));
      el.append(button);
    } };"""
    label = traitlets.Unicode("").tag(sync=True)


def read_orders(file: UploadedFile) -> list[dict[str, Any]]:
    """The orders of an uploaded CSV with the columns of COLUMNS (others are ignored)."""
    text = io.TextIOWrapper(file.file, encoding="utf-8-sig", newline="")
    return [{c: row.get(c, "") for c in COLUMNS} for row in csv.DictReader(text)]


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def run_app(page: PageContext) -> dict[str, Any]:
    """The order list: filters bound to the URL, CSV in and out."""
    data = list(ORDERS)
    status = Choice(options=STATUSES, value="all")
    search = Search()
    table = Table(columns=COLUMNS, link=page.url("/orders/{id}"))

    def refilter(_: Any = None) -> None:
        needle = search.value.lower()
        table.rows = [row for row in data
                      if status.value in ("all", row["status"])
                      and needle in " ".join(str(v) for v in row.values()).lower()]

    def imported(file: UploadedFile) -> None:
        data[:] = read_orders(file)
        refilter()

    export = Button(label="Export CSV")
    export.on_msg(lambda *_: download(to_csv(table.rows), f"orders-{status.value}.csv",
                                      "text/csv"))
    status.observe(refilter, names="value")
    search.observe(refilter, names="value")
    refilter()
    bind_query(status, "value", "status", history="push")
    bind_query(search, "value", "q")
    upload = Upload(on_file=imported, accept=".csv,text/csv", multiple=False,
                    description="Drop a CSV of orders here, or click to choose one")
    return {"status": status, "search": search, "table": table, "export": export,
            "upload": upload}


def run_order(page: PageContext) -> dict[str, Any]:
    """One order's page; an order that does not exist is a 404."""
    order = next((o for o in ORDERS if o["id"] == page.path_params["order_id"]), None)
    if order is None:
        raise PageNotFound
    return {"order": Table(columns=COLUMNS, rows=[order])}


app = create_app(template="index.html.j2", app_generator=run_app,
                 pages=[Page("/orders/{order_id:int}", "order.html.j2", run_order)])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
