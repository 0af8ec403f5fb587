"""The built-in upload widget: files from the browser over HTTP, into a callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .._files import UploadCallback, UploadedFile, files_of, on_upload
from .._session import current_session

_HERE = Path(__file__).resolve().parent


class Upload(anywidget.AnyWidget):
    """Drag-and-drop and a file picker; each file goes to `on_file` on the session thread.

    >>> def received(file: UploadedFile) -> None:
    ...     table.rows = parse_csv(file.file)
    >>> upload = Upload(on_file=received, accept=".csv")

    Files travel over HTTP, not the WebSocket, with a progress bar; one larger than the
    app's `max_upload_bytes` is refused with a message. Create it inside run_app().
    """

    _esm = (_HERE / "upload.js").read_text(encoding="utf-8")
    _css = (_HERE / "upload.css").read_text(encoding="utf-8")
    _url = traitlets.Unicode("").tag(sync=True)
    description = traitlets.Unicode("Drop files here or click to choose").tag(sync=True)
    multiple = traitlets.Bool(True).tag(sync=True)
    accept = traitlets.Unicode("").tag(sync=True)
    """File types the picker offers, as the `accept` attribute: `.csv,text/csv`."""
    max_bytes = traitlets.Int(0).tag(sync=True)
    uploaded = traitlets.List(traitlets.Dict()).tag(sync=True)
    """Name, size and content type of each file received so far."""

    def __init__(self, on_file: UploadCallback | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._callbacks: list[UploadCallback] = [on_file] if on_file is not None else []
        files = files_of(current_session())
        self.max_bytes = files.registry.max_upload_bytes
        self._url = on_upload(self, self._received)

    def on_file(self, callback: UploadCallback) -> None:
        """Call `callback(file)` for each file received as well."""
        self._callbacks.append(callback)

    def _received(self, file: UploadedFile) -> None:
        self.uploaded = [*self.uploaded, {"name": file.name, "size": file.size,
                                          "content_type": file.content_type}]
        for callback in self._callbacks:
            file.file.seek(0)
            callback(file)
