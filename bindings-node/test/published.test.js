'use strict'
// flagcore's published layout: published to DynamoDB (dynalite, started here
// on 127.0.0.1 and a free port, stopped by its process id) and served over
// HTTP (test/origin.js), read by FlagClient, and
// every fault the layout guards against.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const zlib = require('node:zlib')
const {
  DynamoDBClient, GetItemCommand, PutItemCommand, DeleteItemCommand
} = require('@aws-sdk/client-dynamodb')
const { Snapshot, FlagClient } = require('../../js/test/impl.js')
const { serve } = require('./origin.js')
// The writer is the native engine's (the edge only reads): snapshots to
// publish come from the flagcore package, whichever engine reads them here.
const Publisher = require('..').Snapshot

const user = { kind: 'user', key: 'user-1' }
const quiet = { warn () {} }

function snapshotOf (flags) {
  const all = {}
  for (const [key, value] of Object.entries(flags)) all[key] = { key, on: true, variations: [value], fallthrough: { variation: 0 } }
  return Publisher.fromJson(JSON.stringify({ flags: all, segments: {} }))
}

// A snapshot of one flag of about 2 MB: 130,000 individually targeted keys.
function bigSnapshot () {
  const values = Array.from({ length: 130_000 }, (_, n) => `user-${String(n).padStart(8, '0')}`)
  const big = { key: 'big', on: true, variations: [false, true], fallthrough: { variation: 0 }, targets: [{ variation: 1, values }] }
  return Publisher.fromJson(JSON.stringify({ flags: { big }, segments: {} }))
}

test('a published snapshot reads back whole, and a chunk that was changed does not', () => {
  const big = bigSnapshot()
  const { head, chunks } = big.publish({ now: 1_700_000_000_000 })
  const parsed = Snapshot.publishedHead(head)
  assert.equal(parsed.id, big.id)
  assert.equal(parsed.publishedAt, 1_700_000_000_000)
  assert.ok(parsed.size > 2_000_000 && chunks.length === parsed.chunks.length && chunks.length >= 7, `${parsed.size} bytes in ${chunks.length} chunks`)
  assert.ok(chunks.every((chunk) => chunk.length <= 320 * 1024))
  const back = Snapshot.fromPublished(head, chunks)
  assert.equal(back.id, big.id)
  assert.equal(back.variation('big', { kind: 'user', key: 'user-00129999' }, null), true)
  const changed = chunks.map((chunk) => Buffer.from(chunk))
  changed[3][100] ^= 1
  assert.throws(() => Snapshot.fromPublished(head, changed), { name: 'SnapshotError', code: 'PUBLISHED_CHUNK_CORRUPT', path: '$.chunks[3]' })
  assert.throws(() => Snapshot.fromPublished(head, chunks.slice(0, 2)), { code: 'PUBLISHED_CHUNK_MISSING', path: '$.chunks[2]' })
  assert.throws(() => Snapshot.publishedHead('{"format": "flagcore-published/9"}'), { code: 'PUBLISHED_FORMAT_UNKNOWN' })
  assert.throws(() => Snapshot.publishedHead('{"format": "launchdarkly"}'), { code: 'PUBLISHED_HEAD_INVALID' })
})

