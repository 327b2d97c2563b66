'use strict'
// flagcore beside LaunchDarkly's Node SDK, in one run, on the core benchmark's
// snapshot: per-evaluation time for both flags, and cold start in a fresh
// process. `make bench-node` installs the x86_64 npm tarballs of `make dist`
// into an empty folder and runs this on that install (FLAGCORE_PACKAGE).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const installed = process.env.FLAGCORE_PACKAGE
if (!installed) throw new Error('FLAGCORE_PACKAGE must name the installed flagcore package (make bench-node sets it)')
const { Snapshot, Context, FlagClient, engine } = require(installed)
const app = path.dirname(path.dirname(installed))
const ld = require('@launchdarkly/node-server-sdk')

const snapshotFile = process.argv[2] && path.resolve(process.argv[2])
if (!snapshotFile) throw new Error('usage: node bench/bench.js SNAPSHOT.json')
const text = fs.readFileSync(snapshotFile, 'utf8')
const context = { kind: 'user', key: 'user-000042', email: 'dana@customer.example', country: 'US' }
const FLAGS = [['new-checkout', false, '(a) bool flag, 10%/90% rollout'], ['checkout-theme', 'classic', '(b) string flag: 3 rules (1,000-key segment) + rollout']]

// The way a handler pays: distinct users (a repeated object would hit the
// engine's context cache and hide the cost of converting it), a new
// user object per request, and five flags per request.
const USERS = 20000
const COUNTRIES = ['US', 'DE', 'FR', 'JP', 'BR']
function user (i) {
  const n = i % USERS
  return { kind: 'user', key: `user-${n}`, email: `u${n}@customer.example`, country: COUNTRIES[n % COUNTRIES.length] }
}
const distinct = Array.from({ length: USERS }, (_, i) => user(i))
const REQUEST_FLAGS = [['new-checkout', false], ['checkout-theme', 'classic'], ['max-cart-items', 50], ['payment-provider', 'legacy'], ['maintenance-banner', null]]

function quietLogger () {
  const nothing = () => {}
  return { error: nothing, warn: nothing, info: nothing, debug: nothing }
}

async function launchDarkly () {
  const factory = new ld.integrations.FileDataSourceFactory({ paths: [snapshotFile] })
  const client = ld.init('sdk-key-not-used', {
    updateProcessor: factory.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: quietLogger()
  })
  await client.waitForInitialization({ timeout: 30 })
  return client
}

// Runs `fn` in rounds and answers the median ns per call; rounds of the two
// contenders alternate, so machine noise hits both alike.
async function timeRounds (contenders, { rounds = 15, perRound = 20000 } = {}) {
  const samples = contenders.map(() => [])
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < contenders.length; c++) {
      const { fn, async, before } = contenders[c]
      const n = async ? Math.max(1, perRound / 10) : perRound
      if (before) before(n)
      const start = process.hrtime.bigint()
      if (async) {
        for (let i = 0; i < n; i++) await fn()
      } else {
        for (let i = 0; i < n; i++) fn()
      }
      samples[c].push(Number(process.hrtime.bigint() - start) / n)
    }
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)])
}

/** Median time of each script in fresh processes, run in turn so that both see the same machine. */
function coldStarts (scripts, runs = 9) {
  const times = scripts.map(() => [])
  for (let i = 0; i < runs; i++) {
    scripts.forEach(({ script, cwd, env }, n) => {
      const out = execFileSync(process.execPath, ['-e', script, snapshotFile], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' })
      times[n].push(Number(out.trim()))
    })
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(runs / 2)])
}

function show (ns) {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(1)} ms`
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`
  return `${ns.toFixed(0)} ns`
}

