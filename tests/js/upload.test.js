import { describe, expect, it, vi } from "vitest";
import upload, { refusalMessage } from "../../numerous/apps/widgets/upload.js";

function fakeModel(state) {
  const listeners = [];
  return {
    get: (name) => state[name],
    on: (event, fn) => listeners.push([event, fn]),
    off: () => {},
  };
}

describe("the upload widget", () => {
  it("names the file and the limit when a file is too large", () => {
    const file = new File(["x".repeat(10)], "big.bin");
    expect(refusalMessage(file, { status: 413, body: null }, 5 * 1024 * 1024))
      .toBe("big.bin is too large: this app accepts files up to 5 MB.");
    expect(refusalMessage(new File(["x"], "a.csv"), { status: 403, body: { error: "nope" } }, 99))
      .toBe("a.csv was not uploaded: nope");
  });

  it("refuses a file over the limit before sending anything", async () => {
    const send = vi.spyOn(XMLHttpRequest.prototype, "send");
    const el = document.createElement("div");
    const model = fakeModel({ description: "Drop", multiple: true, accept: "", max_bytes: 4,
      _url: "/numerous/files/upload/t/w" });
    upload.render({ model, el });
    const input = el.querySelector("input");
    Object.defineProperty(input, "files", { value: [new File(["12345"], "five.txt")] });
    input.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(el.dataset.state).toBe("refused"));
    expect(el.querySelector("[role=status]").textContent).toContain("five.txt is too large");
    expect(send).not.toHaveBeenCalled();
  });
});
