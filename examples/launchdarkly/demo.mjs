// LaunchDarkly without the Relay Proxy, on one machine: a local stand-in
// for LaunchDarkly (its polling API, and its webhooks, signed), the sync
// function (flagcore/sync) behind a local function URL, dynalite holding
// the published layout, and FUNCTIONS functions polling it, each a
// FlagClient with its own DynamoDB client, as Lambda instances are. All on
// 127.0.0.1.
//
// CHANGES flag changes are made at the stand-in, every third one a kill
// switch; LaunchDarkly's CDN serves the old payload for STALE ms after each
// (the stand-in does too), and then the webhook fires. For each change the
// demo reports the time until every function answers the new value, and
// the requests the stand-in served. Then the webhook is turned off, and a
// schedule alone (every SCHEDULE seconds, standing for the minute of
// EventBridge) must still bring every function the change.
//
//   node examples/launchdarkly/demo.mjs [--functions 8] [--changes 20] [--ttl 2] [--stale 500] [--schedule 4] [--check]
//
// `make demo-launchdarkly` runs it; `make test` runs it with --check, which
// fails when a function never converges or the requests to LaunchDarkly
// grow with the number of functions. Every process it starts is stopped by
// its id on exit.

import crypto from 'node:crypto'
import http from 'node:http'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..', '..')
const fromNode = createRequire(path.join(root, 'bindings-node', 'package.json'))
const { DynamoDBClient } = fromNode('@aws-sdk/client-dynamodb')
const { FlagClient } = fromNode('./index.js')
const { createLaunchDarklySync } = fromNode('./sync.js')
const { startDynalite, stop, createTable } = fromNode('./test/dynalite.js')
const { startLaunchDarkly } = fromNode('./test/launchdarkly-standin.js')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const FUNCTIONS = option('functions', 8)
const CHANGES = option('changes', 20)
const TTL_SECONDS = option('ttl', 2)
const STALE_MS = option('stale', 500)
const SCHEDULE_SECONDS = option('schedule', 4)
const CHECK = args.includes('--check')
const SDK_KEY = `sdk-demo-${crypto.randomUUID()}`
const WEBHOOK_SECRET = crypto.randomBytes(16).toString('hex')
const quiet = { warn () {}, error (message) { console.error(message) } }

function flags (n, on) {
  return {
    flags: {
      'checkout-banner': { key: 'checkout-banner', version: n, on, variations: [`banner ${n}`, 'off'], fallthrough: { variation: 0 }, offVariation: 1, salt: 'demo' }
    },
    segments: {}
  }
}
const expected = (n, on) => (on ? `banner ${n}` : 'off')

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