async function main () {
  const snapshot = Snapshot.fromJson(text)
  const client = await launchDarkly()
  const flags = new FlagClient({ source: { file: snapshotFile } })
  const rows = []
  // Every request's answers agree with LaunchDarkly's first.
  for (let i = 0; i < 500; i++) {
    for (const [key, fallback] of REQUEST_FLAGS) {
      const ours = await flags.variationDetail(key, user(i), fallback)
      const theirs = await client.variationDetail(key, user(i), fallback)
      if (ours.variationIndex !== theirs.variationIndex || ours.reason.kind !== theirs.reason.kind) {
        throw new Error(`${key} for ${JSON.stringify(user(i))}: flagcore ${JSON.stringify(ours)} but LaunchDarkly ${JSON.stringify(theirs)}`)
      }
    }
  }
  let next = 0
  const [perRequestClient, perRequestContext, perRequestLd] = await timeRounds([
    {
      fn: async () => {
        const u = user(next++)
        for (const [key, fallback] of REQUEST_FLAGS) await flags.variation(key, u, fallback)
      },
      async: true
    },
    {
      fn: () => {
        const c = new Context(user(next++))
        for (const [key, fallback] of REQUEST_FLAGS) snapshot.variation(key, c, fallback)
      }
    },
    {
      fn: async () => {
        const u = user(next++)
        for (const [key, fallback] of REQUEST_FLAGS) await client.variation(key, u, fallback)
      },
      async: true
    }
  ], { perRound: 20000 })
  const requestRows = [
    ['FlagClient, a plain user object: 5 × `await client.variation`', perRequestClient, perRequestLd],
    ['`new Context(user)`, then 5 × `snapshot.variation`', perRequestContext, perRequestLd]
  ]
  for (const [key, fallback, label] of FLAGS) {
    const ours = snapshot.variationDetail(key, context, fallback)
    const theirs = await client.variationDetail(key, context, fallback)
    if (ours.variationIndex !== theirs.variationIndex || ours.reason.kind !== theirs.reason.kind) {
      throw new Error(`${key}: flagcore ${JSON.stringify(ours)} but LaunchDarkly ${JSON.stringify(theirs)}`)
    }
    // A snapshot of its own, which has been asked for this flag alone, and
    // Contexts made afresh before each round: every timed call is a
    // context's first evaluation (a context keeps the answers of its first).
    const alone = Snapshot.fromJson(text)
    let contexts = []
    const fresh = (n) => { contexts = Array.from({ length: n }, (_, i) => new Context(distinct[(next + i) % USERS])) }
    let at = 0
    const [prep, plain, detail, ldValue, ldDetail] = await timeRounds([
      { fn: () => alone.variation(key, contexts[at++ % contexts.length], fallback), before: fresh },
      { fn: () => alone.variation(key, distinct[next++ % USERS], fallback) },
      { fn: () => alone.variationDetail(key, contexts[at++ % contexts.length], fallback), before: fresh },
      { fn: () => client.variation(key, distinct[next++ % USERS], fallback), async: true },
      { fn: () => client.variationDetail(key, distinct[next++ % USERS], fallback), async: true }
    ])
    rows.push([`${label}: variation, a Context's first evaluation (20,000 distinct)`, prep, ldValue])
    rows.push([`${label}: variation, plain object (20,000 distinct)`, plain, ldValue])
    rows.push([`${label}: variationDetail, a Context's first evaluation (20,000 distinct)`, detail, ldDetail])
  }
  client.close()

  const ours = `
    const t = process.hrtime.bigint()
    const { Snapshot } = require('flagcore')
    const s = Snapshot.fromJson(require('fs').readFileSync(process.argv[1]))
    s.variation('new-checkout', { kind: 'user', key: 'u' }, false)
    console.log(Number(process.hrtime.bigint() - t))`
  const theirs = `
    const t = process.hrtime.bigint()
    const ld = require('@launchdarkly/node-server-sdk')
    const f = new ld.integrations.FileDataSourceFactory({ paths: [process.argv[1]] })
    const nothing = () => {}
    const c = ld.init('k', { updateProcessor: f.getFactory(), sendEvents: false, diagnosticOptOut: true,
      logger: { error: nothing, warn: nothing, info: nothing, debug: nothing } })
    c.waitForInitialization({ timeout: 30 }).then(() => c.variation('new-checkout', { kind: 'user', key: 'u' }, false))
      .then(() => { console.log(Number(process.hrtime.bigint() - t)); c.close() })`
  const [ourCold, wasmCold, theirCold] = coldStarts([
    { script: ours, cwd: app, env: { FLAGCORE_ENGINE: 'native' } },
    { script: ours, cwd: app, env: { FLAGCORE_ENGINE: 'wasm' } },
    { script: theirs, cwd: path.join(__dirname, '..') }
  ])
  rows.push(['cold start: require + parse + first evaluation (fresh process)', ourCold, theirCold])
  rows.push(['cold start on the WASM engine (no native build fits; FLAGCORE_ENGINE=wasm)', wasmCold, theirCold])

  console.log(`flagcore ${require(path.join(installed, 'package.json')).version} installed in ${app}, engine ${engine}`)
  console.log(`Node ${process.version}, ${os.cpus().length} cores; snapshot ${(text.length / 1e6).toFixed(2)} MB, ${snapshot.flagKeys.length} flags`)
  console.log('| benchmark | flagcore | LaunchDarkly Node SDK | LaunchDarkly ÷ flagcore |')
  console.log('|---|---|---|---|')
  for (const [label, ours, theirs] of rows) {
    console.log(`| ${label} | ${show(ours)} | ${show(theirs)} | ${(theirs / ours).toFixed(1)}× |`)
  }
  console.log(`\nPer request: ${USERS.toLocaleString('en')} distinct users, a new user object per request, ${REQUEST_FLAGS.length} flags each; LaunchDarkly: 5 × \`await client.variation\`.`)
  console.log('| path, per request | flagcore | LaunchDarkly Node SDK | LaunchDarkly ÷ flagcore |')
  console.log('|---|---|---|---|')
  for (const [label, ours, theirs] of requestRows) {
    console.log(`| ${label} | ${show(ours)} | ${show(theirs)} | ${(theirs / ours).toFixed(1)}× |`)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
