// The built-in upload widget: drag-and-drop or the file picker, one HTTP POST per file with
// its bytes as the body (numerous/apps/_files.py), a progress bar from the upload's progress
// events, and a clear message when a file is too large or refused.

/** @param {number} size */
function megabytes(size) {
  return `${Math.round(size / 1024 / 1024)} MB`;
}

/**
 * Post one file; resolves with the server's answer, reports progress as a fraction.
 * @param {string} url @param {File} file @param {(fraction: number) => void} onProgress
 * @returns {Promise<{status: number, body: any}>}
 */
export function postFile(url, file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${url}?name=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener("error", () => resolve({ status: 0, body: null }));
    xhr.send(file);
  });
}

/** The message a refused upload shows. @param {File} file @param {{status: number, body: any}} answer @param {number} limit */
export function refusalMessage(file, answer, limit) {
  if (answer.status === 413 || file.size > limit) {
    return `${file.name} is too large: this app accepts files up to ${megabytes(limit)}.`;
  }
  return `${file.name} was not uploaded: ${answer.body?.error ?? "the connection failed"}`;
}

function build(el) {
  el.classList.add("numerous-upload");
  el.innerHTML = `
    <label class="numerous-upload__drop">
      <span class="numerous-upload__label"></span>
      <input type="file" class="numerous-upload__input">
    </label>
    <progress class="numerous-upload__progress" max="1" value="0" hidden></progress>
    <p class="numerous-upload__status" role="status"></p>`;
  return {
    drop: el.querySelector(".numerous-upload__drop"),
    input: el.querySelector("input"),
    label: el.querySelector(".numerous-upload__label"),
    progress: el.querySelector("progress"),
    status: el.querySelector(".numerous-upload__status"),
  };
}

export default {
  render({ model, el }) {
    const parts = build(el);
    const sync = () => {
      parts.label.textContent = model.get("description");
      parts.input.multiple = model.get("multiple");
      parts.input.accept = model.get("accept");
    };
    sync();
    model.on("change:description change:multiple change:accept", sync);

    const uploadAll = async (fileList) => {
      const limit = model.get("max_bytes");
      for (const file of Array.from(fileList)) {
        parts.progress.hidden = false;
        parts.progress.value = 0;
        parts.status.textContent = `Uploading ${file.name}…`;
        el.dataset.state = "uploading";
        const answer = file.size > limit ? { status: 413, body: null }
          : await postFile(model.get("_url"), file, (f) => {
            parts.progress.value = f;
            el.dataset.progress = String(Math.round(f * 100));
          });
        if (answer.status !== 200) {
          parts.status.textContent = refusalMessage(file, answer, limit);
          el.dataset.state = "refused";
          parts.progress.hidden = true;
          continue;
        }
        parts.progress.value = 1;
        parts.status.textContent = `Uploaded ${file.name} (${file.size} bytes).`;
        el.dataset.state = "done";
      }
    };
    parts.input.addEventListener("change", () => {
      uploadAll(parts.input.files ?? []).finally(() => { parts.input.value = ""; });
    });
    parts.drop.addEventListener("dragover", (event) => {
      event.preventDefault();
      parts.drop.classList.add("numerous-upload__drop--over");
    });
    parts.drop.addEventListener("dragleave", () => {
      parts.drop.classList.remove("numerous-upload__drop--over");
    });
    parts.drop.addEventListener("drop", (event) => {
      event.preventDefault();
      parts.drop.classList.remove("numerous-upload__drop--over");
      const files = event.dataTransfer?.files ?? [];
      uploadAll(model.get("multiple") ? files : Array.from(files).slice(0, 1));
    });
    return () => model.off("change:description change:multiple change:accept", sync);
  },
};
