// The committed classic widget bundle (numerous/js/vendor/) is what its sources build to.
// @vitest-environment node

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { options } from "../../scripts/build-jupyter.mjs";

describe("the classic widget bundle", () => {
  it("matches numerous/js/classic/ built by `npm run build:jupyter`", async () => {
    const result = await build({ ...options, write: false });
    for (const file of result.outputFiles) {
      const committed = readFileSync(join(options.absWorkingDir, "numerous/js/vendor",
        file.path.split("/").pop()), "utf8");
      expect(file.text === committed, `${file.path} is stale: run npm run build:jupyter`)
        .toBe(true);
    }
    expect(result.outputFiles.map((f) => f.path.split("/").pop()).sort())
      .toEqual(["jupyter-widgets.css", "jupyter-widgets.js"]);
  }, 60_000);
});
