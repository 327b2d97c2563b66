// A guarded canary on one machine, on a compressed clock, through the call
// chain of `make demo`: `hello` (a Node Lambda handler) decides the canary
// and calls `world` (a Python Lambda handler behind a local API Gateway
// stand-in) with a decision token; world, where the new code path lives,
// calls `edge` (a Worker on flagcore-wasm in workerd) and writes its errors
// and latency as EMF lines on standard output. Each reads the flags that
// `flagcore canary run` edits, published in a directory (edge through a
// local HTTP server). A small shipper sends world's EMF lines to a
// CloudWatch stand-in (moto's server, started here on 127.0.0.1 and stopped
// by its process id) the way Lambda's log agent turns them into metrics,
// stamped with the compressed clock's minute, and `flagcore canary run`
// decides after every minute. Run twice: the new path healthy, then broken
// (5% errors against 1%, and 40 ms slower). The healthy canary must reach
// 100% with no false rollback; the broken one must be rolled back before 2%
// of the users who came have been on it, and within two bake windows of its
// first step; and every chain must give one answer in all three functions.
//
// It draws each run's rollout, each path's error rate and latency, and the
// controller's decisions into target/demo/canary.svg.
//
//   node examples/canary/demo.mjs [--seed 1] [--seeds N] [--one-function] [--check]
//
// `make demo-canary` runs it; `make test` runs it with --check. With
// --one-function a single Node function (a FlagClient on the compressed
// clock) serves the requests in this process, which is quick enough for
// --seeds N: N healthy and N broken canaries, seeds 1 to N, and how many
// went wrong.

import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { startChain } from './chain.mjs'
import { emfMinuteRequests } from './emf.mjs'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..', '..')
const fromNode = createRequire(path.join(root, 'bindings-node', 'package.json'))
const { FlagClient } = fromNode('./index.js')
const { CloudWatchClient, PutMetricDataCommand } = fromNode('@aws-sdk/client-cloudwatch')
const { freePort } = fromNode('./test/dynalite.js')

const cli = process.env.FLAGCORE_CLI || path.join(root, 'target', 'debug', 'flagcore')
const motoServer = path.join(root, '.venv', 'bin', 'moto_server')
const args = process.argv.slice(2)
const option = (name, fallback) => {
  const at = args.indexOf(name)
  return at >= 0 ? Number(args[at + 1]) : fallback
}
const check = args.includes('--check')
const oneFunction = args.includes('--one-function')
const seeds = option('--seeds', 0)
const firstSeed = option('--seed', 1)

const MINUTE = 60_000
const FLAG = 'new-checkout'
const POPULATION = 20_000 // users who may come
const PER_MINUTE = 600 // requests a minute
const BAKE_MINUTES = 10
const MAX_MINUTES = 180
const PLAN = {
  flag: FLAG,
  steps: [1, 10, 50, 100],
  bakeSeconds: BAKE_MINUTES * 60,
  minSample: 100,
  guards: [
    { metric: 'Errors', kind: 'rate', tolerance: 1 },
    { metric: 'Latency', kind: 'mean', tolerance: 10 }
  ]
}

