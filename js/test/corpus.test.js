'use strict'
// The cross-runtime corpus (tests/vectors/corpus) through the package, as
// plain objects and prepared Contexts: every answer must be the corpus's
// canonical JSON, byte for byte. FLAGCORE_IMPL=wasm runs it on flagcore-wasm.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Snapshot, Context, testLabel: RUNTIME } = require('./impl.js')

const vectors = path.join(__dirname, '..', '..', 'tests', 'vectors')
const index = JSON.parse(fs.readFileSync(path.join(vectors, 'index.json'), 'utf8'))

function lines (file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
}

/** RFC 8785: keys sorted by UTF-16 code units (JavaScript's own order), numbers as JavaScript prints them. */
function canonical (value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

const METHODS = { bool: 'boolVariationDetail', int: 'numberVariationDetail', double: 'numberVariationDetail', string: 'stringVariationDetail', any: 'jsonVariationDetail' }

function answer (snapshot, c, context) {
  const detail = snapshot[METHODS[c.valueType]](c.flagKey, context, c.default)
  let value = detail.value
  // The int methods of the other runtimes truncate toward zero; JavaScript has one number type.
  if (c.valueType === 'int' && detail.variationIndex !== null && typeof value === 'number') value = Math.trunc(value)
  return canonical({ value, variationIndex: detail.variationIndex, reason: detail.reason })
}

test(`the corpus through ${RUNTIME}: every answer byte for byte`, () => {
  const groups = lines(path.join(vectors, index.corpus[0])).map((g) => [g.data, g.cases.map((c) => [c, c.expect])])
  for (const name of index.evaluation) {
    for (const c of lines(path.join(vectors, name))) groups.push([c.data, [[c, canonical(c.expect)]]])
  }
  const failures = []
  let passed = 0
  for (const [data, cases] of groups) {
    const snapshot = Snapshot.fromJson(JSON.stringify(data))
    for (const [c, expected] of cases) {
      for (const [variant, context] of [['object', c.context], ['prepared', new Context(c.context)]]) {
        const got = answer(snapshot, c, context)
        if (got === expected) passed++
        else failures.push(`[${RUNTIME}] ${c.id} (${variant}): expected ${expected}\n  got ${got}`)
      }
    }
  }
  console.log(`corpus (${RUNTIME}): ${passed} passed, ${failures.length} failed`)
  assert.deepEqual(failures.slice(0, 10), [])
})
