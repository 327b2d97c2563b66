'use strict'
// The fault matrix: every FlagClient source (a file, a URL, DynamoDB in
// dynalite on 127.0.0.1) through the faults a Lambda meets. After each, the
// answers, status() and the snapshot id are checked; a source fault never
// empties a snapshot, and no call waits on a source inside its backoff.
// Prints one line per scenario and source, for the README's matrix.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { DynamoDBClient, DeleteTableCommand, DescribeTableCommand, PutItemCommand } = require('@aws-sdk/client-dynamodb')
const { FlagClient, Snapshot } = require('../../js/test/impl.js')
const { startDynalite, createTable } = require('./dynalite.js')

const user = { kind: 'user', key: 'user-1' }
const quiet = { warn () {} }
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' }
const results = []

function listen (server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
}

async function closedPort () {
  const server = net.createServer()
  const port = await listen(server)
  await new Promise((resolve) => server.close(resolve))
  return port
}

function snapshotJson (value) {
  return JSON.stringify({ flags: { banner: { key: 'banner', version: 1, on: true, variations: [value], fallthrough: { variation: 0 } } } })
}

function relayItem (namespace, key, object) {
  return { namespace: { S: namespace }, key: { S: key }, version: { N: '1' }, item: { S: JSON.stringify(object) } }
}

function describe (error) {
  return error ? `${error.name} ${error.code} ${error.message} ${error.cause ? error.cause.code : ''}` : 'no error'
}

// A client on a fake clock, with warnings kept.
function client (source, extra = {}) {
  const clock = { now: 1_000_000 }
  const warnings = []
  const flags = new FlagClient({ source, ttlSeconds: 10, retryMs: 1000, now: () => clock.now, logger: { warn: (m) => warnings.push(m) }, ...extra })
  return { flags, clock, warnings }
}

// The checks every fault ends with: still answering the last good snapshot.
async function keepsLastGood (c, id, value, error) {
  assert.equal(await c.flags.variation('banner', user, 'default'), value)
  const status = c.flags.status()
  assert.equal(status.ready, true)
  assert.equal(status.snapshotId, id)
  assert.match(describe(status.lastError), error)
}

// Loads `source`, runs `fault`, lets the time to live pass, and checks that
// the last good snapshot still answers, with `error` in status().
async function faultAfterAGoodLoad (source, fault, error) {
  const c = client(source)
  const id = (await c.flags.snapshot()).id
  await fault()
  c.clock.now += 10_000
  await keepsLastGood(c, id, 'one', error)
  return c
}

async function coldWithoutData (c, error) {
  const detail = await c.flags.variationDetail('banner', user, 'default')
  assert.deepEqual(detail, { value: 'default', variationIndex: null, reason: { kind: 'ERROR', errorKind: 'CLIENT_NOT_READY' } })
  const status = c.flags.status()
  assert.equal(status.ready, false)
  assert.equal(status.snapshotId, null)
  assert.match(describe(status.lastError), error)
}

// flagcore-wasm's FlagClient reads URLs only: files and DynamoDB are the Node package's.
const WASM_SOURCES = ['url']

async function scenario (t, name, source, body) {
  const skip = process.env.FLAGCORE_IMPL === 'wasm' && !WASM_SOURCES.includes(source) && `flagcore-wasm has no ${source} source`
  await t.test(`${name} (${source})`, { skip }, async () => {
    await body()
    results.push(`${name} | ${source}`)
  })
}

