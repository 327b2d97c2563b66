'use strict'
// The package as users load it: CommonJS and ESM entries, the README's
// handlers, the TypeScript typings, and which engine loads (make test-dist
// installs the packed tarballs into empty folders).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')

if (process.env.FLAGCORE_IMPL === 'wasm') {
  test('the flagcore package: its entries, handlers, typings and engines', { skip: 'tests the flagcore package, not flagcore-wasm' }, () => {})
  return // a CommonJS module may end early
}

const pkg = path.join(__dirname, '..')
const example = path.join(pkg, '..', 'examples', 'snapshot.json')

test('the ESM entry exports the same objects as the CommonJS one', async () => {
  const esm = await import('flagcore')
  const cjs = require('flagcore')
  for (const name of ['Snapshot', 'Context', 'SnapshotError', 'FlagsState', 'FlagClient', 'engine']) {
    assert.equal(esm[name], cjs[name], name)
  }
})

test("the README's handler works as written", async () => {
  // As a user's function sees it: the handler beside node_modules/flagcore.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-handler-'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(pkg, path.join(dir, 'node_modules', 'flagcore'), 'dir')
  fs.copyFileSync(path.join(pkg, '..', 'examples', 'node', 'handler.mjs'), path.join(dir, 'handler.mjs'))
  process.env.FLAGS_FILE = example
  const { handler } = await import(path.join(dir, 'handler.mjs'))
  // qa-alice is targeted into the new checkout; user-1002 is in the beta segment.
  assert.deepEqual(await handler({ userId: 'qa-alice', email: 'alice@shop.test' }), {
    statusCode: 200, body: JSON.stringify({ checkout: 'v2', theme: 'classic' })
  })
  const beta = JSON.parse((await handler({ userId: 'user-1002', email: 'b@shop.test' })).body)
  assert.equal(beta.theme, 'midnight')
})

test('the docs show the handlers as they are', () => {
  const { docsText } = require('./typescript.js')
  const docs = docsText()
  for (const file of ['handler.mjs', 'handler.cjs']) {
    const source = fs.readFileSync(path.join(pkg, '..', 'examples', 'node', file), 'utf8')
    assert.ok(docs.includes(source), `README.md and docs/ do not show examples/node/${file} as it is`)
  }
})

/** `require('flagcore')` in a fresh process with `env`: its engine and what it logged, or its error. */
function loadIn (env) {
  const result = spawnSync(process.execPath, ['-e', `
    const f = require('flagcore')
    const s = f.Snapshot.fromJson(require('fs').readFileSync(${JSON.stringify(example)}))
    console.log(f.engine, s.variation('new-checkout', { key: 'qa-alice' }, false))
  `], { cwd: pkg, encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'flagcore', FLAGCORE_ENGINE: '', FLAGCORE_NATIVE_MODULE: '', ...env } })
  return { out: result.stdout.trim(), log: result.stderr, status: result.status }
}

test('the native engine where it loads, and the reason in the debug log', () => {
  const { out, log } = loadIn({})
  assert.equal(out, 'native true')
  assert.match(log, /FLAGCORE \d+: engine native: the native build for linux-x64/)
})

test('FLAGCORE_ENGINE=wasm runs the WASM engine, with the same answers', () => {
  const { out, log } = loadIn({ FLAGCORE_ENGINE: 'wasm' })
  assert.equal(out, 'wasm true')
  assert.match(log, /engine wasm: FLAGCORE_ENGINE=wasm/)
})

test('a native module that does not load falls back to WASM and says why', () => {
  const { out, log } = loadIn({ FLAGCORE_NATIVE_MODULE: path.join(os.tmpdir(), 'no-such-flagcore.node') })
  assert.equal(out, 'wasm true')
  assert.match(log, /engine wasm: no native build loads on linux-x64 \(Cannot find module '.*no-such-flagcore\.node'\)/)
})

