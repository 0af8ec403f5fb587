"""A widget written here, with inline code: custom messages with binary buffers both ways,
binary state both ways, and a child widget rendered by reference."""

import anywidget
import traitlets
from ipywidgets import widget_serialization

from numerous.apps import create_app

CHILD_ESM = """
export default {
  render({ model, el }) {
    const span = document.createElement("span");
    span.className = "child-label";
    const show = () => { span.textContent = model.get("label"); };
    show();
    model.on("change:label", show);
    el.appendChild(span);
    return () => model.off("change:label", show);
  },
};
"""

PARENT_ESM = """
function bytes(view) {
  return Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
}

export default {
  initialize({ model }) {
    model.set("initialized", true);
    model.save_changes();
  },
  async render({ model, el }) {
    const reply = Object.assign(document.createElement("div"), { className: "reply" });
    const blob = Object.assign(document.createElement("div"), { className: "blob" });
    const status = Object.assign(document.createElement("div"), { className: "status" });
    const send = Object.assign(document.createElement("button"), { className: "send",
                                                                   textContent: "Send" });
    const upload = Object.assign(document.createElement("button"), { className: "upload",
                                                                     textContent: "Upload" });
    const childBox = Object.assign(document.createElement("div"), { className: "child" });
    el.append(reply, blob, status, send, upload, childBox);

    send.onclick = () => model.send({ kind: "bytes" }, undefined, [new Uint8Array([1, 2, 3, 250])]);
    upload.onclick = () => {
      model.set("upload", new Uint8Array([9, 8, 7]).buffer);
      model.save_changes();
    };
    model.on("msg:custom", (content, buffers) => {
      reply.textContent = `${content.reply}:${bytes(buffers[0]).join(",")}`;
    });
    const showBlob = () => {
      const data = model.get("blob");
      blob.textContent = data instanceof DataView ? `blob:${bytes(data).join(",")}` : "blob:none";
    };
    const showStatus = () => { status.textContent = model.get("status"); };
    showBlob(); showStatus();
    model.on("change:blob", showBlob);
    model.on("change:status", showStatus);

    const child = await model.widget_manager.get_model(model.get("child"));
    const label = Object.assign(document.createElement("span"), { className: "child-text" });
    const showChild = () => { label.textContent = `child says ${child.get("label")}`; };
    showChild();
    child.on("change:label", showChild);
    childBox.appendChild(label);
    return () => child.off("change:label", showChild);
  },
};
"""


class Child(anywidget.AnyWidget):
    _esm = CHILD_ESM
    label = traitlets.Unicode("hello").tag(sync=True)


class Parent(anywidget.AnyWidget):
    _esm = PARENT_ESM
    child = traitlets.Instance(Child).tag(sync=True, **widget_serialization)
    blob = traitlets.Bytes(b"\x00\x01\xff").tag(sync=True)
    upload = traitlets.Bytes(b"").tag(sync=True)
    status = traitlets.Unicode("waiting").tag(sync=True)
    initialized = traitlets.Bool(False).tag(sync=True)


def run_app():
    child = Child()
    parent = Parent(child=child)

    def on_message(widget, content, buffers):
        data = bytes(buffers[0])
        widget.send({"reply": f"got {content['kind']}"}, buffers=[bytes(reversed(data))])
        widget.blob = data
        child.label = f"{len(data)} bytes"

    def on_upload(change):
        parent.status = f"upload:{','.join(str(b) for b in change['new'])}"

    def on_initialized(change):
        parent.status = "initialized" if change["new"] else parent.status

    parent.on_msg(on_message)
    parent.observe(on_upload, names="upload")
    parent.observe(on_initialized, names="initialized")
    return {"parent": parent, "child": child}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)