test('FlagClient polls a published URL with one conditional GET of the head', async (t) => {
  const origin = await serve()
  t.after(() => origin.close())
  origin.publish(snapshotOf({ banner: 'first' }))
  const client = new FlagClient({ source: { published: { url: origin.url } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await client.variation('banner', user, 'default'), 'first')
  assert.deepEqual(origin.requests.splice(0), ['head.json', `snapshots/${(await client.snapshot()).id}/0.json.gz`])

  // Unchanged: the head answers 304, and nothing else is read.
  const held = await client.snapshot()
  assert.equal(await client.variation('banner', user, 'default'), 'first')
  assert.equal(await client.snapshot(), held)
  assert.ok(origin.requests.length >= 1 && origin.requests.every((name) => name === 'head.json'), origin.requests.join())
  origin.requests.length = 0

  // Changed: the new head, then its chunks.
  const second = snapshotOf({ banner: 'second' })
  origin.publish(second)
  assert.equal(await client.variation('banner', user, 'default'), 'second')
  assert.equal(client.status().snapshotId, second.id)

  // A head whose chunk is gone (it expired): the last good snapshot stays, and status() says why.
  const third = snapshotOf({ banner: 'third' })
  origin.publish(third)
  const chunk = `snapshots/${third.id}/0.json.gz`
  const saved = origin.files.get(chunk)
  origin.files.delete(chunk)
  assert.equal(await client.variation('banner', user, 'default'), 'second')
  assert.equal(client.status().lastError.code, 'PUBLISHED_CHUNK_MISSING')
  // Once it is there (the head unchanged), the next refresh takes it: a
  // failed read never counts as unchanged.
  origin.files.set(chunk, saved)
  assert.equal(await client.variation('banner', user, 'default'), 'third')
  assert.equal(client.status().lastError, null)

  // A chunk that is not gzip, or not the head's, is corrupt.
  const fourth = snapshotOf({ banner: 'fourth' })
  origin.publish(fourth)
  origin.files.set(`snapshots/${fourth.id}/0.json.gz`, { bytes: Buffer.from('not gzip'), etag: 'x' })
  assert.equal(await client.variation('banner', user, 'default'), 'third')
  assert.equal(client.status().lastError.code, 'PUBLISHED_CHUNK_CORRUPT')
})

test('a published source is polled every 5 s unless told otherwise', async (t) => {
  const origin = await serve()
  t.after(() => origin.close())
  origin.publish(snapshotOf({ banner: 'first' }))
  let clock = 1_000_000
  const client = new FlagClient({ source: { published: { url: origin.url } }, now: () => clock, logger: quiet })
  assert.equal(await client.variation('banner', user, 'default'), 'first')
  origin.requests.length = 0
  clock += 4_900
  await client.variation('banner', user, 'default')
  assert.deepEqual(origin.requests, [])
  clock += 200
  await client.variation('banner', user, 'default')
  assert.deepEqual(origin.requests, ['head.json'])
  const told = new FlagClient({ source: { published: { url: origin.url } }, ttlSeconds: 60, now: () => clock, logger: quiet })
  await told.variation('banner', user, 'default')
  origin.requests.length = 0
  clock += 30_000
  await told.variation('banner', user, 'default')
  assert.deepEqual(origin.requests, [])
})

test('a published read has one deadline for the head and all its chunks', async (t) => {
  const origin = await serve()
  t.after(() => origin.close())
  origin.publish(bigSnapshot())
  // Each chunk answers 400 ms late: read together they take about that long;
  // with a deadline of 300 ms for the whole read, the read fails at it.
  const slow = http.createServer((request, response) => {
    const name = new URL(request.url, 'http://x').pathname.replace(/^\/flags\//, '')
    const file = origin.files.get(name)
    const answer = () => (file ? response.writeHead(200).end(file.bytes) : response.writeHead(404).end())
    if (name.endsWith('.gz')) setTimeout(answer, 400)
    else answer()
  })
  await new Promise((resolve) => slow.listen(0, '127.0.0.1', resolve))
  t.after(() => slow.close())
  const url = `http://127.0.0.1:${slow.address().port}/flags`
  const started = Date.now()
  const client = new FlagClient({ source: { published: { url } }, logger: quiet })
  assert.equal(await client.variation('big', { kind: 'user', key: 'user-00129999' }, null), true)
  const chunks = Snapshot.publishedHead(origin.files.get('head.json').bytes).chunks.length
  assert.ok(chunks >= 7 && Date.now() - started < 400 * chunks / 2, `${chunks} chunks took ${Date.now() - started} ms`)
  const late = new FlagClient({ source: { published: { url, timeoutMs: 300 } }, logger: quiet })
  const before = Date.now()
  assert.equal(await late.variation('big', { kind: 'user', key: 'user-00129999' }, null), null)
  assert.ok(Date.now() - before < 390, `the read failed after ${Date.now() - before} ms`)
  assert.match(late.status().lastError.message, /did not finish within 300 ms/)
})

test('a decompression bomb is never inflated past the size its head gives', () => {
  // In a process of its own, to read its peak memory: a 256 MiB chunk of
  // zeros (about 256 KB stored, under DynamoDB's item limit) behind a head
  // that gives 49 bytes.
  const { execFileSync } = require('node:child_process')
  const script = `
    const zlib = require('node:zlib')
    const { FlagClient, Snapshot } = require(${JSON.stringify(require.resolve('../../js/test/impl.js'))})
    const doc = { flags: { f: { key: 'f', on: true, variations: [false, true], fallthrough: { variation: 1 } } }, segments: {} }
    const { head } = require(${JSON.stringify(require.resolve('..'))}).Snapshot.fromJson(JSON.stringify(doc)).publish({ now: 1 })
    const bomb = zlib.gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 9 })
    const store = { describe: () => 'bomb', head: async () => ({ text: head, tag: 1 }), chunks: async () => [bomb], generationHead: async () => null }
    global.gc && global.gc()
    const before = process.resourceUsage().maxRSS
    const client = new FlagClient({ source: { published: { store } }, logger: { warn () {} } })
    client.variation('f', { key: 'u' }, 'default').then((value) => {
      const grew = process.resourceUsage().maxRSS - before
      console.log(JSON.stringify({ value, code: client.status().lastError.code, grewKiB: grew, stored: bomb.length }))
    })`
  const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: process.env }).toString())
  assert.equal(result.value, 'default')
  assert.equal(result.code, 'PUBLISHED_CHUNK_CORRUPT')
  assert.ok(result.stored < 400 * 1024, 'the bomb fits a DynamoDB item')
  assert.ok(result.grewKiB < 32 * 1024, `peak RSS grew by ${result.grewKiB} KiB`)
})

