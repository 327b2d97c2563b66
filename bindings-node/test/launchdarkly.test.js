'use strict'
// flagcore/sync reading LaunchDarkly's polling API, with no Relay Proxy:
// a local stand-in for LaunchDarkly (launchdarkly-standin.js) on 127.0.0.1,
// which LaunchDarkly's own Node SDK reads too, and dynalite for the
// published layout. Every fault the sync meets ends with nothing half
// published and the last good snapshot still served.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { isDeepStrictEqual } = require('node:util')
const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb')
const { startDynalite, stop, createTable, freePort } = require('./dynalite.js')
const { startLaunchDarkly, webhookEvent } = require('./launchdarkly-standin.js')

const skip = process.env.FLAGCORE_IMPL === 'wasm' && 'flagcore/sync publishes, which the native engine does'
const SDK_KEY = 'sdk-0f6e1a52-test-key-never-printed'
const SECRET = 'the webhook signing secret'
const quiet = { warn () {}, error () {}, info () {}, debug () {} }
const noWait = async () => {}

// The corpus' snapshots (tests/vectors/corpus), each a change at
// LaunchDarkly, with its contexts. A rollout seed of 0 is left out, as
// LaunchDarkly's Node SDK reads it (see js/test/differential.test.js), so
// that both sides read the same data.
const corpus = fs.readFileSync(path.join(__dirname, '..', '..', 'tests', 'vectors', 'corpus', 'generated.jsonl'), 'utf8')
  .split('\n').filter((line) => line.trim()).slice(0, 5).map((line) => JSON.parse(line))
  .map(({ data, cases }) => {
    for (const flag of Object.values(data.flags)) {
      for (const rollout of [flag.fallthrough && flag.fallthrough.rollout, ...(flag.rules || []).map((r) => r.rollout)]) {
        if (rollout && rollout.seed === 0) delete rollout.seed
      }
    }
    return { data, cases }
  })

function banner (value, extra = {}) {
  return { flags: { banner: { key: 'banner', version: 1, on: true, variations: [value, 'off'], fallthrough: { variation: 0 }, offVariation: 1, salt: 's', ...extra } }, segments: {} }
}

