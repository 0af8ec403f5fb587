// The browser code the package ships prebuilt, so that installing it needs no npm:
// - the client (numerous/js/*.js) as one module per entry in numerous/js/bundle/: a page
//   fetches one file instead of a dozen, and a cold load waits for one round trip;
// - the classic Jupyter widget manager (numerous/js/classic/) as one module and its
//   stylesheet in numerous/js/vendor/.
// `npm run build` writes them; tests/js/bundle.test.js checks they match the sources.

import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

const common = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  minify: true,
  legalComments: "none",
  target: "es2020",
  logLevel: "warning",
};

/** Each bundle's esbuild options and the folder it is committed in (the test builds with them
 * too, without writing). */
export const bundles = [
  {
    folder: "numerous/js/bundle",
    files: ["auth.js", "auth.js.map", "main.js", "main.js.map"],
    options: {
      ...common,
      // The sign-in helpers are a page's second entry: pages of apps without sign-in never load them.
      entryPoints: ["numerous/js/main.js", "numerous/js/auth.js"],
      outdir: "numerous/js/bundle",
      sourcemap: "linked",
    },
  },
  {
    // The inline script that opens the WebSocket before the client has loaded (early.js); the
    // server puts it in every page and its hash in the page's policy.
    folder: "numerous/js/bundle",
    files: ["early.js"],
    options: {
      absWorkingDir: root,
      entryPoints: ["numerous/js/early.js"],
      outfile: "numerous/js/bundle/early.js",
      minify: true,
      legalComments: "none",
      target: "es2020",
      logLevel: "warning",
    },
  },
  {
    folder: "numerous/js/vendor",
    files: ["jupyter-widgets.css", "jupyter-widgets.js"],
    options: {
      ...common,
      entryPoints: ["numerous/js/classic/index.js"],
      outfile: "numerous/js/vendor/jupyter-widgets.js",
      alias: { "sanitize-html": "./numerous/js/classic/sanitize.js" },
    },
  },
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await Promise.all(bundles.map(({ options }) => build(options)));
}