// A gzip member of `bytes`, padded to `total` bytes with a header comment.
function gzipPaddedTo (bytes, total) {
  const gz = zlib.gzipSync(bytes)
  const header = Buffer.from(gz.subarray(0, 10))
  header[3] |= 0x10
  return Buffer.concat([header, Buffer.alloc(total - gz.length - 1, 0x78), Buffer.from([0]), gz.subarray(10)])
}

test('an HTTP reader takes a head and a stored chunk up to their bounds, and stops reading past them', async (t) => {
  const origin = await serve()
  t.after(() => origin.close())
  const first = snapshotOf({ banner: 'first' })
  origin.publish(first)
  const client = new FlagClient({ source: { published: { url: origin.url } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await client.variation('banner', user, 'default'), 'first')
  const { limits } = require('../../js/test/impl.js')
  const headText = origin.files.get('head.json').bytes.toString()
  const setHead = (total) => origin.files.set('head.json', { bytes: Buffer.from(headText + ' '.repeat(total - headText.length)), etag: `h${total}` })
  setHead(limits.headBytes + 1)
  await client.variation('banner', user, 'default')
  assert.match(client.status().lastError.message, /more than the 262144 bytes a head holds/)
  setHead(limits.headBytes)
  await client.variation('banner', user, 'default')
  assert.equal(client.status().lastError, null)

  const second = snapshotOf({ banner: 'second' })
  origin.publish(second)
  const name = `snapshots/${second.id}/0.json.gz`
  const plain = zlib.gunzipSync(origin.files.get(name).bytes)
  origin.files.set(name, { bytes: gzipPaddedTo(plain, limits.storedChunkBytes + 1), etag: 'past' })
  assert.equal(await client.variation('banner', user, 'default'), 'first')
  assert.equal(client.status().lastError.code, 'PUBLISHED_CHUNK_CORRUPT')
  origin.files.set(name, { bytes: gzipPaddedTo(plain, limits.storedChunkBytes), etag: 'at' })
  assert.equal(await client.variation('banner', user, 'default'), 'second')
})

if (process.env.FLAGCORE_IMPL === 'wasm') {
  test('the published layout in DynamoDB', { skip: 'DynamoDB is the flagcore package\'s, not flagcore-wasm\'s' }, () => {})
  return // a CommonJS module may end early
}
const { publish, PublishRace } = require('..')
const { startDynalite, stop, createTable } = require('./dynalite.js')

test('the published layout in DynamoDB: published, polled, and every fault', async (t) => {
  const server = await startDynalite()
  t.after(() => stop(server))
  const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  await createTable(db, 'flags')
  const to = { table: 'flags', prefix: 'prod', client: db }
  const commands = []
  const counting = { send: (command, options) => { commands.push(command.constructor.name); return db.send(command, options) } }

  await t.test('publish writes nothing when the content id is unchanged', async () => {
    const first = snapshotOf({ banner: 'first' })
    const published = await publish(first, to)
    assert.deepEqual({ ...published, bytes: published.bytes > 0 }, { id: first.id, unchanged: false, chunks: 1, bytes: true })
    const again = await publish(snapshotOf({ banner: 'first' }), to)
    assert.deepEqual(again, { id: first.id, unchanged: true, chunks: 0, bytes: 0 })
    // A head that does not read (a broken write) is replaced, not a dead end.
    const head = await db.send(new GetItemCommand({ TableName: 'flags', Key: { namespace: { S: 'prod:flagcore' }, key: { S: 'head.json' } } }))
    await db.send(new PutItemCommand({ TableName: 'flags', Item: { ...head.Item, head: { S: 'not a head' } } }))
    assert.equal((await publish(snapshotOf({ banner: 'first' }), to)).unchanged, false)
    assert.equal((await publish(snapshotOf({ banner: 'first' }), to)).unchanged, true)
  })

  const client = new FlagClient({ source: { published: { table: 'flags', prefix: 'prod', client: counting } }, ttlSeconds: 0, logger: quiet })

  await t.test('a refresh is one GetItem of the head; the chunks are read when the id changed', async () => {
    assert.equal(await client.variation('banner', user, 'default'), 'first')
    assert.deepEqual(commands.splice(0), ['GetItemCommand', 'BatchGetItemCommand'])
    assert.equal(await client.variation('banner', user, 'default'), 'first')
    assert.deepEqual(commands.splice(0), ['GetItemCommand'])
    await publish(snapshotOf({ banner: 'second' }), to)
    assert.equal(await client.variation('banner', user, 'default'), 'second')
    assert.deepEqual(commands.splice(0), ['GetItemCommand', 'BatchGetItemCommand'])
  })

  await t.test('the replaced generation expires through the TTL attribute', async () => {
    const old = snapshotOf({ banner: 'first' }).id
    const item = await db.send(new GetItemCommand({ TableName: 'flags', Key: chunkKey('prod', old, 0) }))
    const ttl = Number(item.Item.ttl.N)
    const day = 24 * 60 * 60
    assert.ok(Math.abs(ttl - (Date.now() / 1000 + day)) < 60, `ttl ${ttl}`)
    const current = (await client.snapshot()).id
    const live = await db.send(new GetItemCommand({ TableName: 'flags', Key: chunkKey('prod', current, 0) }))
    assert.equal(live.Item.ttl, undefined, 'the current generation never expires')
  })

  await t.test('a 2 MB flag is published in chunks and read back', async () => {
    const big = bigSnapshot()
    const published = await publish(big, to)
    assert.ok(published.chunks >= 7, `${published.chunks} chunks`)
    assert.equal(await client.variation('big', { kind: 'user', key: 'user-00129999' }, null), true)
    assert.equal(client.status().snapshotId, big.id)
  })

  await t.test('a publisher that dies between the chunks and the head changes nothing', async () => {
    const held = client.status().snapshotId
    const orphan = snapshotOf({ banner: 'orphan' })
    const { head, chunks } = orphan.publish()
    const name = Snapshot.publishedHead(head).chunks[0].name
    await db.send(new PutItemCommand({ TableName: 'flags', Item: { namespace: { S: 'prod:flagcore' }, key: { S: name }, data: { B: zlib.gzipSync(chunks[0]) } } }))
    await client.refresh()
    assert.equal(client.status().snapshotId, held)
    assert.equal(client.status().lastError, null)
  })

  await t.test('of two racing publishers, one writes the head and the other is told', async () => {
    const results = await Promise.allSettled([publish(snapshotOf({ banner: 'a' }), to), publish(snapshotOf({ banner: 'b' }), to)])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r) => r.status === 'rejected')
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.reason && r.reason.message)))
    assert.ok(lost[0].reason instanceof PublishRace)
    await client.refresh()
    assert.equal(client.status().snapshotId, won[0].value.id)
  })

  await t.test('a head that points at an expired generation keeps the last good snapshot', async () => {
    const before = await client.variation('banner', user, 'default')
    const held = client.status().snapshotId
    const next = snapshotOf({ banner: 'expired' })
    await publish(next, to)
    await db.send(new DeleteItemCommand({ TableName: 'flags', Key: chunkKey('prod', next.id, 0) }))
    assert.equal(await client.variation('banner', user, 'default'), before)
    assert.equal(client.status().snapshotId, held)
    assert.equal(client.status().lastError.code, 'PUBLISHED_CHUNK_MISSING')
  })

  await t.test('a chunk whose hash does not match keeps the last good snapshot', async () => {
    const held = client.status().snapshotId
    const next = snapshotOf({ banner: 'corrupt' })
    await publish(next, to)
    const other = snapshotOf({ banner: 'xorrupt' }).publish().chunks[0]
    await db.send(new PutItemCommand({ TableName: 'flags', Item: { ...chunkKey('prod', next.id, 0), data: { B: zlib.gzipSync(other) } } }))
    await client.refresh()
    assert.equal(client.status().snapshotId, held)
    assert.equal(client.status().lastError.code, 'PUBLISHED_CHUNK_CORRUPT')
  })

  await t.test('a chunk read that fails keeps the last good snapshot', async () => {
    let failing = false
    const flaky = {
      send: (command, options) => failing && command.constructor.name === 'BatchGetItemCommand'
        ? Promise.reject(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }))
        : db.send(command, options)
    }
    const reader = new FlagClient({ source: { published: { table: 'flags', prefix: 'prod', client: flaky } }, ttlSeconds: 0, logger: quiet })
    const before = await reader.variation('banner', user, 'default')
    const held = reader.status().snapshotId
    failing = true
    await publish(snapshotOf({ banner: 'unreadable' }), to)
    assert.equal(await reader.variation('banner', user, 'default'), before)
    assert.equal(reader.status().snapshotId, held)
    assert.match(reader.status().lastError.message, /slow down/)
  })
})

