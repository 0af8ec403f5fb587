"""An app driven by the agent API in the e2e tests: a counter with a button, a label, actions."""

import anywidget
import traitlets

from numerous.apps import action, create_app


class Counter(anywidget.AnyWidget):
    """A button that counts its clicks."""

    _esm = """
    export default {
      render({ model, el }) {
        const button = document.createElement("button");
        const show = () => { button.textContent = `count: ${model.get("count")}`; };
        const click = () => { model.set("count", model.get("count") + 1); model.save_changes(); };
        button.addEventListener("click", click);
        model.on("change:count", show);
        show();
        el.append(button);
        return () => model.off("change:count", show);
      }
    }
    """
    count = traitlets.Int(0, min=0).tag(sync=True)

    @action
    def reset(self, to: int = 0) -> int:
        """Set the count to `to`; returns it."""
        self.count = to
        return self.count


class Label(anywidget.AnyWidget):
    _esm = """
    export default {
      render({ model, el }) {
        const show = () => { el.textContent = model.get("text"); };
        model.on("change:text", show);
        show();
        return () => model.off("change:text", show);
      }
    }
    """
    text = traitlets.Unicode("").tag(sync=True)


def run_app():
    counter = Counter()
    label = Label(text="nothing yet")

    @action
    def summarize(prefix: str = "count is") -> str:
        """Show the count in the label and return the text."""
        label.text = f"{prefix} {counter.count}"
        return label.text

    return {"counter": counter, "label": label}


app = create_app(template="index.html.j2", app_generator=run_app, agent_api=True)
