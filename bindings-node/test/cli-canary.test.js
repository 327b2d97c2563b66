'use strict'
// `flagcore canary run` and `status`, the guarded canary's controller from
// the command line, on a directory, with the controller's clock given
// (--now) and its metrics from a window file: a healthy canary climbing to
// 100%, a broken one rolled back, a person's kill switch and rollback that
// stop it for good, metrics that cannot be read, refused plans, and two
// controllers racing. Then from CloudWatch: moto's server (started here on
// 127.0.0.1 and stopped by its process id) receiving the EMF lines of this
// package's FlagClient the way Lambda's log agent turns them into metrics.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const http = require('node:http')
const { spawn, spawnSync } = require('node:child_process')

if (process.env.FLAGCORE_IMPL === 'wasm' || process.env.FLAGCORE_PACKAGE) {
  test('flagcore canary', { skip: 'run once, with the flagcore package of this checkout' }, () => {})
  return // a CommonJS module may end early
}

const { FlagClient } = require('..')
const { freePort, stop } = require('./dynalite.js')

const root = path.join(__dirname, '..', '..')
const cli = process.env.FLAGCORE_CLI || path.join(root, 'target', 'debug', 'flagcore')
const quiet = { warn () {} }
const MINUTE = 60_000

function scratch (t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-cli-canary-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

function cleanEnv () {
  const env = { ...process.env }
  for (const name of ['FLAGCORE_AT', 'FLAGCORE_COMMENT', 'FLAGCORE_AUTHOR', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_CLOUDWATCH']) delete env[name]
  return env
}

function flagcore (at, args, env = {}) {
  const result = spawnSync(cli, args, { env: { ...cleanEnv(), FLAGCORE_AT: at, FLAGCORE_AUTHOR: 'alice', ...env }, encoding: 'utf8' })
  return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr }
}

function ok (at, ...args) {
  const result = flagcore(at, args)
  assert.equal(result.status, 0, `flagcore ${args.join(' ')}: ${result.stderr}`)
  return result
}

/** A place with flag new-checkout, on, serving false to everyone. */
function place (t) {
  const dir = scratch(t)
  const at = path.join(dir, 'flags')
  ok(at, 'flag', 'create', 'new-checkout', '--comment', 'the new checkout path', '-y')
  ok(at, 'flag', 'on', 'new-checkout', '--comment', 'on, serving false', '-y')
  return { dir, at }
}

function writePlan (dir, plan) {
  const file = path.join(dir, 'plan.json')
  fs.writeFileSync(file, JSON.stringify({ flag: 'new-checkout', steps: [1, 10, 50, 100], bakeSeconds: 600, minSample: 50, guards: [{ metric: 'Errors', kind: 'rate', tolerance: 1 }], ...plan }))
  return file
}

/** A window file of `users` split at `share`%, erring at `rate` on control and `canaryRate` on the canary. */
function writeWindow (dir, share, { users = 10_000, rate = 0.01, canaryRate = rate } = {}) {
  const canary = Math.round(users * share / 100)
  const control = users - canary
  const window = {
    users: { canary, control },
    metrics: { Errors: { canary: { count: canary, sum: Math.round(canary * canaryRate) }, control: { count: control, sum: Math.round(control * rate) } } }
  }
  const file = path.join(dir, `window-${share}-${users}-${canaryRate}.json`)
  fs.writeFileSync(file, JSON.stringify(window))
  return file
}

function canary (at, plan, now, metrics, ...more) {
  const result = flagcore(at, ['canary', 'run', plan, '--now', String(now), '--metrics', metrics, '--json', ...more])
  assert.equal(result.status, 0, `flagcore canary run: ${result.stderr}`)
  return { ...JSON.parse(result.stdout), stderr: result.stderr }
}

/** The canary's share of 4,000 contexts, as a reader of the place answers. */
async function share (at) {
  const reader = new FlagClient({ source: { published: { directory: at } }, ttlSeconds: 0, logger: quiet })
  let on = 0
  for (let i = 0; i < 4000; i++) on += (await reader.boolVariation('new-checkout', { kind: 'user', key: `u${i}` }, false)) ? 1 : 0
  return on / 4000
}

const history = (at) => JSON.parse(ok(at, 'history', '--json').stdout).generations
const byController = (at) => history(at).filter((g) => g.author === 'flagcore canary')

test('a healthy canary starts at 1%, bakes, climbs each step and completes; every step is in flagcore history with its figures', async (t) => {
  assert.ok(fs.existsSync(cli), `no CLI at ${cli}: cargo build -p flagcore-cli`)
  const { dir, at } = place(t)
  const plan = writePlan(dir)
  const t0 = 1_800_000_000_000
  const empty = writeWindow(dir, 1, { users: 0 })

  let run = canary(at, plan, t0, empty)
  assert.equal(run.action, 'start')
  assert.ok(run.generation, 'the start publishes a generation')
  assert.ok(Math.abs(await share(at) - 0.01) < 0.01)
  run = canary(at, plan, t0 + 5 * MINUTE, writeWindow(dir, 1))
  assert.equal(run.action, 'hold')
  assert.match(run.reason, /baking at 1%: 300 s of 600 s/)
  run = canary(at, plan, t0 + 11 * MINUTE, empty)
  assert.equal(run.action, 'hold', 'no data never advances')
  assert.match(run.reason, /not enough data/)
  const steps = [[1, 10], [10, 50], [50, 100]]
  let now = t0 + 11 * MINUTE
  for (const [from, to] of steps) {
    run = canary(at, plan, now, writeWindow(dir, from))
    assert.equal(run.action, 'advance', run.reason)
    assert.equal(run.state.step, steps.findIndex(([f]) => f === from) + 1)
    assert.ok(Math.abs(await share(at) - to / 100) < 0.02, `${to}%`)
    now += 11 * MINUTE
  }
  run = canary(at, plan, now, writeWindow(dir, 100))
  assert.equal(run.action, 'complete')
  assert.equal(run.state.status, 'complete')
  assert.equal(canary(at, plan, now + MINUTE, writeWindow(dir, 100)).action, 'ended')

  const records = byController(at)
  assert.equal(records.length, 4, 'the start and three advances, newest first')
  assert.match(records[0].comment, /step 3 of 4 \(50%\) → 100%: 50% baked with no harm \(Errors: 1\.00% on the canary, 1\.00% on control .*log Λ = /)
  assert.match(records[3].comment, /the canary starts: 0% → 1%/)
  assert.deepEqual(records.map((r) => r.changes[0]), ['new-checkout: rollout true 100%, false 0%', 'new-checkout: rollout true 50%, false 50%', 'new-checkout: rollout true 10%, false 90%', 'new-checkout: rollout true 1%, false 99%'])
  // Every decision, holds too, with its figures: a record holds those since the last; the complete is above them.
  assert.deepEqual(records.map((r) => r.decisions.map((d) => d.action)), [['advance'], ['advance'], ['hold', 'hold', 'advance'], ['start']])
  assert.deepEqual(records[2].decisions.map((d) => [d.reason.split(':')[0], d.figures.guards[0].metric]), [['baking at 1%', 'Errors'], ['not enough data at 1%', 'Errors'], ['1% baked with no harm (Errors', 'Errors']])
  const all = JSON.parse(ok(at, 'history', '--json').stdout)
  assert.deepEqual(all.canaries.map((c) => [c.flag, c.status, c.decisions.map((d) => [d.action, d.figures.guards[0].harm])]), [['new-checkout', 'complete', [['complete', false]]]])
  const text = ok(at, 'history', '--flag', 'new-checkout').stdout
  assert.match(text, /^canary new-checkout: complete at step 4; its decisions since its last generation:\n {4}\S+ \S+ +complete +100% baked with no harm: the canary is complete · Errors – vs – \(log Λ –\)\n[\s\S]*decided on:\n {6}\S+ \S+ +hold +baking at 1%: 300 s of 600 s · Errors 0\.0100 vs 0\.0100/)
  const status = ok(at, 'canary', 'status', plan).stdout
  assert.match(status, /^new-checkout: complete at step 4 of 4 \(100%\)[\s\S]*complete +100% baked with no harm/)
  // A restart's record holds how the canary it replaces ended.
  ok(at, 'flag', 'rollout', 'new-checkout', '0%', '--comment', 'again', '-y')
  assert.equal(canary(at, plan, now + 2 * MINUTE, empty, '--restart').action, 'start')
  assert.deepEqual([byController(at)[0].decisions.map((d) => d.action), JSON.parse(ok(at, 'history', '--json').stdout).canaries], [['complete', 'start'], []])
})

test('a broken canary is rolled back at its first step, during the bake, says so as an alert, and stays at 0%', async (t) => {
  const { dir, at } = place(t)
  const plan = writePlan(dir)
  const t0 = 1_800_000_000_000
  canary(at, plan, t0, writeWindow(dir, 1, { users: 0 }))
  const broken = writeWindow(dir, 1, { users: 40_000, canaryRate: 0.2 })
  const run = canary(at, plan, t0 + 2 * MINUTE, broken)
  assert.equal(run.action, 'rollback')
  assert.match(run.reason, /^harm on Errors: 20\.00% on the canary, 1\.00% on control/)
  assert.match(run.stderr, /ALERT: new-checkout: rollback/)
  // And as a metric, for an alarm: an EMF line of CanaryRollback by FlagKey.
  const emf = JSON.parse(run.stderr.split('\n').find((line) => line.startsWith('{')))
  assert.equal(emf.CanaryRollback, 1)
  assert.equal(emf.FlagKey, 'new-checkout')
  assert.deepEqual(emf._aws.CloudWatchMetrics[0], { Namespace: 'flagcore', Dimensions: [['FlagKey']], Metrics: [{ Name: 'CanaryRollback', Unit: 'Count' }] })
  assert.equal(run.figures.guards[0].harm, true)
  assert.equal(await share(at), 0)
  const [record] = byController(at)
  assert.match(record.comment, /^canary new-checkout: rolled back to 0% at step 1 of 4 \(1%\): harm on Errors/)
  // It never starts again by itself, whatever the metrics say.
  assert.equal(canary(at, plan, t0 + 60 * MINUTE, writeWindow(dir, 1)).action, 'ended')
  assert.equal(await share(at), 0)
  // A person starts it over.
  const again = canary(at, plan, t0 + 61 * MINUTE, writeWindow(dir, 1), '--restart')
  assert.equal(again.action, 'start')
})

test('a person\'s kill switch stops the canary for good: it never turns the flag back on', async (t) => {
  const { dir, at } = place(t)
  const plan = writePlan(dir)
  const t0 = 1_800_000_000_000
  canary(at, plan, t0, writeWindow(dir, 1, { users: 0 }))
  ok(at, 'flag', 'off', 'new-checkout', '--comment', 'checkout is failing: off now')
  const run = canary(at, plan, t0 + 11 * MINUTE, writeWindow(dir, 1))
  assert.equal(run.action, 'stop')
  assert.match(run.reason, /someone turned flag "new-checkout" off: the controller stops, and never turns it back on/)
  ok(at, 'flag', 'on', 'new-checkout', '--comment', 'fixed: back on')
  assert.equal(canary(at, plan, t0 + 22 * MINUTE, writeWindow(dir, 1)).action, 'ended')
  assert.equal(byController(at).length, 1, 'only the start is the controller\'s')
  assert.equal(history(at)[0].author, 'alice')
})

test('a person\'s rollback, or a share that is no step of the plan, stops the canary; a raise to a later step is taken up there', async (t) => {
  const { dir, at } = place(t)
  const plan = writePlan(dir)
  const t0 = 1_800_000_000_000
  canary(at, plan, t0, writeWindow(dir, 1, { users: 0 }))
  ok(at, 'flag', 'rollout', 'new-checkout', '50%', '--comment', 'confident: straight to 50%', '-y')
  let run = canary(at, plan, t0 + MINUTE, writeWindow(dir, 1))
  assert.equal(run.action, 'hold')
  assert.equal(run.state.step, 2)
  assert.match(run.reason, /someone raised it; the controller resumes there, baking from now/)
  ok(at, 'flag', 'rollout', 'new-checkout', '0%', '--comment', 'not so confident', '-y')
  run = canary(at, plan, t0 + 2 * MINUTE, writeWindow(dir, 50))
  assert.equal(run.action, 'stop')
  assert.match(run.reason, /someone lowered it \(a rollback\); the controller stops/)
  assert.equal(await share(at), 0)

  const other = place(t)
  const otherPlan = writePlan(other.dir)
  canary(other.at, otherPlan, t0, writeWindow(other.dir, 1, { users: 0 }))
  ok(other.at, 'flag', 'rollout', 'new-checkout', '25%', '--comment', 'a quarter', '-y')
  run = canary(other.at, otherPlan, t0 + MINUTE, writeWindow(other.dir, 1))
  assert.equal(run.action, 'stop')
  assert.match(run.reason, /is 25% where the controller left 1%: someone set a share that is no step of the plan/)
})

test('metrics that cannot be read hold, and say why; the bake over does not advance on them', async (t) => {
  const { dir, at } = place(t)
  const plan = writePlan(dir)
  const t0 = 1_800_000_000_000
  canary(at, plan, t0, writeWindow(dir, 1, { users: 0 }))
  const port = await freePort() // nothing listens there
  const result = flagcore(at, ['canary', 'run', plan, '--now', String(t0 + 20 * MINUTE), '--json', '--function', 'hello'], {
    AWS_ENDPOINT_URL_CLOUDWATCH: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1'
  })
  assert.equal(result.status, 0, result.stderr)
  const run = JSON.parse(result.stdout)
  assert.equal(run.action, 'hold')
  assert.match(run.reason, /^holding at 1%: the metrics could not be read: cloudwatch flagcore \(hello\): GetMetricData: /)
  const missing = path.join(dir, 'no-such-window.json')
  assert.match(canary(at, plan, t0 + 21 * MINUTE, missing).reason, /could not be read: .*no-such-window\.json: no such window/)
  assert.ok(Math.abs(await share(at) - 0.01) < 0.01, 'still at 1%')
})

test('plans that do not fit are refused with their path, and nothing is written', async (t) => {
  const { dir, at } = place(t)
  const before = history(at).length
  const refuse = (plan, message) => {
    const result = flagcore(at, ['canary', 'run', writePlan(dir, plan), '--now', '1800000000000', '--metrics', writeWindow(dir, 1)])
    assert.equal(result.status, 1, result.stdout)
    assert.match(result.stderr, message)
  }
  refuse({ flag: 'no-such-flag' }, /PLAN_INVALID at \$\.flag: there is no flag "no-such-flag": create it first/)
  refuse({ canary: 'blue' }, /PLAN_INVALID at \$\.canary: flag "new-checkout" has no variation blue/)
  refuse({ steps: [10, 5] }, /PLAN_INVALID at \$\.steps: the steps rise/)
  refuse({ guards: [{ metric: 'Errors', kind: 'rate', tolerance: 1, typo: 1 }] }, /\$\.guards\[0\]/)
  const padded = JSON.stringify({ flag: 'new-checkout', guards: [{ metric: 'Errors', kind: 'rate', tolerance: 1 }] })
  fs.writeFileSync(path.join(dir, 'plan.json'), padded + ' '.repeat(65_536 - padded.length + 1))
  assert.match(flagcore(at, ['canary', 'run', path.join(dir, 'plan.json'), '--once']).stderr, /plan\.json: a plan is at most 65536 bytes/)
  fs.writeFileSync(path.join(dir, 'plan.json'), '{"flag": ')
  const broken = flagcore(at, ['canary', 'run', path.join(dir, 'plan.json'), '--once'])
  assert.match(broken.stderr, /plan\.json: the plan is not JSON/)
  const file = path.join(dir, 'flags.json')
  fs.writeFileSync(file, JSON.stringify({ flags: {}, segments: {} }))
  const plain = flagcore(file, ['canary', 'run', writePlan(dir), '--once'])
  assert.match(plain.stderr, /a plain file keeps no history or state: run the canary at a directory or dynamodb:TABLE/)
  assert.equal(history(at).length, before)
  assert.equal(fs.existsSync(path.join(at, 'canary')), false, 'no state was kept')
  // At the bound, the plan reads (and the canary starts).
  fs.writeFileSync(path.join(dir, 'plan.json'), padded + ' '.repeat(65_536 - padded.length))
  assert.equal(canary(at, path.join(dir, 'plan.json'), 1_800_000_000_000, writeWindow(dir, 1)).action, 'start')
  // A state that does not read stops every run, and --restart starts over.
  fs.writeFileSync(path.join(at, 'canary', 'new-checkout.json'), '{"flag": "new-checkout"}')
  assert.match(flagcore(at, ['canary', 'run', path.join(dir, 'plan.json'), '--once']).stderr, /canary\/new-checkout\.json: STATE_INVALID at \$\.status: .*--restart/)
  assert.equal(canary(at, path.join(dir, 'plan.json'), 1_800_000_000_000, writeWindow(dir, 1), '--restart').action, 'start')
})

test('two controllers running at once never both act: one step a round, each in the history once', async (t) => {
  const { dir, at } = place(t)
  const plan = writePlan(dir, { bakeSeconds: 60 })
  const t0 = 1_800_000_000_000
  const both = (now, window) => Promise.all([0, 1].map(() => new Promise((resolve) => {
    const child = spawn(cli, ['canary', 'run', plan, '--now', String(now), '--metrics', window, '--json'], { env: { ...cleanEnv(), FLAGCORE_AT: at } })
    let out = ''
    child.stdout.on('data', (chunk) => { out += chunk })
    child.on('exit', (code) => resolve({ code, out }))
  })))
  let round = await both(t0, writeWindow(dir, 1, { users: 0 }))
  assert.deepEqual(round.map((r) => r.code), [0, 0])
  // Users left out (no sample ratio test): a run that reads the state the
  // other just wrote holds in the new step's bake instead of advancing again.
  const window = path.join(dir, 'racing-window.json')
  fs.writeFileSync(window, JSON.stringify({ users: { canary: 0, control: 0 }, metrics: { Errors: { canary: { count: 100, sum: 1 }, control: { count: 9900, sum: 99 } } } }))
  for (const n of [0, 1, 2]) {
    round = await both(t0 + (n + 1) * 2 * MINUTE, window)
    assert.deepEqual(round.map((r) => r.code), [0, 0])
    const acted = round.map((r) => r.out.trim() && JSON.parse(r.out)).filter((r) => r && r.generation)
    assert.equal(acted.length, 1, `round ${n}: ${round.map((r) => r.out).join(' | ')}`)
  }
  const records = byController(at)
  assert.deepEqual(records.map((r) => r.changes[0].replace(/, false.*/, '')), ['new-checkout: rollout true 100%', 'new-checkout: rollout true 50%', 'new-checkout: rollout true 10%', 'new-checkout: rollout true 1%'])
  // No run's state hid another's: every step is in the state's decisions.
  const state = JSON.parse(ok(at, 'canary', 'status', plan, '--json').stdout)
  assert.equal(state.step, 3)
  assert.deepEqual(state.decisions.filter((d) => d.action !== 'hold').map((d) => `${d.action} ${d.share}`), ['start 1', 'advance 10', 'advance 50', 'advance 100'])
})

test('from CloudWatch: the EMF lines of FlagClients, shipped to moto\'s CloudWatch, advance a healthy canary and roll back a broken one', async (t) => {
  const motoServer = path.join(root, '.venv', 'bin', 'moto_server')
  assert.ok(fs.existsSync(motoServer), `no ${motoServer}: make setup-python installs moto`)
  const { CloudWatchClient, PutMetricDataCommand } = require('@aws-sdk/client-cloudwatch')
  const { emfRequests } = await import('../../examples/canary/emf.mjs')
  const port = await freePort()
  const child = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] })
  const server = { pid: child.pid }
  t.after(() => stop(server))
  const endpoint = `http://127.0.0.1:${port}`
  const aws = { AWS_ENDPOINT_URL_CLOUDWATCH: endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }
  const cloudwatch = new CloudWatchClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  for (let tries = 0; ; tries++) {
    try {
      await fetch(endpoint)
      break
    } catch (error) {
      if (tries > 100) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  // One function's requests, minute by minute: each user's evaluation of
  // the flag, then the handler's own Errors (0 or 1) and Latency.
  const ship = async (at, { start, minutes, users, failing, slower }) => {
    let n = 0
    for (let minute = 0; minute < minutes; minute++) {
      const lines = []
      const now = start + minute * MINUTE + 1000
      const flags = new FlagClient({ source: { published: { directory: at } }, ttlSeconds: 0, logger: quiet, now: () => now, metrics: { functionName: 'checkout', write: (line) => lines.push(line) } })
      for (let u = 0; u < users; u++, n++) {
        const user = { kind: 'user', key: `user-${n % 5000}` }
        const on = await flags.boolVariation('new-checkout', user, false)
        const error = (n * 7919 % 1000) / 1000 < (on ? failing : 0.01) ? 1 : 0
        flags.measure('Errors', error, 'Count')
        flags.measure('Latency', 100 + (n * 104729 % 41) - 20 + (on ? slower : 0), 'Milliseconds')
        flags.flush()
      }
      for (const request of emfRequests(lines)) await cloudwatch.send(new PutMetricDataCommand(request))
    }
  }
  const runAt = (at, plan, now) => {
    const result = flagcore(at, ['canary', 'run', plan, '--now', String(now), '--json', '--function', 'checkout'], aws)
    assert.equal(result.status, 0, result.stderr)
    return JSON.parse(result.stdout)
  }

  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE
  const healthy = place(t)
  const plan = writePlan(healthy.dir, { bakeSeconds: 600, minSample: 30, steps: [10, 50, 100], guards: [{ metric: 'Errors', kind: 'rate', tolerance: 2 }, { metric: 'Latency', kind: 'mean', tolerance: 10 }] })
  assert.equal(runAt(healthy.at, plan, start).action, 'start')
  await ship(healthy.at, { start: start + MINUTE, minutes: 12, users: 200, failing: 0.01, slower: 0 })
  const advanced = runAt(healthy.at, plan, start + 14 * MINUTE)
  assert.equal(advanced.action, 'advance', advanced.reason)
  const [errors, latency] = advanced.figures.guards
  assert.equal(errors.metric, 'Errors')
  assert.ok(errors.control > 0.005 && errors.control < 0.02, JSON.stringify(errors))
  assert.ok(Math.abs(latency.control - 100) < 2, JSON.stringify(latency))
  assert.equal(advanced.figures.sampleRatio.p > 0.001, true)

  const broken = place(t)
  const brokenPlan = writePlan(broken.dir, { flag: 'new-checkout', bakeSeconds: 600, minSample: 30, steps: [10, 50, 100], guards: [{ metric: 'Errors', kind: 'rate', tolerance: 2 }] })
  const later = start + 20 * MINUTE
  assert.equal(runAt(broken.at, brokenPlan, later).action, 'start')
  await ship(broken.at, { start: later + MINUTE, minutes: 5, users: 300, failing: 0.3, slower: 40 })
  const rolled = runAt(broken.at, brokenPlan, later + 7 * MINUTE)
  assert.equal(rolled.action, 'rollback', rolled.reason)
  assert.match(rolled.reason, /^harm on Errors: /)
  const [record] = byController(broken.at)
  assert.match(record.comment, /rolled back to 0% at step 1 of 3 \(10%\)/)

  // Series of another function: none, and the run holds and says what to check.
  const other = place(t)
  const otherPlan = writePlan(other.dir, { bakeSeconds: 60 })
  assert.equal(runAt(other.at, otherPlan, start).action, 'start')
  const result = flagcore(other.at, ['canary', 'run', otherPlan, '--now', String(start + 14 * MINUTE), '--json', '--function', 'checkout-v2'], aws)
  const held = JSON.parse(result.stdout)
  assert.equal(held.action, 'hold')
  assert.match(held.reason, /no metrics of flag "new-checkout" since the step settled: is checkout-v2 the function that evaluates the flag/)
})

/** As `flagcore`, without blocking this process: a stand-in in it answers meanwhile. */
function flagcoreAsync (at, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cli, args, { env: { ...cleanEnv(), FLAGCORE_AT: at, FLAGCORE_AUTHOR: 'alice', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => { stdout += chunk })
    child.stderr.on('data', (chunk) => { stderr += chunk })
    child.on('close', (status) => resolve({ status, stdout: stdout.trim(), stderr }))
  })
}

/**
 * LaunchDarkly's REST API for one flag, on 127.0.0.1: GET answers the flag
 * with its environment, PATCH takes a semantic patch of its default rule and
 * checks its shape as LaunchDarkly documents it, refusing anything else.
 */
function launchDarklyApi (token) {
  const flag = {
    key: 'new-checkout',
    _version: 1,
    variations: [{ _id: 'v-true', value: true }, { _id: 'v-false', value: false }],
    environments: { production: { on: true, _version: 1, salt: 'new-checkout', fallthrough: { variation: 1 }, offVariation: 1 } }
  }
  const patches = []
  const refusals = []
  const server = http.createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => { body += chunk })
    request.on('end', () => {
      const url = new URL(request.url, 'http://127.0.0.1')
      const answer = (status, value) => {
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(JSON.stringify(value))
      }
      const refuse = (message) => {
        refusals.push(message)
        answer(400, { code: 'invalid_request', message })
      }
      if (request.headers.authorization !== token) return answer(401, { code: 'unauthorized', message: 'Invalid access token' })
      if (url.pathname !== '/api/v2/flags/shop/new-checkout') return answer(404, { code: 'not_found', message: 'Unknown resource' })
      if (request.method === 'GET') {
        if (url.searchParams.get('env') !== 'production') return refuse('env=production expected')
        return answer(200, flag)
      }
      if (request.method !== 'PATCH') return answer(405, { code: 'method_not_allowed', message: request.method })
      if (!/^application\/json;\s*domain-model=launchdarkly\.semanticpatch$/.test(request.headers['content-type'] ?? '')) return refuse(`content-type ${request.headers['content-type']}`)
      const patch = JSON.parse(body)
      const [instruction, ...more] = patch.instructions ?? []
      if (patch.environmentKey !== 'production') return refuse('environmentKey')
      if (typeof patch.comment !== 'string' || patch.comment.length === 0) return refuse('comment')
      if (more.length > 0 || instruction?.kind !== 'updateFallthroughVariationOrRollout') return refuse('one updateFallthroughVariationOrRollout instruction')
      const weights = Object.entries(instruction.rolloutWeights ?? {})
      const ids = flag.variations.map((v) => v._id)
      if (weights.length === 0 || weights.some(([id, w]) => !ids.includes(id) || !Number.isInteger(w) || w < 0) || weights.reduce((sum, [, w]) => sum + w, 0) !== 100000) return refuse(`rolloutWeights ${JSON.stringify(instruction.rolloutWeights)}`)
      patches.push(patch)
      const env = flag.environments.production
      env.fallthrough = { rollout: { variations: weights.map(([id, weight]) => ({ variation: ids.indexOf(id), weight })) } }
      env._version++
      flag._version++
      answer(200, flag)
    })
  })
  return { flag, patches, refusals, server }
}

