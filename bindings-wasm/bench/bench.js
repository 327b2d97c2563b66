'use strict'
// flagcore-wasm beside the native Node package, in one process, on the core
// benchmark's snapshot: per-evaluation time for both flags. `make bench-wasm`
// builds both and runs this.

const fs = require('node:fs')
const path = require('node:path')
const wasm = require('..')
const native = require('../../bindings-node')

const text = fs.readFileSync(process.argv[2], 'utf8')
const context = { kind: 'user', key: 'user-000042', email: 'dana@customer.example', country: 'US' }
const FLAGS = [['new-checkout', false, '(a) bool flag, 10%/90% rollout'], ['checkout-theme', 'classic', '(b) string flag: 3 rules (1,000-key segment) + rollout']]

// Alternating rounds, medians: machine noise hits both alike.
function timeRounds (fns, rounds = 15, perRound = 20000) {
  const samples = fns.map(() => [])
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const start = process.hrtime.bigint()
      for (let n = 0; n < perRound; n++) fn()
      samples[i].push(Number(process.hrtime.bigint() - start) / perRound)
    })
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)])
}

const show = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`)

const ours = wasm.Snapshot.fromJson(text)
const theirs = native.Snapshot.fromJson(text)
const wasmContext = new wasm.Context(context)
const nativeContext = new native.Context(context)
const bytes = fs.statSync(path.join(__dirname, '..', 'dist', 'web', 'flagcore_bg.wasm')).size
const gzipped = require('node:zlib').gzipSync(fs.readFileSync(path.join(__dirname, '..', 'dist', 'web', 'flagcore_bg.wasm')), { level: 9 }).length
console.log(`Node ${process.version}; flagcore_bg.wasm ${(bytes / 1024).toFixed(0)} KB, ${(gzipped / 1024).toFixed(0)} KB gzipped`)
console.log('| benchmark | flagcore-wasm | flagcore (native) | WASM ÷ native |')
console.log('|---|---|---|---|')
for (const [key, fallback, label] of FLAGS) {
  if (JSON.stringify(ours.variationDetail(key, context, fallback)) !== JSON.stringify(theirs.variationDetail(key, context, fallback))) {
    throw new Error(`${key}: the two packages disagree`)
  }
  const [wp, np, wo, no] = timeRounds([
    () => ours.variation(key, wasmContext, fallback),
    () => theirs.variation(key, nativeContext, fallback),
    () => ours.variation(key, context, fallback),
    () => theirs.variation(key, context, fallback)
  ])
  console.log(`| ${label}: prepared Context | ${show(wp)} | ${show(np)} | ${(wp / np).toFixed(2)}× |`)
  console.log(`| ${label}: plain object | ${show(wo)} | ${show(no)} | ${(wo / no).toFixed(2)}× |`)
}
