'use strict'
// The published layout in S3: written through AWS's own @aws-sdk/client-s3
// into a local stand-in (s3-standin.js, on 127.0.0.1), read back over HTTP
// by the `{ published: { url } }` reader as through CloudFront, and synced
// there from the stand-in for LaunchDarkly by flagcore/sync.

const test = require('node:test')
const assert = require('node:assert/strict')
const { S3Client } = require('@aws-sdk/client-s3')
const { startS3 } = require('./s3-standin.js')
const { startLaunchDarkly, webhookEvent } = require('./launchdarkly-standin.js')

const skip = process.env.FLAGCORE_IMPL === 'wasm' && 'publishing is the native engine\'s'
const quiet = { warn () {}, error () {} }
const user = { kind: 'user', key: 'user-1' }

function document (value) {
  return { flags: { banner: { key: 'banner', on: true, variations: [value], fallthrough: { variation: 0 } } }, segments: {} }
}

test('publish to S3: chunks first and immutable, the head last with no-cache, conditional, and read over HTTP', { skip, timeout: 120_000 }, async (t) => {
  const { Snapshot, FlagClient, publish, PublishRace } = require('..')
  const s3 = await startS3()
  t.after(() => s3.close())
  const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const to = { bucket: 'flags', prefix: 'prod/', client }
  const snapshotOf = (value) => Snapshot.fromJson(JSON.stringify(document(value)))
  const reader = () => new FlagClient({ source: { published: { url: `${s3.endpoint}/flags/prod/` } }, ttlSeconds: 0, logger: quiet })

  const first = snapshotOf('first')
  const published = await publish(first, to)
  assert.equal(published.unchanged, false)
  const keys = s3.puts.splice(0)
  assert.deepEqual(keys, [`flags/prod/snapshots/${first.id}/0.json.gz`, 'flags/prod/head.json', `flags/prod/snapshots/${first.id}/head.json`], 'the chunks, then the head, then the generation\'s head')
  const object = (key) => s3.objects.get(`flags/prod/${key}`)
  assert.equal(object('head.json').cacheControl, 'no-cache')
  assert.equal(object(`snapshots/${first.id}/0.json.gz`).cacheControl, 'public, max-age=31536000, immutable')
  assert.equal(object(`snapshots/${first.id}/head.json`).cacheControl, 'public, max-age=31536000, immutable')
  const client1 = reader()
  assert.equal(await client1.variation('banner', user, 'default'), 'first')

  assert.equal((await publish(snapshotOf('first'), to)).unchanged, true)
  assert.deepEqual(s3.puts.splice(0), [], 'nothing written when unchanged')

  // Two publishers at once: S3's conditional write lets one head in.
  const results = await Promise.allSettled([publish(snapshotOf('left'), to), publish(snapshotOf('right'), to)])
  const lost = results.filter((r) => r.status === 'rejected')
  assert.equal(lost.length, 1, JSON.stringify(results.map((r) => r.status)))
  assert.ok(lost[0].reason instanceof PublishRace, String(lost[0].reason))
  const won = results.find((r) => r.status === 'fulfilled').value.id
  assert.equal(JSON.parse(object('head.json').body).id, won)
  assert.ok(['left', 'right'].includes(await client1.variation('banner', user, 'default')))

  // A publisher that stops between its chunks and its head leaves the head as it was.
  const before = object('head.json').etag
  const stopped = snapshotOf('stopped')
  // It dies at the head's write: the chunks are written, the head is not.
  const killedAtHead = (command) => command.constructor.name === 'PutObjectCommand' && command.input.Key === 'prod/head.json'
  const chunkOnly = { ...to, client: { send: (command, options) => killedAtHead(command) ? Promise.reject(new Error('the function was killed')) : client.send(command, options) } }
  await assert.rejects(publish(stopped, chunkOnly), /killed/)
  assert.ok(s3.objects.has(`flags/prod/snapshots/${stopped.id}/0.json.gz`), 'its chunks were written')
  assert.equal(object('head.json').etag, before, 'the head is as it was')
  assert.notEqual(await client1.variation('banner', user, 'default'), 'stopped')

  // A head past the core's bound is not read, and not replaced.
  const { limits } = require('..')
  s3.objects.set('flags/prod/head.json', { ...object('head.json'), body: Buffer.alloc(limits.headBytes + 1, 32) })
  await assert.rejects(publish(snapshotOf('over'), to), new RegExp(`past the ${limits.headBytes} a head holds: not replaced`))
})

test('flagcore/sync publishes LaunchDarkly\'s flags to S3, read through its URL', { skip, timeout: 120_000 }, async (t) => {
  const { FlagClient } = require('..')
  const { createLaunchDarklySync } = require('../sync.js')
  const s3 = await startS3()
  t.after(() => s3.close())
  const ld = await startLaunchDarkly({ sdkKey: 'sdk-s3-test', payload: document('from LaunchDarkly') })
  t.after(() => ld.close())
  const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  const sync = createLaunchDarklySync({ sdkKey: 'sdk-s3-test', baseUri: ld.baseUri, to: { bucket: 'edge', client }, webhookSecret: 'secret', logger: quiet, sleep: async () => {} })
  assert.equal((await sync({})).unchanged, false)
  const reader = new FlagClient({ source: { published: { url: `${s3.endpoint}/edge/` } }, ttlSeconds: 0, logger: quiet })
  assert.equal(await reader.variation('banner', user, 'default'), 'from LaunchDarkly')
  ld.change(document('changed'))
  const answered = await sync(webhookEvent({ kind: 'flag' }, { secret: 'secret' }))
  assert.equal(answered.statusCode, 200)
  assert.equal(await reader.variation('banner', user, 'default'), 'changed')
  assert.equal(s3.objects.get('edge/head.json').cacheControl, 'no-cache')
})
