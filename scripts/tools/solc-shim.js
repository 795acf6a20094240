#!/usr/bin/env node
// A `solc`-compatible command over solc-js, for machines where no native solc can be installed.
//
// Usage: node solc-shim.js <solc-js module dir> [solc arguments...]
//
// Supported modes (what forge and snark-verifier call):
//   --version                      prints the version the way native solc does
//   --standard-json [file|-]       standard JSON in (stdin by default), standard JSON out
//   --bin [--optimize] [--optimize-runs N] <file|->
//                                  compiles one source and prints every contract's creation bytecode
//
// Output is written with process.stdout.write and the exit status set through process.exitCode: calling
// process.exit() right after a large write truncates the output at the pipe buffer size (64 KiB).
'use strict';

const fs = require('fs');
const path = require('path');

const [moduleDir, ...args] = process.argv.slice(2);
if (!moduleDir) {
  process.stderr.write('solc-shim: missing solc-js module directory\n');
  process.exitCode = 2;
  return;
}
const solc = require(path.resolve(moduleDir));

// Native solc prints `<version>+commit.<hash>.<platform>`; forge and svm only parse the semver prefix.
function nativeVersion() {
  return solc.version().replace('.Emscripten.clang', '.Linux.g++');
}

function readInput(file) {
  return !file || file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
}

// Resolves imports that the caller did not inline, relative to the base and include paths given on the command
// line (forge inlines every source, so this is only a fallback for direct use).
function importResolver(roots) {
  return (importPath) => {
    for (const root of roots) {
      const candidate = path.resolve(root, importPath);
      if (fs.existsSync(candidate)) {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      }
    }
    return { error: `file not found: ${importPath}` };
  };
}

function parseArgs(argv) {
  const opts = { mode: null, file: null, optimize: false, runs: 200, roots: [process.cwd()] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--version':
        opts.mode = 'version';
        break;
      case '--standard-json':
        opts.mode = 'standard-json';
        break;
      case '--bin':
        opts.mode = 'bin';
        break;
      case '--optimize':
        opts.optimize = true;
        break;
      case '--optimize-runs':
        opts.runs = Number(argv[++i]);
        break;
      case '--base-path':
      case '--include-path':
        opts.roots.push(argv[++i]);
        break;
      case '--allow-paths':
        i++;
        break;
      default:
        if (arg.startsWith('--')) {
          throw new Error(`unsupported option ${arg}`);
        }
        opts.file = arg;
    }
  }
  return opts;
}

function compileBin(opts) {
  const name = !opts.file || opts.file === '-' ? '<stdin>' : opts.file;
  const input = {
    language: 'Solidity',
    sources: { [name]: { content: readInput(opts.file) } },
    settings: {
      optimizer: { enabled: opts.optimize, runs: opts.runs },
      outputSelection: { '*': { '*': ['evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: importResolver(opts.roots) }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) {
    process.stderr.write(`${e.formattedMessage || e.message}\n`);
  }
  if (errors.length > 0) {
    return 1;
  }
  let text = '';
  for (const [source, contracts] of Object.entries(output.contracts || {})) {
    for (const [contract, out] of Object.entries(contracts)) {
      text += `\n======= ${source}:${contract} =======\nBinary:\n${out.evm.bytecode.object}\n`;
    }
  }
  process.stdout.write(text);
  return 0;
}

function main() {
  const opts = parseArgs(args);
  switch (opts.mode) {
    case 'version':
      process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${nativeVersion()}\n`);
      return 0;
    case 'standard-json':
      process.stdout.write(solc.compile(readInput(opts.file), { import: importResolver(opts.roots) }));
      return 0;
    case 'bin':
      return compileBin(opts);
    default:
      process.stderr.write('solc-shim: expected --version, --standard-json or --bin\n');
      return 2;
  }
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`solc-shim: ${err.message}\n`);
  process.exitCode = 1;
}
