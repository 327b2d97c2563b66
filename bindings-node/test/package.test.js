'use strict'
// The package as users load it: CommonJS and ESM entries, the README's
// handler, the TypeScript typings, and `npm pack` installed into an empty folder.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const pkg = path.join(__dirname, '..')
const example = path.join(pkg, '..', 'examples', 'snapshot.json')

test('the ESM entry exports the same objects as the CommonJS one', async () => {
  const esm = await import('flagcore')
  const cjs = require('flagcore')
  for (const name of ['Snapshot', 'Context', 'SnapshotError', 'FlagsState', 'FlagClient']) {
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

test('the README shows the handler as it is', () => {
  const readme = fs.readFileSync(path.join(pkg, '..', 'README.md'), 'utf8')
  const source = fs.readFileSync(path.join(pkg, '..', 'examples', 'node', 'handler.mjs'), 'utf8')
  assert.ok(readme.includes(source), 'README.md does not show examples/node/handler.mjs as it is')
})

test('every export of index.js is typed in index.d.ts', () => {
  const typings = fs.readFileSync(path.join(pkg, 'index.d.ts'), 'utf8')
  for (const name of Object.keys(require('flagcore'))) {
    assert.match(typings, new RegExp(`export declare class ${name}\\b`), name)
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

test('npm pack gives a package that installs into an empty folder and works there', { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-pack-'))
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: pkg, encoding: 'utf8' }).trim().split('\n').pop()
  const app = path.join(dir, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), '{"name": "app", "private": true}')
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', path.join(dir, tarball)], { cwd: app, stdio: 'ignore' })
  const out = execFileSync(process.execPath, ['-e', `
    const { Snapshot } = require('flagcore')
    const s = Snapshot.fromJson(require('fs').readFileSync(${JSON.stringify(example)}))
    console.log(JSON.stringify(s.variationDetail('new-checkout', { key: 'qa-alice' }, false)))
  `], { cwd: app, encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { value: true, variationIndex: 0, reason: { kind: 'TARGET_MATCH' } })
})

test('the typings compile a typical handler under --strict', { timeout: 60_000 }, () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-types-'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  fs.symlinkSync(pkg, path.join(dir, 'node_modules', 'flagcore'), 'dir')
  fs.copyFileSync(path.join(__dirname, 'types-check.ts'), path.join(dir, 'check.ts'))
  try {
    execFileSync(process.execPath, [tsc, '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--target', 'es2022', '--types', 'node', '--typeRoots', path.join(pkg, 'node_modules', '@types'), path.join(dir, 'check.ts')], { encoding: 'utf8' })
  } catch (error) {
    assert.fail(`tsc refused the typings:\n${error.stdout}`)
  }
})