/** A seeded generator of numbers in [0, 1) (mulberry32). */
function random (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function flagcore (at, cliArgs, env = {}) {
  const result = spawnSync(cli, cliArgs, { env: { ...process.env, FLAGCORE_AT: at, FLAGCORE_AUTHOR: 'demo', ...env }, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`flagcore ${cliArgs.join(' ')}: ${result.stderr}`)
  return result.stdout.trim()
}

/**
 * The single function of --one-function: a FlagClient in this process on
 * the compressed clock, its new path's errors and latency drawn here.
 */
function startOneFunction ({ at, namespace, functionName, broken, rand, clock }) {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
  const lines = []
  const flags = new FlagClient({
    source: { published: { directory: at } },
    ttlSeconds: 15,
    now: clock,
    logger: { warn () {} },
    metrics: { namespace, functionName, write: (line) => lines.push(line) }
  })
  return {
    async serve (requests) {
      const answers = []
      for (const { key } of requests) {
        const onCanary = await flags.boolVariation(FLAG, { kind: 'user', key }, false)
        const bad = onCanary && broken
        const error = rand() < (bad ? 0.05 : 0.01) ? 1 : 0
        const latency = Math.max(1, 100 + 20 * gauss() + (bad ? 40 : 0))
        flags.measure('Errors', error, 'Count')
        flags.measure('Latency', latency, 'Milliseconds')
        flags.flush()
        answers.push({ onCanary, error, latency, split: false })
      }
      return answers
    },
    async lines () { return lines.splice(0) },
    async settle () {},
    async close () {}
  }
}

/** One canary, minute by minute, until the controller ends it. */
async function play ({ seed, broken, cloudwatch, aws, work }) {
  const name = `${broken ? 'broken' : 'healthy'}-${seed}`
  const dir = path.join(work, name)
  const at = path.join(dir, 'flags')
  const planFile = path.join(dir, 'plan.json')
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(planFile, JSON.stringify(PLAN))
  // Each run its own series: moto's GetMetricData adds up statistic sets
  // of the same name and dimensions across namespaces, which CloudWatch
  // keeps apart.
  const namespace = `flagcore-demo-${name}`
  const functionName = `${oneFunction ? 'checkout' : 'world'}-${name}`
  flagcore(at, ['flag', 'create', FLAG, '--comment', 'the new checkout path', '-y'])
  flagcore(at, ['flag', 'on', FLAG, '--comment', 'on, serving the old path', '-y'])

  const rand = random(seed * 2 + (broken ? 1 : 0))
  // Five hours ago, on a whole minute: the stand-in keeps what it is given.
  const t0 = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * 60 * MINUTE
  let clock = t0
  const service = oneFunction
    ? startOneFunction({ at, namespace, functionName, broken, rand, clock: () => clock })
    : await startChain({ dir, at, namespace, functionName, broken, seed: seed * 2 + (broken ? 1 : 0), signingKey: `demo-signing-key-${process.pid}-${name}` })
  const run = (now) => JSON.parse(flagcore(at, ['canary', 'run', planFile, '--now', String(now), '--json', '--namespace', namespace, '--function', functionName], aws))

  const came = new Set()
  const exposed = new Set() // users who were ever on the new path
  const minutes = []
  let decision = run(clock)
  let made = 1 // the controller's decisions: one a run until the canary ends
  let share = 1
  const decisions = [{ minute: 0, action: decision.action, share }]
  let ended = null
  let splits = 0
  let chains = 0
  try {
    for (let minute = 0; minute < MAX_MINUTES && !ended; minute++) {
      const tally = { canary: { n: 0, errors: 0, latency: 0 }, control: { n: 0, errors: 0, latency: 0 } }
      const requests = Array.from({ length: PER_MINUTE }, (_, r) => ({ key: `user-${Math.floor(rand() * POPULATION)}`, n: `${minute}-${r}` }))
      clock = t0 + minute * MINUTE + MINUTE / 2
      const answers = await service.serve(requests)
      requests.forEach(({ key }, r) => {
        const { onCanary, error, latency, split } = answers[r]
        came.add(key)
        if (onCanary) exposed.add(key)
        if (split) splits++
        chains++
        const side = tally[onCanary ? 'canary' : 'control']
        side.n++
        side.errors += error
        side.latency += latency
      })
      // The shipper: the minute's lines, stamped with the compressed clock.
      const lines = (await service.lines(answers.length)).map((line) => {
        const document = JSON.parse(line)
        document._aws.Timestamp = clock
        return JSON.stringify(document)
      })
      for (const request of emfMinuteRequests(lines)) await cloudwatch.send(new PutMetricDataCommand(request))
      minutes.push({ minute, share, tally })
      // The controller runs once the minute is over, on the stand-in's clock.
      clock = t0 + (minute + 1) * MINUTE + 5_000
      decision = run(clock)
      made++
      if (decision.action !== 'hold') decisions.push({ minute: minute + 1, action: decision.action, share: decision.state?.decisions.at(-1)?.share ?? share, reason: decision.reason })
      if (decision.state) share = PLAN.steps[decision.state.step]
      if (decision.action === 'rollback') share = 0
      if (decision.action !== 'hold') await service.settle()
      if (['complete', 'rollback', 'halt', 'stop'].includes(decision.action)) ended = { minute: minute + 1, action: decision.action, reason: decision.reason, step: decision.state.step }
    }
  } finally {
    await service.close()
  }
  const shown = JSON.parse(flagcore(at, ['history', '--json', '--limit', '20']))
  const history = shown.generations.filter((g) => g.author === 'flagcore canary')
  // Every decision is in flagcore history: in the records of the
  // generations it published, or above them (no generation holds it yet).
  const recorded = [...history, ...shown.canaries].reduce((sum, g) => sum + g.decisions.length + g.decisionsLeftOut, 0)
  const kept = [...history, ...shown.canaries].reduce((sum, g) => sum + g.decisions.length, 0)
  return { name, seed, broken, minutes, decisions, ended, came: came.size, exposed: exposed.size, history, splits, chains, made, recorded, kept }
}

/** The runs as one SVG: per run, the rollout and each path's errors and latency a minute, the decisions marked. */
function draw (runs, file) {
  const width = 960
  const panel = 230
  const left = 60
  const plotWidth = width - left - 30
  const parts = []
  runs.forEach((run, i) => {
    const top = 20 + i * (panel + 40)
    const span = Math.max(60, run.minutes.length)
    const x = (minute) => left + (minute / span) * plotWidth
    const rows = [
      { label: 'rollout %', y0: top, h: 60, max: 100, series: [{ color: '#333', points: run.minutes.map((m) => [m.minute, m.share]) }] },
      { label: 'errors %', y0: top + 80, h: 60, max: 10, series: ['control', 'canary'].map((side, s) => ({ color: s ? '#d62728' : '#1f77b4', points: run.minutes.filter((m) => m.tally[side].n > 0).map((m) => [m.minute, 100 * m.tally[side].errors / m.tally[side].n]) })) },
      { label: 'latency ms', y0: top + 160, h: 60, max: 200, series: ['control', 'canary'].map((side, s) => ({ color: s ? '#d62728' : '#1f77b4', points: run.minutes.filter((m) => m.tally[side].n > 0).map((m) => [m.minute, m.tally[side].latency / m.tally[side].n]) })) }
    ]
    parts.push(`<text x="${left}" y="${top - 6}" font-size="13" font-weight="bold">${run.name}: ${run.ended ? `${run.ended.action} at minute ${run.ended.minute}` : 'still running'}; ${run.exposed} of ${run.came} users on the new path${run.broken ? ' (broken)' : ''}</text>`)
    for (const row of rows) {
      const y = (v) => row.y0 + row.h - (Math.min(v, row.max) / row.max) * row.h
      parts.push(`<rect x="${left}" y="${row.y0}" width="${plotWidth}" height="${row.h}" fill="none" stroke="#ccc"/>`)
      parts.push(`<text x="4" y="${row.y0 + row.h / 2}" font-size="11">${row.label}</text>`)
      parts.push(`<text x="${left - 4}" y="${row.y0 + 9}" font-size="9" text-anchor="end">${row.max}</text>`)
      for (const series of row.series) {
        if (series.points.length === 0) continue
        const d = series.points.map(([m, v], n) => `${n ? 'L' : 'M'}${x(m + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
        parts.push(`<path d="${d}" fill="none" stroke="${series.color}" stroke-width="1.5"/>`)
      }
    }
    for (const d of run.decisions) {
      const color = { start: '#2ca02c', advance: '#2ca02c', complete: '#2ca02c', rollback: '#d62728', halt: '#ff7f0e', stop: '#ff7f0e' }[d.action] ?? '#999'
      parts.push(`<line x1="${x(d.minute)}" y1="${top}" x2="${x(d.minute)}" y2="${top + panel - 10}" stroke="${color}" stroke-dasharray="3,3"/>`)
      parts.push(`<text x="${x(d.minute) + 2}" y="${top + panel}" font-size="10" fill="${color}">${d.action}</text>`)
    }
  })
  const height = 20 + runs.length * (panel + 40)
  const legend = `<text x="${width - 260}" y="14" font-size="11"><tspan fill="#1f77b4">old path</tspan> · <tspan fill="#d62728">new path</tspan> · minutes on a compressed clock</text>`
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${legend}${parts.join('')}</svg>\n`)
}

function goals (run) {
  const problems = []
  if (run.kept !== run.made) problems.push(`${run.made} decisions, but ${run.kept} in flagcore history with their figures (${run.recorded - run.kept} counted, not kept)`)
  if (run.splits) problems.push(`${run.splits} of ${run.chains} chains gave two answers, or one that hello's token did not decide`)
  if (!run.broken) {
    if (run.ended?.action !== 'complete') problems.push(`the healthy canary did not reach 100%: ${run.ended ? `${run.ended.action}: ${run.ended.reason}` : `still running after ${MAX_MINUTES} minutes`}`)
  } else {
    if (run.ended?.action !== 'rollback') problems.push(`the broken canary was not rolled back: ${run.ended ? run.ended.action : 'still running'}`)
    else {
      if (run.ended.step > 1) problems.push(`rolled back at step ${run.ended.step + 1}, not the first or second`)
      const first = run.decisions.find((d) => d.action === 'start').minute
      if (run.ended.minute - first > 2 * BAKE_MINUTES) problems.push(`rolled back ${run.ended.minute - first} minutes after the first step, more than two bake windows (${2 * BAKE_MINUTES})`)
    }
    if (run.exposed > 0.02 * run.came) problems.push(`${run.exposed} of ${run.came} users (${(100 * run.exposed / run.came).toFixed(2)}%) were on the broken path, more than 2%`)
  }
  return problems
}

async function main () {
  if (!fs.existsSync(cli)) throw new Error(`no CLI at ${cli}: cargo build -p flagcore-cli`)
  if (!fs.existsSync(motoServer)) throw new Error(`no ${motoServer}: make setup-python installs moto`)
  const port = await freePort()
  const server = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] })
  let serverErrors = ''
  server.stderr.on('data', (chunk) => { serverErrors = (serverErrors + chunk).slice(-2000) })
  const stop = () => { try { process.kill(server.pid) } catch {} }
  process.on('exit', stop)
  const endpoint = `http://127.0.0.1:${port}`
  for (let tries = 0; ; tries++) {
    try {
      await fetch(endpoint)
      break
    } catch (error) {
      if (tries > 150) throw new Error(`moto did not start on ${endpoint}: ${serverErrors}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const aws = { AWS_ENDPOINT_URL_CLOUDWATCH: endpoint, AWS_ACCESS_KEY_ID: 'demo', AWS_SECRET_ACCESS_KEY: 'demo', AWS_REGION: 'us-east-1' }
  const cloudwatch = new CloudWatchClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } })
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-demo-canary-'))
  const list = seeds > 0 ? Array.from({ length: seeds }, (_, n) => n + 1) : [firstSeed]
  const runs = []
  const problems = []
  try {
    for (const seed of list) {
      for (const broken of [false, true]) {
        const run = await play({ seed, broken, cloudwatch, aws, work })
        runs.push(run)
        const found = goals(run)
        problems.push(...found.map((p) => `${run.name}: ${p}`))
        const end = run.ended ? `${run.ended.action} at minute ${run.ended.minute}` : `still running at minute ${MAX_MINUTES}`
        const chains = oneFunction ? '' : `, ${run.chains} chains, ${run.splits} split`
        console.log(`${run.name.padEnd(12)} ${end.padEnd(24)} ${String(run.exposed).padStart(4)} of ${run.came} users on the new path (${(100 * run.exposed / run.came).toFixed(2)}%)${chains}${found.length ? '  ✗ ' + found.join('; ') : '  ✓'}`)
        if (list.length === 1) {
          console.log(`    ${run.kept} of the controller's ${run.made} decisions are in flagcore history with their figures; the steps it published:`)
          for (const g of run.history.slice().reverse()) console.log(`    ${g.comment.length > 160 ? g.comment.slice(0, 159) + '…' : g.comment}`)
        }
      }
    }
  } finally {
    stop()
    fs.rmSync(work, { recursive: true, force: true })
  }
  const svg = path.join(root, 'target', 'demo', 'canary.svg')
  draw(runs.slice(0, 2), svg)
  console.log(`picture: ${svg}`)
  const healthy = runs.filter((r) => !r.broken)
  const broken = runs.filter((r) => r.broken)
  const worst = Math.max(...broken.map((r) => r.exposed / r.came))
  console.log(`${healthy.filter((r) => r.ended?.action === 'complete').length} of ${healthy.length} healthy canaries reached 100% (false rollbacks: ${healthy.filter((r) => r.ended?.action === 'rollback').length}); ${broken.filter((r) => r.ended?.action === 'rollback').length} of ${broken.length} broken ones were rolled back, the most users on the broken path ${(100 * worst).toFixed(2)}%`)
  console.log(`${runs.length - new Set(problems.map((p) => p.split(':')[0])).size} passed, ${new Set(problems.map((p) => p.split(':')[0])).size} failed`)
  if (check && problems.length) {
    console.error(problems.join('\n'))
    process.exitCode = 1
  }
}

main().catch((error) => {
  console.error(error.stack || String(error))
  process.exitCode = 1
})
