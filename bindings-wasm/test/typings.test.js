'use strict'
// flagcore-wasm's own typings (dist/index.d.ts, written by js/types.js from
// the shared API's): what they declare is there at runtime, what is there is
// declared, and a Worker compiles against them under --strict with no @types,
// while what only the Node package has does not.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const pkg = path.join(__dirname, '..')
const nodeTests = path.join(pkg, '..', 'bindings-node', 'test')

test("flagcore-wasm's typings declare exactly what it exports", async () => {
  const typings = fs.readFileSync(path.join(pkg, 'dist', 'index.d.ts'), 'utf8')
  const declared = [...typings.matchAll(/^export declare (?:const|class|function) (\w+)/gm)].map((m) => m[1]).sort()
  for (const entry of [require(pkg), await import(path.join(pkg, 'index.mjs'))]) {
    const exported = Object.keys(entry).filter((name) => name !== 'default').sort()
    assert.deepEqual(declared, exported)
  }
  assert.ok(!/\bfile: string\b|\bpublish\(|DynamoDbSender/.test(typings), 'the typings declare what only the Node package has')
})

test('a Worker compiles against the typings under --strict, with no @types', { timeout: 60_000 }, () => {
  const { compile } = require(path.join(nodeTests, 'typescript.js'))
  compile({ 'flagcore-wasm': pkg }, path.join(__dirname, 'types-check.ts'))
})
