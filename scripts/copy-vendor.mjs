// Copy the browser files the portal serves from node_modules/ into
// src/civicport/web/static/vendor/, one folder per library, each with its licence.
// Run by `npm ci` / `npm install` as the postinstall script; plain Node, no dependencies.
// The vendor folder is rebuilt from scratch on every run and is never committed.

import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const vendor = join(root, "src", "civicport", "web", "static", "vendor");

// folder under vendor/ -> the npm package it comes from and the files it takes from it.
// A file entry ending in "/" copies every file of that folder into a folder of the same name.
const libraries = {
  vega: { pkg: "vega", files: ["build/vega.min.js"] },
  "vega-lite": { pkg: "vega-lite", files: ["build/vega-lite.min.js"] },
  "vega-embed": { pkg: "vega-embed", files: ["build/vega-embed.min.js"] },
  // leaflet.css refers to images/… relatively: the css and the images folder stay side by side.
  leaflet: { pkg: "leaflet", files: ["dist/leaflet.js", "dist/leaflet.css", "dist/images/"] },
  "leaflet.markercluster": {
    pkg: "leaflet.markercluster",
    files: [
      "dist/leaflet.markercluster.js",
      "dist/MarkerCluster.css",
      "dist/MarkerCluster.Default.css",
    ],
  },
};

const LICENCE_NAME = /^(mit-)?licen[cs]e(\.(md|txt))?$/i;

function fail(message) {
  console.error(`copy-vendor: ${message}`);
  process.exit(1);
}

function copyInto(source, targetDir) {
  if (!existsSync(source)) fail(`missing ${relative(root, source)} (is npm's install complete?)`);
  mkdirSync(targetDir, { recursive: true });
  const target = join(targetDir, source.split(/[\\/]/).pop());
  copyFileSync(source, target);
  return 1;
}

rmSync(vendor, { recursive: true, force: true });
let count = 0;
for (const [folder, { pkg, files }] of Object.entries(libraries)) {
  const pkgDir = join(modules, pkg);
  const outDir = join(vendor, folder);
  for (const file of files) {
    const source = join(pkgDir, file);
    if (file.endsWith("/")) {
      if (!existsSync(source)) fail(`missing ${relative(root, source)}`);
      const subdir = join(outDir, file.slice(0, -1).split("/").pop());
      for (const name of readdirSync(source).sort()) {
        if (statSync(join(source, name)).isFile()) count += copyInto(join(source, name), subdir);
      }
    } else {
      count += copyInto(source, outDir);
    }
  }
  const licences = existsSync(pkgDir) ? readdirSync(pkgDir).filter((n) => LICENCE_NAME.test(n)) : [];
  if (licences.length === 0) fail(`no licence file found in ${relative(root, pkgDir)}`);
  for (const name of licences) count += copyInto(join(pkgDir, name), outDir);
}
console.log(`copy-vendor: ${count} files into ${relative(root, vendor)}/`);
