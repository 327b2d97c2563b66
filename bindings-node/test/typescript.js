'use strict'
// Helpers of the typings' tests, shared with flagcore-wasm's: `compile` runs
// `tsc --strict --noEmit` on one file beside node_modules holding the given
// packages, with no @types at all (a user's project need not have
// @types/node), failing with tsc's messages; `docsText` is README.md and
// docs/*.md, which show the examples.

const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..', '..')

function compile (packages, file) {
  const tsc = require.resolve('typescript/bin/tsc')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-types-'))
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'))
    for (const [name, folder] of Object.entries(packages)) fs.symlinkSync(folder, path.join(dir, 'node_modules', name), 'dir')
    fs.copyFileSync(file, path.join(dir, 'check.ts'))
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
      files: ['check.ts']
    }))
    try {
      execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' })
    } catch (error) {
      assert.fail(`tsc refused ${path.basename(file)} against the typings:\n${error.stdout}`)
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

function docsText () {
  const pages = fs.readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md')).sort()
  return [path.join(root, 'README.md'), ...pages.map((name) => path.join(root, 'docs', name))]
    .map((file) => fs.readFileSync(file, 'utf8')).join('\n')
}

module.exports = { compile, docsText }
