// Bundle the classic Jupyter widget manager (numerous/js/classic/) into one ES module and its
// stylesheet in numerous/js/vendor/, committed so that installing the package needs no npm.
// `npm run build:jupyter` writes them; tests/js/bundle.test.js checks they match the sources.

import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The esbuild options (the test builds with them too, without writing). */
export const options = {
  absWorkingDir: root,
  entryPoints: ["numerous/js/classic/index.js"],
  outfile: "numerous/js/vendor/jupyter-widgets.js",
  bundle: true,
  format: "esm",
  minify: true,
  legalComments: "none",
  target: "es2020",
  alias: { "sanitize-html": "./numerous/js/classic/sanitize.js" },
  logLevel: "warning",
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build(options);
}
