'use strict'
// flagcore/canary's ready Lambda handler against DynamoDB (dynalite) and
// CloudWatch (moto's server), both started here on 127.0.0.1 and stopped by
// their process ids: the flags made with this checkout's CLI, FlagClients'
// EMF lines shipped as Lambda's log agent would, and the handler invoked as
// an EventBridge schedule would, on a given clock. Its steps must be in
// `flagcore history`, a broken canary rolled back, and two invocations at
// once must never both act.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

if (process.env.FLAGCORE_IMPL === 'wasm' || process.env.FLAGCORE_PACKAGE) {
  test('flagcore/canary handler', { skip: 'run once, with the flagcore package of this checkout' }, () => {})
  return // a CommonJS module may end early
}

const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const { CloudWatchClient, PutMetricDataCommand } = require('@aws-sdk/client-cloudwatch')
const { FlagClient } = require('..')
const { createCanaryHandler } = require('../canary.js')
const { startDynalite, stop, createTable, freePort } = require('./dynalite.js')

const root = path.join(__dirname, '..', '..')
const cli = process.env.FLAGCORE_CLI || path.join(root, 'target', 'debug', 'flagcore')
const MINUTE = 60_000
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' }

async function startMoto (t) {
  const motoServer = path.join(root, '.venv', 'bin', 'moto_server')
  assert.ok(fs.existsSync(motoServer), `no ${motoServer}: make setup-python installs moto`)
  const port = await freePort()
  const child = spawn(motoServer, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'ignore'] })
  t.after(() => stop({ pid: child.pid }))
  const endpoint = `http://127.0.0.1:${port}`
  for (let tries = 0; ; tries++) {
    try {
      await fetch(endpoint)
      return endpoint
    } catch (error) {
      if (tries > 150) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

test('the canary handler steps a flag published in DynamoDB on CloudWatch\'s metrics, with its history, rolls a broken one back, and never acts twice at once', async (t) => {
  assert.ok(fs.existsSync(cli), `no CLI at ${cli}: cargo build -p flagcore-cli`)
  const dynalite = await startDynalite()
  t.after(() => stop(dynalite))
  const cloudwatchEndpoint = await startMoto(t)
  const dynamodb = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials })
  const cloudwatch = new CloudWatchClient({ endpoint: cloudwatchEndpoint, region: 'us-east-1', credentials })
  await createTable(dynamodb, 'flags')
  const aws = { AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }
  const flagcore = (prefix, ...args) => {
    const env = { ...process.env, ...aws, FLAGCORE_AT: `dynamodb:flags/${prefix}`, FLAGCORE_AUTHOR: 'alice' }
    delete env.FLAGCORE_COMMENT
    const result = spawnSync(cli, args, { env, encoding: 'utf8' })
    assert.equal(result.status, 0, `flagcore ${args.join(' ')}: ${result.stderr}`)
    return result.stdout
  }
  const { emfMinuteRequests } = await import('../../examples/canary/emf.mjs')

  // One function's requests, minute by minute, its EMF lines shipped.
  const ship = async (prefix, functionName, { start, minutes, users, failing }) => {
    let n = 0
    for (let minute = 0; minute < minutes; minute++) {
      const lines = []
      const now = start + minute * MINUTE + 1000
      const flags = new FlagClient({ source: { published: { table: 'flags', prefix, client: dynamodb } }, ttlSeconds: 0, logger: { warn () {} }, now: () => now, metrics: { functionName, write: (line) => lines.push(line) } })
      for (let u = 0; u < users; u++, n++) {
        const on = await flags.boolVariation('new-checkout', { kind: 'user', key: `user-${n}` }, false)
        flags.measure('Errors', (n * 7919 % 1000) / 1000 < (on ? failing : 0.01) ? 1 : 0, 'Count')
        flags.measure('Latency', 100 + (n * 104729 % 41) - 20, 'Milliseconds')
        flags.flush()
      }
      for (const request of emfMinuteRequests(lines)) await cloudwatch.send(new PutMetricDataCommand(request))
    }
  }
  const plan = { flag: 'new-checkout', steps: [10, 50, 100], bakeSeconds: 600, minSample: 30, guards: [{ metric: 'Errors', kind: 'rate', tolerance: 2 }, { metric: 'Latency', kind: 'mean', tolerance: 10 }] }
  const handlerFor = (prefix, functionName, now) => {
    const logged = []
    const handler = createCanaryHandler({ plan, table: 'flags', prefix, functionName, dynamodb, cloudwatch, now: () => now.at, log: (line) => logged.push(line) })
    return { handler, logged }
  }

  // A healthy canary: started, then raised on the metrics of its step.
  flagcore('healthy', 'flag', 'create', 'new-checkout', '--comment', 'the new checkout path', '-y')
  flagcore('healthy', 'flag', 'on', 'new-checkout', '--comment', 'on, serving false', '-y')
  const start = Math.floor(Date.now() / MINUTE) * MINUTE - 120 * MINUTE
  const clock = { at: start }
  const healthy = handlerFor('healthy', 'checkout-healthy', clock)
  assert.equal((await healthy.handler({})).action, 'start')
  await ship('healthy', 'checkout-healthy', { start: start + MINUTE, minutes: 12, users: 200, failing: 0.01 })
  clock.at = start + 5 * MINUTE
  assert.equal((await healthy.handler({})).action, 'hold')
  clock.at = start + 14 * MINUTE
  const advanced = await healthy.handler({})
  assert.equal(advanced.action, 'advance', advanced.reason)
  assert.ok(advanced.generation)
  assert.match(healthy.logged.at(-1), /^flagcore canary: new-checkout: advance: 10% baked with no harm/)
  const history = JSON.parse(flagcore('healthy', 'history', '--json')).generations
  assert.deepEqual(history.slice(0, 2).map((g) => [g.author, g.changes[0]]), [['flagcore canary', 'new-checkout: rollout true 50%, false 50%'], ['flagcore canary', 'new-checkout: rollout true 10%, false 90%']])
  assert.match(history[0].comment, /^canary new-checkout: step 1 of 3 \(10%\) → 50%: .*Errors: .*Latency: /)
  // The record holds the decisions it was made on, the hold too, each with its figures.
  assert.deepEqual(history[0].decisions.map((d) => [d.action, d.figures.guards.map((g) => g.metric)]), [['hold', ['Errors', 'Latency']], ['advance', ['Errors', 'Latency']]])
  // The CLI reads the state the handler keeps.
  const planFile = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'flagcore-canary-handler-')), 'plan.json')
  t.after(() => fs.rmSync(path.dirname(planFile), { recursive: true, force: true }))
  fs.writeFileSync(planFile, JSON.stringify(plan))
  assert.match(flagcore('healthy', 'canary', 'status', planFile), /^new-checkout: running at step 2 of 3 \(50%\)/)

  // A broken canary: rolled back on its first step, with an alert and its EMF line.
  flagcore('broken', 'flag', 'create', 'new-checkout', '--comment', 'the new checkout path', '-y')
  flagcore('broken', 'flag', 'on', 'new-checkout', '--comment', 'on, serving false', '-y')
  const later = start + 30 * MINUTE
  const brokenClock = { at: later }
  const broken = handlerFor('broken', 'checkout-broken', brokenClock)
  assert.equal((await broken.handler({})).action, 'start')
  await ship('broken', 'checkout-broken', { start: later + MINUTE, minutes: 5, users: 300, failing: 0.3 })
  brokenClock.at = later + 7 * MINUTE
  const rolled = await broken.handler({})
  assert.equal(rolled.action, 'rollback', rolled.reason)
  assert.ok(broken.logged.some((line) => line.startsWith('flagcore canary: ALERT: new-checkout: rollback')))
  assert.equal(JSON.parse(broken.logged.at(-1)).CanaryRollback, 1)
  assert.equal(JSON.parse(flagcore('broken', 'history', '--json')).generations[0].changes[0], 'new-checkout: rollout true 0%, false 100%')

  // Two invocations at once on a third place: one acts, the other does nothing.
  flagcore('race', 'flag', 'create', 'new-checkout', '--comment', 'the new checkout path', '-y')
  flagcore('race', 'flag', 'on', 'new-checkout', '--comment', 'on, serving false', '-y')
  const raceClock = { at: later }
  const [a, b] = [handlerFor('race', 'checkout-race', raceClock), handlerFor('race', 'checkout-race', raceClock)]
  const both = await Promise.all([a.handler({}), b.handler({})])
  // The other either lost the head's race (none), or read the state the first kept (hold).
  assert.deepEqual(both.filter((r) => r.action === 'start').length, 1, JSON.stringify(both))
  assert.equal(both.filter((r) => r.generation).length, 1, JSON.stringify(both))
  const raced = JSON.parse(flagcore('race', 'history', '--json')).generations.filter((g) => g.author === 'flagcore canary')
  assert.equal(raced.length, 1)

  // A state that does not read stops every run, saying where it is and how to start over.
  const { PutItemCommand } = require('@aws-sdk/client-dynamodb')
  await dynamodb.send(new PutItemCommand({ TableName: 'flags', Item: { namespace: { S: 'race:flagcore' }, key: { S: 'canary/new-checkout.json' }, text: { S: '{"flag": "new-checkout"}' } } }))
  await assert.rejects(a.handler({}), (error) => error.name === 'CanaryError' && error.code === 'STATE_INVALID' &&
    /dynamodb flags \(race:flagcore\): canary\/new-checkout\.json: .*flagcore canary run PLAN --at dynamodb:flags\/race --restart --once/.test(error.message))
  // And a history record whose comment the edits refuse is refused before anything is written.
  const { publish, Snapshot } = require('..')
  const before = JSON.parse(flagcore('race', 'history', '--json')).generations.length
  await assert.rejects(publish(Snapshot.fromJson('{"flags": {}, "segments": {}}'), { table: 'flags', prefix: 'race', client: dynamodb }, { record: { author: 'ana', comment: '', changes: [] } }), /the history record: .*comment/)
  assert.equal(JSON.parse(flagcore('race', 'history', '--json')).generations.length, before)
})