test('flagcore/sync with no Relay Proxy: LaunchDarkly polled, webhooks, faults', { skip, timeout: 300_000 }, async (t) => {
  const { FlagClient, Snapshot } = require('..')
  const { createLaunchDarklySync } = require('../sync.js')
  const dynamo = await startDynalite()
  t.after(() => stop(dynamo))
  const db = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  await createTable(db, 'flags')
  const ld = await startLaunchDarkly({ sdkKey: SDK_KEY, payload: banner('first') })
  t.after(() => ld.close())
  let table = 0
  // A table of its own for each case, so that what one publishes is not another's.
  async function freshTarget () {
    const name = `flags-${++table}`
    await createTable(db, name)
    return { table: name, client: db }
  }
  const head = async (to) => {
    const item = await db.send(new GetItemCommand({ TableName: to.table, Key: { namespace: { S: 'flagcore' }, key: { S: 'head.json' } }, ConsistentRead: true }))
    return item.Item ? JSON.parse(item.Item.head.S) : null
  }
  const reader = (to) => new FlagClient({ source: { published: { table: to.table, client: db } }, ttlSeconds: 0, logger: quiet })
  const sync = (to, options = {}) => createLaunchDarklySync({ sdkKey: SDK_KEY, baseUri: ld.baseUri, to, webhookSecret: SECRET, logger: quiet, sleep: noWait, ...options })

  await t.test('a schedule polls once, publishes, and an unchanged environment costs one 304 and no write', async () => {
    ld.change(banner('first'))
    const to = await freshTarget()
    const run = sync(to)
    const before = ld.requests.length
    const first = await run({ source: 'aws.events' })
    assert.equal(first.unchanged, false)
    assert.equal(first.id, Snapshot.fromJson(JSON.stringify(banner('first'))).id)
    assert.equal(await reader(to).variation('banner', { key: 'u' }, 'default'), 'first')
    const written = await head(to)
    const again = await run({ source: 'aws.events' })
    assert.deepEqual(again, { id: first.id, unchanged: true, chunks: 0, bytes: 0, warnings: [] })
    const asked = ld.requests.slice(before)
    assert.equal(asked.length, 2, 'one request per trigger')
    assert.equal(asked[0].ifNoneMatch, null)
    assert.match(asked[1].ifNoneMatch, /^"/)
    for (const request of asked) {
      assert.equal(request.authorization, SDK_KEY, 'the raw key, no scheme')
      assert.match(request.userAgent, /^flagcore\/\d/)
      assert.equal(request.path, '/sdk/latest-all')
    }
    assert.deepEqual(await head(to), written, 'nothing written when unchanged')
  })

  await t.test("LaunchDarkly's Node SDK reads the stand-in and answers as the published layout does, after each change", async () => {
    const sdk = require('@launchdarkly/node-server-sdk')
    const to = await freshTarget()
    const run = sync(to)
    const client = reader(to)
    let compared = 0
    const changes = [...corpus.map((group) => ({ data: group.data, cases: group.cases }))]
    // A kill switch: the last snapshot's flags turned off.
    const last = structuredClone(corpus[corpus.length - 1].data)
    for (const flag of Object.values(last.flags)) flag.on = false
    changes.push({ data: last, cases: corpus[corpus.length - 1].cases })
    for (const [n, change] of changes.entries()) {
      ld.change(change.data)
      const answered = await run(webhookEvent({ kind: 'flag', n }, { secret: SECRET }))
      assert.equal(answered.statusCode, 200, answered.body)
      const theirs = sdk.init(SDK_KEY, { baseUri: ld.baseUri, stream: false, sendEvents: false, diagnosticOptOut: true, logger: quiet })
      try {
        await theirs.waitForInitialization({ timeout: 30 })
        for (const c of change.cases) {
          const mine = await client.variationDetail(c.flagKey, c.context, c.default)
          const ldAnswer = await theirs.variationDetail(c.flagKey, c.context, c.default)
          const same = mine.variationIndex === (ldAnswer.variationIndex ?? null) && isDeepStrictEqual(mine.value, ldAnswer.value) && isDeepStrictEqual({ ...mine.reason }, ldAnswer.reason)
          assert.ok(same, `change ${n}, flag ${c.flagKey}, context ${JSON.stringify(c.context)}:\n flagcore ${JSON.stringify(mine)}\n LaunchDarkly ${JSON.stringify(ldAnswer)}`)
          compared++
        }
      } finally {
        theirs.close()
      }
    }
    console.log(`launchdarkly stand-in: ${compared} evaluations compared with LaunchDarkly's Node SDK after ${changes.length} changes, all equal`)
    assert.ok(compared >= 250)
  })

  await t.test('a webhook is refused without its signature, and reads and writes nothing', async () => {
    const to = await freshTarget()
    const errors = []
    const run = sync(to, { logger: { warn: (m) => errors.push(m), error: (m) => errors.push(m) } })
    const before = ld.requests.length
    for (const event of [webhookEvent({ kind: 'flag' }, { secret: 'another secret' }), webhookEvent({ kind: 'flag' }), webhookEvent({ kind: 'flag' }, { signature: 'not hex' })]) {
      const answered = await run(event)
      assert.equal(answered.statusCode, 401)
    }
    assert.equal((await run(webhookEvent('x'.repeat(70_000), { secret: SECRET }))).statusCode, 413)
    // Bytes, not characters: 40,000 two-byte characters are past the bound.
    assert.equal((await run(webhookEvent('é'.repeat(40_000), { secret: SECRET }))).statusCode, 413)
    // API Gateway's and load balancers' requests prove themselves too.
    assert.equal((await run({ httpMethod: 'POST', headers: {}, body: '{}', isBase64Encoded: false })).statusCode, 401)
    assert.equal((await run(webhookEvent({}, { secret: SECRET, method: 'GET' }))).statusCode, 405)
    assert.equal(ld.requests.length, before, 'LaunchDarkly was not asked')
    assert.equal(await head(to), null, 'nothing was published')
    assert.equal(errors.length, 6)
    // With no secret set, every webhook is refused, and the log says what to set.
    const unset = []
    const open = createLaunchDarklySync({ sdkKey: SDK_KEY, baseUri: ld.baseUri, to, logger: { warn () {}, error: (m) => unset.push(m) } })
    assert.equal((await open(webhookEvent({ kind: 'flag' }, { secret: '' }))).statusCode, 401)
    assert.match(unset[0], /LAUNCHDARKLY_WEBHOOK_SECRET is not set/)
  })

  await t.test('a base64-encoded webhook is taken; a replay publishes nothing new', async () => {
    ld.change(banner('webhooks'))
    const to = await freshTarget()
    const run = sync(to)
    const event = webhookEvent({ kind: 'flag', key: 'banner' }, { secret: SECRET, base64: true })
    const first = await run(event)
    assert.equal(first.statusCode, 200)
    assert.equal(JSON.parse(first.body).unchanged, false)
    const written = await head(to)
    const replay = await run(event)
    assert.equal(replay.statusCode, 200)
    assert.equal(JSON.parse(replay.body).unchanged, true)
    assert.deepEqual(await head(to), written)
  })

  await t.test("a webhook polls until LaunchDarkly's payload changed, within five polls", async () => {
    ld.change(banner('old'))
    const to = await freshTarget()
    let sleeps = 0
    // LaunchDarkly's CDN answers the old payload for two more polls.
    const run = sync(to, { sleep: async () => { if (++sleeps === 2) ld.change(banner('new')) } })
    await run({ source: 'aws.events' })
    const before = ld.requests.length
    const answered = await run(webhookEvent({ kind: 'flag' }, { secret: SECRET }))
    assert.equal(answered.statusCode, 200)
    assert.equal(JSON.parse(answered.body).unchanged, false)
    assert.equal(ld.requests.length - before, 3)
    assert.equal(await reader(to).variation('banner', { key: 'u' }, 'default'), 'new')
  })

  await t.test('two syncs at once: one head written; the one that lost asks LaunchDarkly again', async () => {
    ld.change(banner('both'))
    const target = await freshTarget()
    // Both syncs read the head before either writes it: the first head
    // write waits for the second, so that they race.
    let heads = 0
    let lost = 0
    let arrived = 0
    let release
    const barrier = new Promise((resolve) => { release = resolve })
    const isHead = (command) => command.input.Item && command.input.Item.key.S === 'head.json'
    const racing = {
      async send (command, options) {
        if (isHead(command) && ++arrived <= 2) {
          if (arrived === 2) release()
          await Promise.race([barrier, new Promise((resolve) => setTimeout(resolve, 5000))])
        }
        return db.send(command, options).then((answer) => { if (isHead(command)) heads++; return answer }, (error) => { if (isHead(command)) lost++; throw error })
      }
    }
    const to = { ...target, client: racing }
    const before = ld.requests.length
    const results = await Promise.all([sync(to)({}), sync(to)({})])
    assert.equal(arrived >= 2 && lost, 1, 'the two head writes raced, and one lost')
    assert.equal(heads, 1, 'one head written')
    assert.deepEqual(results.map((r) => r.unchanged).sort(), [false, true])
    assert.equal(ld.requests.length - before, 3, 'two polls, and the loser\'s poll again')
    assert.equal((await head(target)).id, results.find((r) => !r.unchanged).id)
  })

  await t.test('faults: nothing half published, and what was published stays', async (t) => {
    ld.change(banner('good'))
    const to = await freshTarget()
    await sync(to)({})
    const good = (await head(to)).id
    const stays = async () => {
      assert.equal((await head(to)).id, good, 'the published snapshot stays')
      assert.equal(await reader(to).variation('banner', { key: 'u' }, 'default'), 'good')
    }
    const failing = async (options, code) => {
      const error = await sync(to, options)({}).then(() => null, (e) => e)
      assert.ok(error, 'the sync failed')
      assert.equal(error.code, code, error.message)
      assert.ok(!error.message.includes(SDK_KEY), 'no message holds the SDK key')
      return error
    }
    ld.change(banner('changed'))

    await t.test('401: the key is refused at once, not retried', async () => {
      const before = ld.requests.length
      const error = await failing({ sdkKey: 'sdk-wrong' }, 'LAUNCHDARKLY_UNAUTHORIZED')
      assert.match(error.message, /LAUNCHDARKLY_SDK_KEY/)
      assert.ok(!error.message.includes('sdk-wrong'), 'the key given is not shown')
      assert.equal(ld.requests.length - before, 1)
      await stays()
    })
    await t.test('429, then an answer: retried after a backoff', async () => {
      ld.fail({ status: 429 })
      const waits = []
      const run = sync(await freshTarget(), { sleep: async (ms) => waits.push(ms) })
      assert.equal((await run({})).unchanged, false)
      assert.equal(waits.length, 1)
      assert.ok(waits[0] >= 250 && waits[0] <= 500, `waited ${waits[0]} ms`)
    })
    await t.test('500 four times: the sync gives up', async () => {
      ld.fail({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 })
      const before = ld.requests.length
      await failing({}, 'LAUNCHDARKLY_UNAVAILABLE')
      assert.equal(ld.requests.length - before, 4)
      await stays()
    })
    await t.test('unreachable', async () => {
      const error = await failing({ baseUri: `http://127.0.0.1:${await freePort()}` }, 'LAUNCHDARKLY_UNAVAILABLE')
      assert.match(error.message, /failed 4 times/)
      await stays()
    })
    await t.test('slow: no answer within the timeout', async () => {
      ld.fail({ delayMs: 400 }, { delayMs: 400 }, { delayMs: 400 }, { delayMs: 400 })
      const error = await failing({ timeoutMs: 100 }, 'LAUNCHDARKLY_UNAVAILABLE')
      assert.match(error.message, /no answer within 100 ms/)
      await stays()
    })
    await t.test('a body that stalls past the timeout', async () => {
      ld.fail({ stallMs: 400 }, { stallMs: 400 }, { stallMs: 400 }, { stallMs: 400 })
      const error = await failing({ timeoutMs: 150 }, 'LAUNCHDARKLY_UNAVAILABLE')
      assert.match(error.message, /no answer within 150 ms/)
      await stays()
    })
    await t.test('a redirect is not followed: the key goes nowhere else', async () => {
      ld.fail({ status: 302 })
      const before = ld.requests.length
      await failing({}, 'LAUNCHDARKLY_UNEXPECTED')
      assert.equal(ld.requests.length - before, 1)
      await stays()
    })
    await t.test('a key with a line break is refused before any request, and not shown', () => {
      assert.throws(() => createLaunchDarklySync({ sdkKey: 'sdk-line\nbreak', baseUri: ld.baseUri, to, logger: quiet }), (error) => /line breaks/.test(error.message) && !error.message.includes('sdk-line'))
    })
    await t.test('a body cut off halfway is retried, never published', async () => {
      ld.fail({ truncate: true }, { truncate: true }, { truncate: true }, { truncate: true })
      await failing({}, 'LAUNCHDARKLY_UNAVAILABLE')
      await stays()
    })
    await t.test('a payload that is not JSON', async () => {
      ld.fail({ text: '{"flags": {"banner": ' })
      await failing({}, 'LAUNCHDARKLY_PAYLOAD_INVALID')
      await stays()
    })
    await t.test('a payload that flagcore check refuses', async () => {
      ld.change(banner('refused', { offVariation: 5 }))
      const error = await failing({}, 'PUBLISH_REFUSED')
      assert.match(error.message, /offVariation/)
      await stays()
      ld.change(banner('changed'))
    })
    await t.test('killed between the chunks and the head: readers never see it, the next run completes', async () => {
      const killed = { send: (command, options) => command.input.Item && command.input.Item.key.S === 'head.json' ? Promise.reject(new Error('the function was killed')) : db.send(command, options) }
      const error = await createLaunchDarklySync({ sdkKey: SDK_KEY, baseUri: ld.baseUri, to: { table: to.table, client: killed }, logger: quiet })({}).then(() => null, (e) => e)
      assert.match(String(error && error.message), /killed/)
      await stays()
      assert.equal((await sync(to)({})).unchanged, false)
      assert.equal(await reader(to).variation('banner', { key: 'u' }, 'default'), 'changed')
    })
  })

  await t.test('a flag over 400 KB, past what one DynamoDB item holds, is carried', async () => {
    const big = 'x'.repeat(450 * 1024)
    ld.change(banner(big))
    const to = await freshTarget()
    const published = await sync(to)({})
    assert.ok(published.chunks >= 1 && !published.unchanged)
    assert.equal((await reader(to).variation('banner', { key: 'u' }, 'default')).length, big.length)
  })
})

test('the ready handler reads the SDK key from Secrets Manager once, and publishes to FLAGCORE_TABLE', { skip, timeout: 120_000 }, async (t) => {
  const dynamo = await startDynalite()
  t.after(() => stop(dynamo))
  const db = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  await createTable(db, 'published')
  const ld = await startLaunchDarkly({ sdkKey: SDK_KEY, payload: banner('from the handler') })
  t.after(() => ld.close())
  // A stand-in for Secrets Manager's GetSecretValue (its JSON protocol).
  const asked = []
  const secrets = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => { body += chunk })
    req.on('end', () => {
      asked.push({ target: req.headers['x-amz-target'], body: JSON.parse(body) })
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
      res.end(JSON.stringify({ ARN: JSON.parse(body).SecretId, Name: 'ld-sdk-key', SecretString: `${SDK_KEY}\n`, VersionId: 'v1' }))
    })
  })
  await new Promise((resolve) => secrets.listen(0, '127.0.0.1', resolve))
  t.after(() => secrets.close())
  const saved = { ...process.env }
  t.after(() => { process.env = saved })
  Object.assign(process.env, {
    LAUNCHDARKLY_SDK_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ld-sdk-key',
    LAUNCHDARKLY_BASE_URI: ld.baseUri,
    LAUNCHDARKLY_WEBHOOK_SECRET: SECRET,
    FLAGCORE_TABLE: 'published',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${secrets.address().port}`,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test'
  })
  delete process.env.LAUNCHDARKLY_SDK_KEY
  delete require.cache[require.resolve('../sync.js')]
  const { handler } = require('../sync.js')
  const scheduled = await handler({ source: 'aws.events' })
  assert.equal(scheduled.unchanged, false)
  const webhook = await handler(webhookEvent({ kind: 'flag' }, { secret: SECRET }))
  assert.equal(webhook.statusCode, 200)
  assert.equal(JSON.parse(webhook.body).unchanged, true)
  assert.equal(asked.length, 1, 'the secret is read once')
  assert.equal(asked[0].target, 'secretsmanager.GetSecretValue')
  assert.equal(asked[0].body.SecretId, process.env.LAUNCHDARKLY_SDK_KEY_SECRET_ARN)
})

test("the SAM template of docs/launchdarkly.md sets what the sync reads, and allows what it does", () => {
  const examples = path.join(__dirname, '..', '..', 'examples', 'launchdarkly')
  const template = fs.readFileSync(path.join(examples, 'template.yaml'), 'utf8')
  const sync = fs.readFileSync(path.join(__dirname, '..', 'sync.js'), 'utf8')
  const published = fs.readFileSync(path.join(__dirname, '..', 'published.js'), 'utf8')
  for (const variable of ['LAUNCHDARKLY_SDK_KEY_SECRET_ARN', 'LAUNCHDARKLY_WEBHOOK_SECRET', 'FLAGCORE_TABLE']) {
    assert.match(template, new RegExp(`^ {10}${variable}: `, 'm'), `the template sets ${variable}`)
    assert.ok(sync.includes(`env.${variable}`), `sync.js reads ${variable}`)
  }
  assert.match(template, /^ {6}Handler: index\.handler$/m)
  assert.match(fs.readFileSync(path.join(examples, 'index.js'), 'utf8'), /module\.exports = require\('flagcore\/sync'\)/)
  // What the publisher sends DynamoDB, and the secret's read: allowed, and nothing else.
  const actions = [...template.matchAll(/Action: \[?([^\]\n]+)\]?/g)].flatMap((m) => m[1].split(',').map((a) => a.trim())).sort()
  const commands = [...new Set([...published.matchAll(/new (\w+)Command\(/g)].map((m) => m[1]))]
  const sent = commands.filter((c) => c !== 'Query' && c !== 'BatchGetItem').map((c) => `dynamodb:${c}`)
  assert.deepEqual(actions, [...sent, 'secretsmanager:GetSecretValue'].sort())
  assert.match(template, /ScheduleExpression: rate\(1 minute\)/)
  assert.match(template, /AuthType: NONE/)
})
