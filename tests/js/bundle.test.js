// The committed bundles (the client in numerous/js/bundle/, the classic widget manager in
// numerous/js/vendor/) are what their sources build to.
// @vitest-environment node

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { bundles } from "../../scripts/build.mjs";

describe.each(bundles)("the bundle in $folder", ({ folder, files, options }) => {
  it("matches its sources built by `npm run build`", async () => {
    const result = await build({ ...options, write: false });
    const built = result.outputFiles.map((file) => file.path.split("/").pop());
    expect(built.sort()).toEqual(files);
    for (const file of result.outputFiles) {
      const name = file.path.split("/").pop();
      const committed = readFileSync(join(options.absWorkingDir, folder, name), "utf8");
      expect(file.text === committed, `${folder}/${name} is stale: run npm run build`).toBe(true);
    }
  }, 60_000);
});