test('a canary in LaunchDarkly: each step a semantic patch of the default rule, its state beside the flags elsewhere, a person\'s kill switch obeyed', async (t) => {
  const token = 'api-0123456789abcdef'
  const ld = launchDarklyApi(token)
  await new Promise((resolve) => ld.server.listen(0, '127.0.0.1', resolve))
  t.after(() => ld.server.close())
  const base = `http://127.0.0.1:${ld.server.address().port}`
  const dir = scratch(t)
  const state = path.join(dir, 'state')
  const plan = writePlan(dir)
  const t0 = 1_800_000_000_000
  const env = { LAUNCHDARKLY_API_TOKEN: token, LAUNCHDARKLY_API_BASE_URI: base }
  const run = async (now, window) => {
    const result = await flagcoreAsync(state, ['canary', 'run', plan, '--launchdarkly', 'shop/production', '--now', String(now), '--metrics', window, '--json'], env)
    assert.equal(result.status, 0, result.stderr)
    return JSON.parse(result.stdout)
  }
  assert.equal((await run(t0, writeWindow(dir, 1, { users: 0 }))).action, 'start')
  assert.equal((await run(t0 + 11 * MINUTE, writeWindow(dir, 1))).action, 'advance')
  assert.deepEqual(ld.refusals, [])
  assert.deepEqual(ld.patches.map((p) => p.instructions[0].rolloutWeights), [{ 'v-true': 1000, 'v-false': 99000 }, { 'v-true': 10000, 'v-false': 90000 }])
  assert.match(ld.patches[1].comment, /^canary new-checkout: step 1 of 4 \(1%\) → 10%: 1% baked with no harm \(Errors: /)
  // While a canary runs, a 404 (a wrong project's key here) ends nothing: it is said.
  const wrong = await flagcoreAsync(state, ['canary', 'run', plan, '--launchdarkly', 'shop2/production', '--once', '--metrics', writeWindow(dir, 10)], env)
  assert.equal(wrong.status, 1)
  assert.match(wrong.stderr, /launchdarkly shop2\/production: answered 404 for flag "new-checkout": check the project's key/)
  assert.equal(JSON.parse(ok(state, 'canary', 'status', plan, '--json').stdout).status, 'running')
  // A person turns it off in LaunchDarkly: the controller stops, and patches nothing more.
  ld.flag.environments.production.on = false
  const stopped = await run(t0 + 22 * MINUTE, writeWindow(dir, 10))
  assert.equal(stopped.action, 'stop')
  assert.equal(ld.patches.length, 2)
  assert.equal(JSON.parse(ok(state, 'canary', 'status', plan, '--json').stdout).status, 'stopped')

  // A broken canary rolled back there: the weights give control all.
  ld.flag.environments.production.on = true
  const broken = await run(t0 + 23 * MINUTE, writeWindow(dir, 1, { users: 0 }))
  assert.equal(broken.action, 'ended')
  const rolled = await flagcoreAsync(state, ['canary', 'run', plan, '--launchdarkly', 'shop/production', '--now', String(t0 + 24 * MINUTE), '--metrics', writeWindow(dir, 10, { users: 40_000, canaryRate: 0.2 }), '--json', '--restart'], env)
  assert.equal(JSON.parse(rolled.stdout).action, 'start', rolled.stderr)
  const harm = await run(t0 + 25 * MINUTE, writeWindow(dir, 10, { users: 40_000, canaryRate: 0.2 }))
  assert.equal(harm.action, 'rollback', harm.reason)
  assert.deepEqual(ld.patches.at(-1).instructions[0].rolloutWeights, { 'v-true': 0, 'v-false': 100000 })

  // The token goes over https only, or to this machine.
  const clear = await flagcoreAsync(state, ['canary', 'run', plan, '--launchdarkly', 'shop/production', '--once'], { ...env, LAUNCHDARKLY_API_BASE_URI: 'http://ld.example.com' })
  assert.match(clear.stderr, /the API token goes only over https/)

  // A token LaunchDarkly refuses: said, and never printed.
  const refused = await flagcoreAsync(state, ['canary', 'run', plan, '--launchdarkly', 'shop/production', '--once', '--metrics', writeWindow(dir, 1)], { ...env, LAUNCHDARKLY_API_TOKEN: 'api-wrong-token' })
  assert.equal(refused.status, 1)
  assert.match(refused.stderr, /launchdarkly shop\/production: read the flag: answered 401: the token in LAUNCHDARKLY_API_TOKEN is not one that may read the flag in project shop/)
  assert.doesNotMatch(refused.stderr + refused.stdout, /api-wrong-token/)
  const missing = await flagcoreAsync(state, ['canary', 'run', plan, '--launchdarkly', 'shop/production', '--once'], { LAUNCHDARKLY_API_BASE_URI: base })
  assert.match(missing.stderr, /needs an API access token with writer rights in LAUNCHDARKLY_API_TOKEN/)
})