test('a native binary that is there but does not load (damaged, or for another system) falls back to WASM', () => {
  const damaged = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-damaged-')), 'flagcore.linux-x64-gnu.node')
  fs.writeFileSync(damaged, 'not an ELF file')
  const { out, log } = loadIn({ FLAGCORE_NATIVE_MODULE: damaged })
  assert.equal(out, 'wasm true')
  assert.match(log, /engine wasm: no native build loads on linux-x64 \(.*flagcore-damaged-.*(invalid ELF header|file too short)/)
})

test('FLAGCORE_ENGINE=native fails loudly where the native module does not load', () => {
  const { status, log } = loadIn({ FLAGCORE_ENGINE: 'native', FLAGCORE_NATIVE_MODULE: path.join(os.tmpdir(), 'no-such-flagcore.node') })
  assert.notEqual(status, 0)
  assert.match(log, /flagcore: FLAGCORE_ENGINE=native, but no native build loads on linux-x64/)
})

test('FLAGCORE_ENGINE takes only native or wasm', () => {
  const { status, log } = loadIn({ FLAGCORE_ENGINE: 'WASM' })
  assert.notEqual(status, 0)
  assert.match(log, /FLAGCORE_ENGINE must be "native" or "wasm", not "WASM"/)
})

test('a native module that loads but throws (an ABI this build does not serve) falls back too', () => {
  const { selectEngine } = require('../engine.js')
  const abi = Object.assign(new Error('Failed to load native binding'), { cause: new Error('Module did not self-register: flagcore.linux-x64-gnu.node.') })
  const wasm = {}
  const chosen = selectEngine({}, { native: () => { throw abi }, wasm: () => wasm })
  assert.equal(chosen.name, 'wasm')
  assert.equal(chosen.engine, wasm)
  assert.match(chosen.reason, /Module did not self-register/)
})

test('with neither engine, require says why for both', () => {
  const { selectEngine } = require('../engine.js')
  const missing = (name) => () => { throw new Error(`Cannot find module '${name}'`) }
  assert.throws(() => selectEngine({}, { native: missing('flagcore-linux-x64-gnu'), wasm: missing('flagcore-wasm/engine') }),
    /no engine loads: no native build loads on linux-x64 \(Cannot find module 'flagcore-linux-x64-gnu'\), and the WASM engine \(flagcore-wasm\) does not either \(Cannot find module 'flagcore-wasm\/engine'\)/)
})

test('every export of index.js is typed in index.d.ts', () => {
  const typings = fs.readFileSync(path.join(pkg, 'dist', 'index.d.ts'), 'utf8')
  for (const [name, value] of Object.entries(require('flagcore'))) {
    const kind = typeof value !== 'function' ? 'const' : /^[A-Z]/.test(name) ? 'class' : 'function'
    assert.match(typings, new RegExp(`export declare ${kind} ${name}\\b`), name)
  }
  for (const cls of ['Snapshot', 'FlagClient']) {
    const proto = require('flagcore')[cls].prototype
    for (const name of Object.getOwnPropertyNames(proto).filter((m) => m !== 'constructor')) {
      const getter = Boolean(Object.getOwnPropertyDescriptor(proto, name).get)
      const pattern = getter ? `\\n  readonly ${name}:` : `\\n  ${name}\\(`
      assert.match(typings, new RegExp(pattern), `${cls}.${name}`)
    }
  }
})

test('every declared export of index.d.ts is there at runtime', () => {
  const typings = fs.readFileSync(path.join(pkg, 'dist', 'index.d.ts'), 'utf8')
  const declared = [...typings.matchAll(/^export declare (?:const|class|function) (\w+)/gm)].map((m) => m[1])
  assert.ok(declared.length > 5, 'no declarations found')
  const runtime = require('flagcore')
  for (const name of declared) assert.ok(name in runtime, `index.d.ts declares ${name}, which require('flagcore') lacks`)
})

test('the typings compile a typical handler under --strict, with no @types/node', { timeout: 60_000 }, () => {
  const { compile } = require('./typescript.js')
  compile({ flagcore: pkg }, path.join(__dirname, 'types-check.ts'))
})
