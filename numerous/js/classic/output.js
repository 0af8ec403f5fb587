// ipywidgets' `Output`: its `outputs` trait (stream text, rich displays, errors, widgets) drawn
// without JupyterLab's renderers. HTML comes from the app's own Python code, as in a notebook;
// scripts in it do not run (the page's CSP has no 'unsafe-inline' for scripts).

import * as base from "@jupyter-widgets/base";
import { Widget } from "@lumino/widgets";

const WIDGET_MIME = "application/vnd.jupyter.widget-view+json";
const ANSI = /\u001b\[[0-9;]*m/g;

export class OutputModel extends base.DOMWidgetModel {
  defaults() {
    return {
      ...super.defaults(),
      _model_name: "OutputModel", _model_module: "@jupyter-widgets/output",
      _view_name: "OutputView", _view_module: "@jupyter-widgets/output",
      outputs: [], msg_id: "",
    };
  }
}

function text(value) {
  return Array.isArray(value) ? value.join("") : String(value ?? "");
}

function pre(content, className) {
  const el = document.createElement("pre");
  el.className = className;
  el.textContent = content;
  return el;
}

export class OutputView extends base.DOMWidgetView {
  render() {
    this.el.classList.add("jupyter-widgets-output-area", "numerous-output");
    this._children = [];
    this.listenTo(this.model, "change:outputs", () => this.draw());
    this.draw();
  }

  draw() {
    for (const view of this._children) view.remove();
    this._children = [];
    this.el.replaceChildren(...(this.model.get("outputs") ?? []).map((o) => this.output(o)));
  }

  /** One entry of `outputs` as an element. */
  output(out) {
    if (out.output_type === "stream") return pre(text(out.text), `numerous-output-${out.name}`);
    if (out.output_type === "error") {
      return pre(text(out.traceback?.join("\n") ?? `${out.ename}: ${out.evalue}`)
        .replace(ANSI, ""), "numerous-output-error");
    }
    return this.richOutput(out.data ?? {});
  }

  richOutput(data) {
    const el = document.createElement("div");
    el.className = "numerous-output-display";
    if (data[WIDGET_MIME]) {
      this.widgetInto(data[WIDGET_MIME].model_id, el);
    } else if (data["text/html"] !== undefined) {
      el.innerHTML = text(data["text/html"]);
    } else if (data["image/svg+xml"] !== undefined) {
      el.innerHTML = text(data["image/svg+xml"]);
    } else if (data["image/png"] !== undefined || data["image/jpeg"] !== undefined) {
      const type = data["image/png"] !== undefined ? "image/png" : "image/jpeg";
      const img = document.createElement("img");
      img.src = `data:${type};base64,${text(data[type]).trim()}`;
      el.append(img);
    } else if (data["text/plain"] !== undefined) {
      el.append(pre(text(data["text/plain"]), "numerous-output-text"));
    }
    return el;
  }

  async widgetInto(id, el) {
    try {
      const model = await this.model.widget_manager.get_model(id);
      const view = await this.model.widget_manager.create_view(model);
      this._children.push(view);
      Widget.attach(view.luminoWidget, el);
    } catch (err) {
      el.append(pre(`widget ${id} could not be shown: ${err?.message ?? err}`,
        "numerous-output-error"));
    }
  }
}