test('the fault matrix', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-faults-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  let served = { status: 200, body: snapshotJson('one'), delayMs: 0, etag: '"one"' }
  let requests = 0
  const web = http.createServer((request, response) => {
    requests++
    const answer = served
    setTimeout(() => {
      if (answer.hang) return
      if (answer.status === 200 && request.headers['if-none-match'] === answer.etag) {
        response.writeHead(304)
        return response.end()
      }
      if (answer.cut) {
        response.writeHead(200, { 'content-length': String(answer.body.length) })
        response.write(answer.body.slice(0, 10))
        return response.destroy()
      }
      response.writeHead(answer.status, answer.status === 200 ? { etag: answer.etag } : {})
      response.end(answer.status === 200 ? answer.body : '')
    }, answer.delayMs)
  })
  const webPort = await listen(web)
  t.after(() => { web.closeAllConnections(); web.close() })
  const url = `http://127.0.0.1:${webPort}/snapshot.json`
  const blackHole = net.createServer(() => {})
  const blackHolePort = await listen(blackHole)
  t.after(() => blackHole.close())

  const server = await startDynalite()
  t.after(() => server.child.kill())
  const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials })
  t.after(() => db.destroy())
  await createTable(db, 'relay')
  const putBanner = (value, prefix = 'prod') => db.send(new PutItemCommand({
    TableName: 'relay', Item: relayItem(`${prefix}:features`, 'banner', { key: 'banner', version: 1, on: true, variations: [value], fallthrough: { variation: 0 } })
  }))
  await putBanner('one')
  const dynamodb = (extra = {}) => ({ dynamodb: { table: 'relay', prefix: 'prod', client: db, ...extra } })

  await scenario(t, 'unreachable at cold start', 'file', async () => {
    await coldWithoutData(client({ file: path.join(dir, 'missing.json') }), /ENOENT/)
  })
  await scenario(t, 'unreachable at cold start', 'url', async () => {
    await coldWithoutData(client({ url: `http://127.0.0.1:${await closedPort()}/s.json` }), /fetch failed|ECONNREFUSED/)
  })
  await scenario(t, 'unreachable at cold start', 'dynamodb', async () => {
    const nowhere = new DynamoDBClient({ endpoint: `http://127.0.0.1:${await closedPort()}`, region: 'us-east-1', credentials, maxAttempts: 1 })
    await coldWithoutData(client({ dynamodb: { table: 'relay', client: nowhere } }), /ECONNREFUSED/)
    nowhere.destroy()
  })

  await scenario(t, 'failing mid-read', 'file', async () => {
    const file = path.join(dir, 'cut.json')
    fs.writeFileSync(file, snapshotJson('one'))
    await faultAfterAGoodLoad({ file }, () => fs.writeFileSync(file, snapshotJson('two').slice(0, 30)), /SNAPSHOT_INVALID_JSON/)
  })
  await scenario(t, 'failing mid-read', 'url', async () => {
    served = { status: 200, body: snapshotJson('one'), delayMs: 0, etag: '"one"' }
    await faultAfterAGoodLoad({ url }, () => { served = { status: 200, body: snapshotJson('two'), etag: '"two"', delayMs: 0, cut: true } },
      /terminated|aborted|socket|other side closed|fetch failed|SNAPSHOT_INVALID_JSON/)
  })
  await scenario(t, 'failing mid-read', 'dynamodb', async () => {
    let fail = false
    const flaky = { send: (command, options) => (fail ? Promise.reject(new Error('connection reset')) : db.send(command, options)) }
    await faultAfterAGoodLoad({ dynamodb: { table: 'relay', prefix: 'prod', client: flaky } }, () => { fail = true }, /connection reset/)
  })

  await scenario(t, 'an empty source', 'file', async () => {
    const file = path.join(dir, 'empty.json')
    fs.writeFileSync(file, snapshotJson('one'))
    await faultAfterAGoodLoad({ file }, () => fs.writeFileSync(file, ''), /SNAPSHOT_INVALID_JSON/)
  })
  await scenario(t, 'an empty source', 'url', async () => {
    served = { status: 200, body: snapshotJson('one'), delayMs: 0, etag: '"one"' }
    await faultAfterAGoodLoad({ url }, () => { served = { status: 200, body: '', delayMs: 0, etag: '"empty"' } }, /SNAPSHOT_INVALID_JSON/)
  })
  await scenario(t, 'an empty table, a wrong prefix', 'dynamodb', async () => {
    await coldWithoutData(client(dynamodb({ prefix: 'no-such-prefix' })), /DYNAMODB_EMPTY/)
    // The table recreated empty, as after a stack's replacement.
    const c = await faultAfterAGoodLoad(dynamodb(), async () => {
      await db.send(new DeleteTableCommand({ TableName: 'relay' }))
      // Created again once dynalite has let the old one go.
      for (let tries = 0; tries < 500; tries++) {
        try {
          await db.send(new DescribeTableCommand({ TableName: 'relay' }))
        } catch (error) {
          if (error.name === 'ResourceNotFoundException') break
          throw error
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await createTable(db, 'relay')
    }, /DYNAMODB_EMPTY/)
    await putBanner('two')
    c.clock.now += 1_000
    assert.equal(await c.flags.variation('banner', user, 'default'), 'two')
    assert.equal(c.flags.status().lastError, null)
    await putBanner('one')
  })

  await scenario(t, 'an item without data', 'dynamodb', async () => {
    await db.send(new PutItemCommand({ TableName: 'relay', Item: { namespace: { S: 'prod:features' }, key: { S: 'hollow' }, version: { N: '2' } } }))
    const c = client(dynamodb())
    assert.equal(await c.flags.variation('banner', user, 'default'), 'one')
    // Errors first: then the table's missing $inited marker, a warning.
    const [warning, ...others] = c.flags.status().warnings
    assert.deepEqual(others.map((w) => w.code), ['STORE_NOT_INITIALIZED'])
    assert.equal(warning.code, 'DYNAMODB_ITEM_WITHOUT_DATA')
    assert.match(warning.message, /prod:features\/hollow/)
    assert.match(c.warnings.join('\n'), /DYNAMODB_ITEM_WITHOUT_DATA/)
  })

  await scenario(t, 'slower than its timeout', 'url', async () => {
    served = { status: 200, body: snapshotJson('one'), delayMs: 0, etag: '"one"' }
    const c = client({ url, timeoutMs: 200 })
    const id = (await c.flags.snapshot()).id
    served = { hang: true }
    c.clock.now += 10_000
    const started = Date.now()
    await keepsLastGood(c, id, 'one', /timeout|aborted/i)
    assert.ok(Date.now() - started < 2000)
  })
  await scenario(t, 'slower than its timeout', 'dynamodb', async () => {
    const hole = new DynamoDBClient({ endpoint: `http://127.0.0.1:${blackHolePort}`, region: 'us-east-1', credentials, maxAttempts: 1 })
    const started = Date.now()
    await coldWithoutData(client({ dynamodb: { table: 'relay', client: hole, timeoutMs: 200 } }), /no answer within 200 ms|abort/i)
    assert.ok(Date.now() - started < 2000, `waited ${Date.now() - started} ms`)
    hole.destroy()
  })

  await scenario(t, 'a 304 after a restart', 'url', async () => {
    // A CDN that answers 304 to a client that sent no validator has nothing to give it.
    const notModified = http.createServer((request, response) => { response.writeHead(304); response.end() })
    const port = await listen(notModified)
    await coldWithoutData(client({ url: `http://127.0.0.1:${port}/s.json` }), /answered 304/)
    notModified.close()
  })

  await scenario(t, 'concurrent callers during a failure', 'url', async () => {
    served = { status: 200, body: snapshotJson('one'), delayMs: 0, etag: '"one"' }
    const c = client({ url })
    const id = (await c.flags.snapshot()).id
    served = { status: 503, delayMs: 500 }
    c.clock.now += 10_000
    requests = 0
    const answers = await Promise.all(Array.from({ length: 20 }, () => c.flags.variation('banner', user, 'default')))
    assert.deepEqual(new Set(answers), new Set(['one']))
    assert.equal(requests, 1, 'the callers shared one load')
    // Inside the backoff, no call waits for the source.
    const started = Date.now()
    await Promise.all(Array.from({ length: 20 }, () => c.flags.variation('banner', user, 'default')))
    assert.equal(requests, 1)
    assert.ok(Date.now() - started < 250, 'answered without waiting for the 500 ms source')
    await keepsLastGood(c, id, 'one', /503/)
  })

  await scenario(t, 'a token from another snapshot during a failure', 'url', async () => {
    served = { status: 200, body: snapshotJson('one'), delayMs: 0, etag: '"one"' }
    const key = 'a signing key for the fault matrix, 32 bytes'
    const c = client({ url }, { signingKey: key })
    await c.flags.snapshot()
    const upstream = Snapshot.fromJson(snapshotJson('two'))
    const token = upstream.decisionToken(user, ['banner'], { signingKey: key, now: c.clock.now })
    served = { status: 503, delayMs: 500 }
    c.clock.now += 2_000
    requests = 0
    // The first request looks for the newer snapshot once; the source fails.
    await c.flags.decide(user, token)
    assert.equal(requests, 1)
    // Inside the backoff, five more requests wait for nothing.
    const started = Date.now()
    for (let i = 0; i < 5; i++) await c.flags.decide(user, token)
    assert.equal(requests, 1, 'no request waited on the failing source')
    assert.ok(Date.now() - started < 250, 'answered without waiting for the 500 ms source')
    // Past the backoff, a token from a snapshot looked for and not found waits for the time to live.
    served = { status: 200, body: snapshotJson('one'), delayMs: 0, etag: '"one"' }
    c.clock.now += 1_500
    await c.flags.decide(user, token)
    await c.flags.decide(user, token)
    assert.equal(requests, 2)
    c.clock.now += 1_500
    await c.flags.decide(user, token)
    assert.equal(requests, 2, 'a token from a snapshot already looked for does not reload every retry interval')
  })

  await scenario(t, 'a token from an older snapshot', 'file', async () => {
    const file = path.join(dir, 'older.json')
    fs.writeFileSync(file, snapshotJson('one'))
    const key = 'a signing key for the fault matrix, 32 bytes'
    let loads = 0
    const source = { describe: () => 'counted file', load: async () => { loads++; return Snapshot.fromJson(fs.readFileSync(file)) } }
    const c = client(source, { signingKey: key })
    const older = await c.flags.snapshot()
    const token = older.decisionToken(user, ['banner'], { signingKey: key, now: c.clock.now })
    fs.writeFileSync(file, snapshotJson('two'))
    c.clock.now += 10_000
    await c.flags.snapshot()
    assert.equal(loads, 2)
    for (let i = 0; i < 5; i++) {
      c.clock.now += 1_500
      await c.flags.decide(user, token)
    }
    assert.equal(loads, 2, 'a token from a snapshot this client replaced never forces a reload')
  })
  console.log(`fault matrix (node${process.env.FLAGCORE_IMPL === 'wasm' ? ', wasm' : ''}): ${results.length} passed, 0 failed\n  ${results.join('\n  ')}`)
})
