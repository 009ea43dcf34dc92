// Bundles assets/plotly.js into static/vendor/plotly.min.js (run by `make`, from the repository root).
// The settings are plotly.js's own (its esbuild-config.js): an IIFE that defines window.Plotly.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync("assets/node_modules/plotly.js/package.json", "utf8"));
// plotly.js's MIT notice, in the form its own bundles carry it (and our tests read the version from).
const banner = `/**
* plotly.js (polso: scatter, bar, heatmap - minified) v${version}
* Copyright 2012-2026, Plotly, Inc.
* All rights reserved.
* Licensed under the MIT license
*/`;

await build({
  entryPoints: ["assets/plotly.js"],
  outfile: "static/vendor/plotly.min.js",
  format: "iife",
  globalName: "Plotly",
  bundle: true,
  minify: true,
  legalComments: "none",
  banner: { js: banner },
  define: { global: "window", "define.amd": "false" },
  target: "es2016",
  // The only stylesheet plotly.js imports is maplibre's, for map traces we leave out.
  loader: { ".css": "empty" },
  logLevel: "warning",
});
