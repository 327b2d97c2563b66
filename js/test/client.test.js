'use strict'
// FlagClient with file and URL sources: time to live on the wall clock,
// single-flight refreshes, stale-on-error, cold starts, offline mode.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { FlagClient, Snapshot } = require('./impl.js')

// The file source needs Node's file system; the WASM package has no such source.
const nodeOnly = { skip: process.env.FLAGCORE_IMPL === 'wasm' && 'the WASM package has no file source' }

const user = { kind: 'user', key: 'user-1' }
const quiet = { warn () {} }

function flags (value, version = 1) {
  return JSON.stringify({
    flags: { banner: { key: 'banner', version, on: true, variations: [value], fallthrough: { variation: 0 } } },
    segments: {}
  })
}

function clock (start = 1_700_000_000_000) {
  const now = () => clock.time
  clock.time = start
  return now
}

test('a file source is re-read after the time to live, and only when it changed', nodeOnly, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-'))
  const file = path.join(dir, 'flags.json')
  fs.writeFileSync(file, flags('one'))
  const now = clock()
  const client = new FlagClient({ source: { file }, ttlSeconds: 30, now, logger: quiet })
  assert.equal(await client.variation('banner', user, 'default'), 'one')
  const first = await client.snapshot()

  fs.writeFileSync(file, flags('two', 2))
  clock.time += 29_000
  assert.equal(await client.variation('banner', user, 'default'), 'one', 'within the time to live')
  clock.time += 1_000
  assert.equal(await client.variation('banner', user, 'default'), 'two', 'after the time to live')

  clock.time += 30_000
  const second = await client.snapshot()
  clock.time += 30_000
  assert.equal(await client.snapshot(), second, 'an unchanged file is not parsed again')
  assert.notEqual(first.id, second.id)
})

function serve (handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

test('a URL source revalidates with its ETag, keeps the last good snapshot on errors, and refreshes once for concurrent callers', async (t) => {
  let body = flags('one')
  let etag = '"v1"'
  let failing = false
  const requests = []
  const server = await serve((req, res) => {
    requests.push(req.headers['if-none-match'] || null)
    if (failing) {
      res.writeHead(503)
      return res.end('down')
    }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304)
      return res.end()
    }
    setTimeout(() => {
      res.writeHead(200, { etag, 'content-type': 'application/json' })
      res.end(body)
    }, 20)
  })
  t.after(() => server.close())
  const url = `http://127.0.0.1:${server.address().port}/flags.json`
  const now = clock()
  const warnings = []
  const client = new FlagClient({ source: { url }, ttlSeconds: 10, now, logger: { warn: (m) => warnings.push(m) } })

  // Ten callers at a cold start share one request.
  const answers = await Promise.all(Array.from({ length: 10 }, () => client.variation('banner', user, 'default')))
  assert.deepEqual(answers, Array(10).fill('one'))
  assert.equal(requests.length, 1)
  const loaded = await client.snapshot()

  clock.time += 10_000
  assert.equal(await client.snapshot(), loaded, 'a 304 keeps the same snapshot')
  assert.deepEqual(requests.slice(1), ['"v1"'])

  body = flags('two', 2)
  etag = '"v2"'
  clock.time += 10_000
  assert.equal(await client.variation('banner', user, 'default'), 'two')

  failing = true
  clock.time += 10_000
  const detail = await client.variationDetail('banner', user, 'default')
  assert.equal(detail.value, 'two', 'the last good snapshot still answers')
  const status = client.status()
  assert.match(status.lastError.message, /503/)
  assert.equal(status.ageMs, 10_000)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /serving the snapshot loaded 10 s ago/)

  // Right after a failure, calls do not wait for the source again.
  const before = requests.length
  await client.variation('banner', user, 'default')
  assert.equal(requests.length, before)
})

test('a cold start with no reachable source answers defaults with CLIENT_NOT_READY', async () => {
  const client = new FlagClient({ source: { url: 'http://127.0.0.1:9/flags.json', timeoutMs: 500 }, logger: quiet })
  const detail = await client.boolVariationDetail('banner', user, true)
  assert.deepEqual(detail, { value: true, variationIndex: null, reason: { kind: 'ERROR', errorKind: 'CLIENT_NOT_READY' } })
  assert.equal(await client.stringVariation('banner', user, 'fallback'), 'fallback')
  assert.equal((await client.allFlagsState(user)).valid, false)
  assert.equal(client.status().ready, false)
})

test('a source that answers a bad snapshot keeps the last good one and reports the SnapshotError', async () => {
  let body = flags('one')
  const client = new FlagClient({
    source: { describe: () => 'test source', load: async () => Snapshot.fromJson(body) },
    ttlSeconds: 0,
    logger: quiet
  })
  assert.equal(await client.variation('banner', user, 'default'), 'one')
  body = '{"flags": {"banner": {"on": "yes"}}}'
  await new Promise((resolve) => setTimeout(resolve, 5))
  await client.refresh()
  assert.equal(await client.variation('banner', user, 'default'), 'one')
  assert.equal(client.status().lastError.code, 'FLAG_INVALID')
  assert.equal(client.status().lastError.path, '$.flags.banner.on')
})

test('offline mode answers every flag with its default and touches no source', async () => {
  const client = new FlagClient({ offline: true, source: { load: () => assert.fail('the source was read') } })
  assert.equal(await client.variation('anything', user, 42), 42)
  const detail = await client.variationDetail('anything', user, 42)
  assert.deepEqual(detail.reason, { kind: 'ERROR', errorKind: 'CLIENT_NOT_READY' })
  assert.equal(client.status().offline, true)
})

test('a context without a key is reported once per client, naming the flag and the fix', async () => {
  const snapshot = Snapshot.fromJson(flags('on'))
  const warnings = []
  const client = new FlagClient({ source: { load: async () => snapshot, describe: () => 'test' }, logger: { warn: (m) => warnings.push(m) } })
  for (let i = 0; i < 3; i++) {
    assert.equal(await client.variation('banner', { kind: 'user', name: 'no key' }, 'fallback'), 'fallback')
    const detail = await client.variationDetail('banner', { kind: 'user', key: '' }, 'fallback')
    assert.deepEqual(detail.reason, { kind: 'ERROR', errorKind: 'USER_NOT_SPECIFIED' })
  }
  assert.equal(warnings.length, 1, warnings.join('\n'))
  assert.match(warnings[0], /flag "banner" answered its default \(ERROR\/USER_NOT_SPECIFIED\).*non-empty "key"/)
  // A missing flag, or a valid context, is no reason to warn.
  const others = []
  const other = new FlagClient({ source: { load: async () => snapshot, describe: () => 'test' }, logger: { warn: (m) => others.push(m) } })
  assert.equal(await other.variation('missing-flag', user, 'x'), 'x')
  assert.equal(await other.variation('banner', user, 'x'), 'on')
  assert.deepEqual(others, [])
})
