// An anywidget inside a classic layout box (`HBox(children=[my_anywidget])`): the box asks the
// classic manager for a view of the child, and this view has our anywidget host render it.

/**
 * The `anywidget` module as the classic manager sees it.
 * @param {any} base `@jupyter-widgets/base`
 * @param {any} host our WidgetHost
 */
export function anywidgetModule(base, host) {
  class AnywidgetModel extends base.DOMWidgetModel {}

  class AnywidgetView extends base.DOMWidgetView {
    render() {
      const ours = this.model.widget_manager.store.get(this.model.model_id);
      this._controller = new AbortController();
      if (ours) host.render(ours, this.el, { signal: this._controller.signal });
    }

    remove() {
      this._controller?.abort();
      return super.remove();
    }
  }

  return { AnyModel: AnywidgetModel, AnyView: AnywidgetView };
}
