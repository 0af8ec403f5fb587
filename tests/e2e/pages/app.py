"""Uploads in Chromium: each file's size and SHA-256 as the callback computed them."""

import hashlib

import anywidget
import traitlets

from numerous.apps import Upload, create_app


class Label(anywidget.AnyWidget):
    _esm = """export default { render({ model, el }) {
      const show = () => { el.textContent = model.get("text"); };
      model.on("change:text", show); show(); } };"""
    text = traitlets.Unicode("nothing yet").tag(sync=True)


def run_app():
    result = Label()

    def received(file):
        digest = hashlib.sha256()
        while chunk := file.file.read(1024 * 1024):
            digest.update(chunk)
        result.text = f"{file.name} {file.size} {digest.hexdigest()}"

    return {"upload": Upload(on_file=received), "result": result}


app = create_app(template="index.html.j2", app_generator=run_app,
                 max_upload_bytes=150 * 1024 * 1024)
