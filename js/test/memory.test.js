'use strict'
// Memory stays flat across refreshes: a client that replaces the benchmark
// snapshot (1 MB, 506 flags) 500 times, from a source that answers without
// I/O, must not keep the snapshots it replaced. Each run gets a fresh
// process, so that nothing else this test runner did counts.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const snapshotPath = process.env.FLAGCORE_BENCH_SNAPSHOT || path.join(__dirname, '..', '..', 'target', 'bench-snapshot.json')
const REFRESHES = 500
// On a build that kept them, 500 replaced snapshots held over 2 GB.
const BOUND_MB = { native: 120, wasm: 160 }

const child = `
const impl = process.env.FLAGCORE_IMPL === 'wasm' ? require(${JSON.stringify(path.join(__dirname, '..', '..', 'bindings-wasm'))}) : require(${JSON.stringify(path.join(__dirname, '..', '..', 'bindings-node'))})
const text = require('node:fs').readFileSync(process.argv[1], 'utf8')
const variants = [0, 1].map((v) => {
  const data = JSON.parse(text)
  data.flags['memory-probe'] = { key: 'memory-probe', version: v, on: true, variations: [v], fallthrough: { variation: 0 } }
  return JSON.stringify(data)
})
const mb = () => process.memoryUsage().rss / 1048576
;(async () => {
  let n = 0
  const source = { describe: () => 'memory', load: async () => impl.Snapshot.fromJson(variants[n++ % 2]) }
  const client = new impl.FlagClient({ source, ttlSeconds: 0, logger: { warn () {} } })
  let start = 0
  const ids = new Set()
  for (let i = 1; i <= ${REFRESHES}; i++) {
    const snapshot = await client.snapshot()
    ids.add(snapshot.id)
    if (snapshot.variation('memory-probe', { key: 'u' }, -1) !== (n - 1) % 2) throw new Error('answered from a stale snapshot')
    if (i === 50) start = mb()
  }
  console.log(JSON.stringify({ start, end: mb(), ids: ids.size, loads: n }))
})()
`

test(`${REFRESHES} refreshes of the benchmark snapshot keep memory flat`, { skip: !fs.existsSync(snapshotPath) && !process.env.CI && 'no benchmark snapshot (make test writes it)' }, () => {
  const impl = process.env.FLAGCORE_IMPL === 'wasm' ? 'wasm' : 'native'
  const out = execFileSync(process.execPath, ['-e', child, snapshotPath], { env: process.env, encoding: 'utf8' })
  const { start, end, ids, loads } = JSON.parse(out.trim().split('\n').pop())
  console.log(`memory (${impl}): ${loads} refreshes, RSS ${start.toFixed(0)} MB after 50, ${end.toFixed(0)} MB after ${REFRESHES}`)
  assert.equal(loads, REFRESHES)
  assert.equal(ids, 2)
  assert.ok(end - start < BOUND_MB[impl], `RSS grew ${(end - start).toFixed(0)} MB over ${REFRESHES - 50} refreshes (bound ${BOUND_MB[impl]} MB)`)
})

test('two copies of the API in one process never share a prepared context', () => {
  // A test runner that resets modules loads the API twice over one native module.
  const first = require('./impl.js')
  const packages = [path.join(__dirname, '..', '..', 'bindings-node'), path.join(__dirname, '..', '..', 'bindings-wasm')]
  for (const key of Object.keys(require.cache)) {
    if (packages.some((dir) => key.startsWith(dir)) && !key.endsWith('.node')) delete require.cache[key]
  }
  const second = process.env.FLAGCORE_IMPL === 'wasm' ? require('../../bindings-wasm') : require('../../bindings-node')
  assert.notEqual(first.Context, second.Context)
  const data = JSON.stringify({
    flags: { who: { key: 'who', on: true, variations: ['alice', 'bob'], targets: [{ values: ['bob'], variation: 1 }], fallthrough: { variation: 0 } } }
  })
  const [one, two] = [first.Snapshot.fromJson(data), second.Snapshot.fromJson(data)]
  const alice = new first.Context({ key: 'alice' })
  const bob = new second.Context({ key: 'bob' })
  if (process.env.FLAGCORE_IMPL !== 'wasm') assert.notEqual(alice.id, bob.id, 'one native cache, one numbering')
  assert.equal(one.variation('who', alice, null), 'alice')
  assert.equal(two.variation('who', bob, null), 'bob')
  assert.equal(one.variation('who', alice, null), 'alice')
})
