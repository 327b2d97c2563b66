'use strict'
// make test-dist: the flagcore package as npm installed it into an empty
// folder (FLAGCORE_PACKAGE), on the engine that install must give
// (FLAGCORE_EXPECT_ENGINE): the README's handlers run there as written.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const installed = process.env.FLAGCORE_PACKAGE
const expected = process.env.FLAGCORE_EXPECT_ENGINE
const examples = path.join(__dirname, '..', '..', 'examples')
const skip = !installed && 'runs on an installed package: make test-dist'

test('the installed package runs on the engine its install gives', { skip }, () => {
  assert.ok(['native', 'wasm'].includes(expected), 'FLAGCORE_EXPECT_ENGINE must say which engine this install gives')
  const flagcore = require(installed)
  assert.equal(require.resolve(installed), path.join(fs.realpathSync(installed), 'index.js'))
  assert.equal(flagcore.engine, expected)
})

async function readmeHandler (file) {
  const app = path.dirname(path.dirname(installed))
  fs.copyFileSync(path.join(examples, 'node', file), path.join(app, file))
  process.env.FLAGS_FILE = path.join(examples, 'snapshot.json')
  const { handler } = await import(path.join(app, file))
  // qa-alice is targeted into the new checkout; user-1002 is in the beta segment.
  assert.deepEqual(await handler({ userId: 'qa-alice', email: 'alice@shop.test' }), {
    statusCode: 200, body: JSON.stringify({ checkout: 'v2', theme: 'classic' })
  })
  assert.equal(JSON.parse((await handler({ userId: 'user-1002', email: 'b@shop.test' })).body).theme, 'midnight')
  // The handler's package is the installed one, on the expected engine.
  const { engine } = await import(path.join(app, 'node_modules', 'flagcore', 'index.mjs'))
  assert.equal(engine, expected)
}

test("the README's ESM handler runs beside the installed package", { skip }, () => readmeHandler('handler.mjs'))
test("the README's CommonJS handler runs beside the installed package", { skip }, () => readmeHandler('handler.cjs'))