function chunkKey (prefix, id, n) {
  return { namespace: { S: `${prefix}:flagcore` }, key: { S: `snapshots/${id}/${n}.json.gz` } }
}

test('the sync handler publishes the Relay Proxy table when it changed, invoked as Lambda does', async (t) => {
  const server = await startDynalite()
  t.after(() => stop(server))
  const saved = { ...process.env }
  t.after(() => { process.env = saved })
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: server.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
    FLAGCORE_RELAY_TABLE: 'relay', FLAGCORE_RELAY_PREFIX: 'prod'
  })
  const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  await createTable(db, 'relay')
  const relayFlag = (value, version) => ({
    namespace: { S: 'prod:features' }, key: { S: 'banner' }, version: { N: String(version) },
    item: { S: JSON.stringify({ key: 'banner', version, on: true, variations: [value], fallthrough: { variation: 0 } }) }
  })
  const { handler } = require('../sync.js')

  // Nothing written by the Relay yet: refused, and nothing is published.
  await assert.rejects(handler({}), { code: 'DYNAMODB_EMPTY' })
  await db.send(new PutItemCommand({ TableName: 'relay', Item: relayFlag('first', 1) }))
  await db.send(new PutItemCommand({ TableName: 'relay', Item: { namespace: { S: 'prod:$inited' }, key: { S: 'prod:$inited' } } }))
  const first = await handler({ Records: [] })
  assert.equal(first.unchanged, false)
  const reader = new FlagClient({ source: { published: { table: 'relay', prefix: 'prod', client: db } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await reader.variation('banner', user, 'default'), 'first')
  assert.deepEqual(await handler({}), { id: first.id, unchanged: true, chunks: 0, bytes: 0, warnings: [] })

  await db.send(new PutItemCommand({ TableName: 'relay', Item: relayFlag('second', 2) }))
  const second = await handler({})
  assert.notEqual(second.id, first.id)
  assert.equal(await reader.variation('banner', user, 'default'), 'second')
  assert.equal(reader.status().snapshotId, second.id)

  // The table loses its $inited marker and one of its two flags (it is being
  // written anew): sync refuses, as a { dynamodb } client of the same table
  // keeps its snapshot, and published readers keep answering the flag.
  const other = { ...relayFlag('x', 1), key: { S: 'other' }, item: { S: JSON.stringify({ key: 'other', version: 1, on: true, variations: ['kept'], fallthrough: { variation: 0 } }) } }
  await db.send(new PutItemCommand({ TableName: 'relay', Item: other }))
  const whole = await handler({})
  assert.equal(await reader.variation('other', user, 'default'), 'kept')
  const direct = new FlagClient({ source: { dynamodb: { table: 'relay', prefix: 'prod', client: db } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await direct.variation('other', user, 'default'), 'kept')
  await db.send(new DeleteItemCommand({ TableName: 'relay', Key: { namespace: { S: 'prod:$inited' }, key: { S: 'prod:$inited' } } }))
  await db.send(new DeleteItemCommand({ TableName: 'relay', Key: { namespace: { S: 'prod:features' }, key: { S: 'other' } } }))
  await assert.rejects(handler({}), { code: 'PUBLISH_REFUSED', path: '$' })
  assert.equal(await direct.variation('other', user, 'default'), 'kept')
  assert.equal(await reader.variation('other', user, 'default'), 'kept')
  assert.equal(reader.status().snapshotId, whole.id)

  // An item without data is an error `flagcore check` lists: not published.
  await db.send(new PutItemCommand({ TableName: 'relay', Item: { namespace: { S: 'prod:$inited' }, key: { S: 'prod:$inited' } } }))
  await db.send(new PutItemCommand({ TableName: 'relay', Item: { namespace: { S: 'prod:features' }, key: { S: 'broken' }, version: { N: '1' } } }))
  await assert.rejects(handler({}), { code: 'PUBLISH_REFUSED' })
  assert.equal(reader.status().snapshotId, whole.id)
  await db.send(new DeleteItemCommand({ TableName: 'relay', Key: { namespace: { S: 'prod:features' }, key: { S: 'broken' } } }))

  // A warning travels with the generation to its readers: a table first
  // synced without its marker is published, and its readers are told.
  const { createSyncHandler } = require('../sync.js')
  await db.send(new PutItemCommand({ TableName: 'relay', Item: { ...relayFlag('staged', 1), namespace: { S: 'staging:features' } } }))
  const logged = []
  const staging = createSyncHandler({ relay: { table: 'relay', prefix: 'staging', client: db }, logger: { warn: (line) => logged.push(line) } })
  const warned = await staging()
  assert.deepEqual(warned.warnings, ['STORE_NOT_INITIALIZED'])
  assert.match(logged.join('\n'), /STORE_NOT_INITIALIZED/)
  const stagingReader = new FlagClient({ source: { published: { table: 'relay', prefix: 'staging', client: db } }, logger: quiet })
  assert.equal(await stagingReader.variation('banner', user, 'default'), 'staged')
  assert.deepEqual(stagingReader.status().warnings.map((w) => w.code), ['STORE_NOT_INITIALIZED'])
})

function scratchDirectory (t) {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-dir-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const write = (snapshot) => {
    const { head, chunks } = snapshot.publish({ now: 1_700_000_000_000 })
    Snapshot.publishedHead(head).chunks.forEach((chunk, i) => {
      fs.mkdirSync(path.dirname(path.join(dir, chunk.name)), { recursive: true })
      fs.writeFileSync(path.join(dir, chunk.name), zlib.gzipSync(chunks[i]))
    })
    fs.writeFileSync(path.join(dir, 'head.json'), head)
    return head
  }
  return { dir, write, file: (name) => path.join(dir, name) }
}

test('a directory head replaced with one of the same size and modification time is read', async (t) => {
  const fs = require('node:fs')
  const { dir, write, file } = scratchDirectory(t)
  // What `aws s3 sync`, `cp -p` or `tar` leave: the same length, the same
  // whole-second modification time.
  const publishSynced = (snapshot) => {
    write(snapshot)
    fs.utimesSync(file('head.json'), 1_700_000_000, 1_700_000_000)
  }
  publishSynced(snapshotOf({ banner: 'on' }))
  const size = fs.statSync(file('head.json')).size
  const client = new FlagClient({ source: { published: { directory: dir } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await client.variation('banner', user, 'default'), 'on')
  publishSynced(snapshotOf({ banner: 'no' }))
  assert.equal(fs.statSync(file('head.json')).size, size)
  assert.equal(await client.variation('banner', user, 'default'), 'no')
})

test('{ published: { dir } }, the first name of { directory }, still reads, with a deprecation warning', async (t) => {
  const { dir, write } = scratchDirectory(t)
  write(snapshotOf({ banner: 'on' }))
  const warnings = []
  const onWarning = (warning) => warnings.push(warning)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  const client = new FlagClient({ source: { published: { dir } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await client.variation('banner', user, 'default'), 'on')
  await new Promise((resolve) => setImmediate(resolve))
  const deprecation = warnings.find((w) => w.code === 'FLAGCORE_PUBLISHED_DIR')
  assert.ok(deprecation, 'no FLAGCORE_PUBLISHED_DIR warning')
  assert.equal(deprecation.name, 'DeprecationWarning')
  assert.match(deprecation.message, /write \{ published: \{ directory \} \}/)
})

test('a directory reader takes a head and a stored chunk up to their bounds, and stops reading past them', async (t) => {
  const fs = require('node:fs')
  const { limits } = require('..')
  const { dir, write, file } = scratchDirectory(t)
  const head = write(snapshotOf({ banner: 'first' }))
  const client = new FlagClient({ source: { published: { directory: dir } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await client.variation('banner', user, 'default'), 'first')
  fs.writeFileSync(file('head.json'), head + ' '.repeat(limits.headBytes + 1 - head.length))
  await client.variation('banner', user, 'default')
  assert.match(client.status().lastError.message, /more than the 262144 bytes a head holds/)
  fs.writeFileSync(file('head.json'), head + ' '.repeat(limits.headBytes - head.length))
  await client.variation('banner', user, 'default')
  assert.equal(client.status().lastError, null)

  const second = snapshotOf({ banner: 'second' })
  const next = write(second)
  const name = file(Snapshot.publishedHead(next).chunks[0].name)
  const plain = zlib.gunzipSync(fs.readFileSync(name))
  fs.writeFileSync(name, gzipPaddedTo(plain, limits.storedChunkBytes + 1))
  assert.equal(await client.variation('banner', user, 'default'), 'first')
  assert.equal(client.status().lastError.code, 'PUBLISHED_CHUNK_CORRUPT')
  fs.writeFileSync(name, gzipPaddedTo(plain, limits.storedChunkBytes))
  assert.equal(await client.variation('banner', user, 'default'), 'second')
})
