"""Files in and out: upload a text file, see its words counted, download the report.

    numerous dev app.py     # serves http://127.0.0.1:8000
    python -m pytest        # its tests, in-process

Uploads and downloads go over plain HTTP, streamed, and belong to the session that asked for
them. See docs/pages.md.
"""

import re
from collections import Counter

import numerous.widgets as wi

from numerous.apps import Upload, UploadedFile, create_app, download

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
MAX_BYTES = 2_000_000


def top_words(text: str, count: int = 10) -> list[dict]:
    words = Counter(word.lower() for word in WORD.findall(text))
    return [{"word": word, "times": times} for word, times in words.most_common(count)]


def report(name: str, rows: list[dict]) -> str:
    lines = [f"Top words in {name}", ""]
    lines += [f"{row['word']:<20}{row['times']:>6}" for row in rows]
    return "\n".join(lines) + "\n"


def run_app():
    summary = wi.Text(value="No file yet.")
    table = wi.Table(data=[], columns=[{"accessorKey": "word", "header": "Word"},
                                       {"accessorKey": "times", "header": "Times"}])
    save = wi.Button(label="Download the report", disabled=True)
    latest = {}

    def received(file: UploadedFile) -> None:
        if file.size > MAX_BYTES:
            summary.value = f"{file.name} is over {MAX_BYTES:,} bytes; try a smaller file."
            return
        text = file.read().decode("utf-8", errors="replace")
        rows = top_words(text)
        latest.update(name=file.name, rows=rows)
        table.data = rows
        summary.value = f"{file.name}: {len(WORD.findall(text)):,} words."
        save.disabled = False

    def save_report(event) -> None:
        if latest:
            download(report(latest["name"], latest["rows"]), "report.txt", "text/plain")

    save.on_click = save_report
    upload = Upload(on_file=received, accept=".txt,.md,text/plain", multiple=False,
                    description="Drop a text file here, or click to choose one")
    return {"upload": upload, "summary": summary, "table": table, "save": save}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