async function main () {
  const dynamo = await startDynalite()
  process.on('exit', () => stop(dynamo))
  const credentials = { accessKeyId: 'demo', secretAccessKey: 'demo' }
  const client = () => new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials })
  await createTable(client(), 'flags')

  const ld = await startLaunchDarkly({ sdkKey: SDK_KEY, payload: flags(0, true) })
  const to = { table: 'flags', client: client() }
  const sync = createLaunchDarklySync({ sdkKey: SDK_KEY, baseUri: ld.baseUri, to, webhookSecret: WEBHOOK_SECRET, logger: quiet })

  // The sync function's URL: a request becomes a function URL's event.
  const functionUrl = http.createServer((req, res) => {
    const parts = []
    req.on('data', (part) => parts.push(part))
    req.on('end', async () => {
      const answer = await sync({
        version: '2.0',
        requestContext: { http: { method: req.method, path: req.url } },
        headers: req.headers,
        body: Buffer.concat(parts).toString('base64'),
        isBase64Encoded: true
      })
      res.writeHead(answer.statusCode, answer.headers).end(answer.body)
    })
  })
  await new Promise((resolve) => functionUrl.listen(0, '127.0.0.1', resolve))
  const webhookUrl = `http://127.0.0.1:${functionUrl.address().port}/`

  // What LaunchDarkly does on a change: its CDN serves the new payload a
  // moment later, and its webhook (signed) fires at once.
  async function changeAtLaunchDarkly (payload, { webhook }) {
    setTimeout(() => ld.change(payload), STALE_MS)
    if (!webhook) return
    const body = JSON.stringify({ kind: 'flag', key: 'checkout-banner', date: Date.now() })
    const signature = crypto.createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')
    const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ld-signature': signature }, body })
    if (response.status !== 200) throw new Error(`the webhook answered ${response.status}: ${await response.text()}`)
  }

  await sync({ source: 'aws.events' })
  const functions = Array.from({ length: FUNCTIONS }, () => new FlagClient({ source: { published: { table: 'flags', client: client() } }, ttlSeconds: TTL_SECONDS, logger: quiet }))
  const user = { kind: 'user', key: 'user-42' }
  for (const f of functions) await f.variation('checkout-banner', user, 'default')

  // Every function asks every 50 ms, as requests arrive; the time is when the last one answers `value`.
  async function converged (value, started, limitMs) {
    for (;;) {
      const answers = await Promise.all(functions.map((f) => f.variation('checkout-banner', user, 'default')))
      if (answers.every((answer) => answer === value)) return Date.now() - started
      if (Date.now() - started > limitMs) throw new Error(`after ${limitMs} ms, the functions answer ${JSON.stringify([...new Set(answers)])}, not ${JSON.stringify(value)}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  console.log(`LaunchDarkly stand-in ${ld.baseUri}, sync function ${webhookUrl}, ${FUNCTIONS} functions polling the published layout in dynalite every call (time to live ${TTL_SECONDS} s)`)
  const times = []
  const kills = []
  let on = true
  const before = ld.requests.length
  for (let n = 1; n <= CHANGES; n++) {
    // Every third change turns the flag off (the kill switch); the next turns it on again.
    on = n % 3 !== 0
    const started = Date.now()
    await changeAtLaunchDarkly(flags(n, on), { webhook: true })
    const ms = await converged(expected(n, on), started, (TTL_SECONDS + 10) * 1000)
    times.push(ms)
    if (!on) kills.push(ms)
  }
  const requests = ld.requests.length - before
  const worst = Math.max(...times)
  console.log(`webhook: ${CHANGES} changes (${kills.length} kill switches) reached all ${FUNCTIONS} functions in ${median(times)} ms median, ${worst} ms worst (kill switches: ${median(kills)} ms median); goal: the time to live + 3 s = ${TTL_SECONDS * 1000 + 3000} ms`)
  console.log(`requests to LaunchDarkly: ${requests} for ${CHANGES} changes (${(requests / CHANGES).toFixed(1)} a change: the webhook's polls until the CDN served the change), none from the functions`)

  // The schedule alone: no webhook fires.
  let timer = setInterval(() => { sync({ source: 'aws.events' }).catch((error) => console.error(error.message)) }, SCHEDULE_SECONDS * 1000)
  const scheduled = []
  for (let n = CHANGES + 1; n <= CHANGES + 3; n++) {
    const started = Date.now()
    await changeAtLaunchDarkly(flags(n, true), { webhook: false })
    scheduled.push(await converged(expected(n, true), started, (SCHEDULE_SECONDS + TTL_SECONDS + 10) * 1000))
  }
  clearInterval(timer)
  timer = null
  console.log(`schedule alone (every ${SCHEDULE_SECONDS} s, standing for a minute): 3 changes reached every function in ${median(scheduled)} ms median, ${Math.max(...scheduled)} ms worst; goal: the schedule + the time to live = ${(SCHEDULE_SECONDS + TTL_SECONDS) * 1000} ms, and the CDN's ${STALE_MS} ms here`)

  await ld.close()
  functionUrl.close()
  if (CHECK) {
    // The webhook's polls: at most five a change, whatever the number of functions.
    if (requests > CHANGES * 5) throw new Error(`${requests} requests to LaunchDarkly for ${CHANGES} changes`)
    console.log(`checks: every change reached every function, with and without webhooks, and LaunchDarkly answered at most 5 requests a change`)
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(`demo failed: ${error.stack}`)
  process.exit(1)
})
