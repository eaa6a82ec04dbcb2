#!/usr/bin/env node
// Makes npm's solc-js answer like the native `solc` binary for the two calls py-solc-x makes:
//   solc-bridge.cjs --version         -> the native two-line banner
//   solc-bridge.cjs --standard-json   -> standard-JSON in on stdin, clean JSON out on stdout
// The `solcjs` CLI cannot stand in: it lacks --combined-json and prints a non-JSON line before
// standard-JSON output. Imports are read from disk relative to --base-path (or the working dir).
'use strict';
const fs = require('fs');
const path = require('path');

// Looked for where ledger.compiler.find_solcjs looks, in the same order: $CCEI_SOLCJS, a node_modules
// in the working directory or above it, then this checkout's.
function loadSolc() {
  if (process.env.CCEI_SOLCJS) {
    return require(path.resolve(process.env.CCEI_SOLCJS));
  }
  const roots = [process.cwd(), path.resolve(__dirname, '..')];
  for (const root of roots) {
    try {
      return require(require.resolve('solc', { paths: [root] }));
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  process.stderr.write('solc-bridge: npm package "solc" is not installed; run `npm install solc` or set CCEI_SOLCJS\n');
  process.exit(1);
}

const args = process.argv.slice(2);
const solc = loadSolc();

if (args.includes('--version')) {
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write('solc-bridge: only --version and --standard-json are supported\n');
  process.exit(2);
}

const baseIdx = args.indexOf('--base-path');
const basePath = baseIdx >= 0 ? args[baseIdx + 1] : process.cwd();

function findImports(importPath) {
  const full = path.resolve(basePath, importPath);
  try {
    return { contents: fs.readFileSync(full, 'utf8') };
  } catch (err) {
    return { error: 'File not found: ' + importPath };
  }
}

const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
