'use strict'
// `flagcore sync launchdarkly` against the local stand-in for LaunchDarkly
// (launchdarkly-standin.js, which LaunchDarkly's Node SDK reads in
// launchdarkly.test.js) and dynalite, read back by this package's published
// source. The CLI is this checkout's (make test-node builds it).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile } = require('node:child_process')

if (process.env.FLAGCORE_IMPL === 'wasm' || process.env.FLAGCORE_PACKAGE) {
  test('flagcore sync launchdarkly', { skip: 'run once, with the flagcore package of this checkout' }, () => {})
  return // a CommonJS module may end early
}

const { DynamoDBClient } = require('@aws-sdk/client-dynamodb')
const { FlagClient } = require('..')
const { startDynalite, stop, createTable } = require('./dynalite.js')
const { startLaunchDarkly } = require('./launchdarkly-standin.js')

const cli = process.env.FLAGCORE_CLI || path.join(__dirname, '..', '..', 'target', 'debug', 'flagcore')
const SDK_KEY = 'sdk-cli-test-key-never-printed'
const quiet = { warn () {} }

function banner (value) {
  return { flags: { banner: { key: 'banner', on: true, variations: [value], fallthrough: { variation: 0 } } }, segments: {} }
}

// The CLI, run without blocking this process: the stand-in answers from it.
function run (args, env) {
  return new Promise((resolve) => {
    execFile(cli, args, { env, encoding: 'utf8' }, (error, stdout, stderr) => resolve({ status: error ? error.code : 0, stdout, stderr }))
  })
}

test('flagcore sync launchdarkly publishes LaunchDarkly\'s flags to a directory and to DynamoDB', async (t) => {
  assert.ok(fs.existsSync(cli), `no CLI at ${cli}: cargo build -p flagcore-cli`)
  const ld = await startLaunchDarkly({ sdkKey: SDK_KEY, payload: banner('first') })
  t.after(() => ld.close())
  const server = await startDynalite()
  t.after(() => stop(server))
  const db = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
  await createTable(db, 'flags')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flagcore-cli-sync-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const env = {
    PATH: process.env.PATH,
    LAUNCHDARKLY_SDK_KEY: SDK_KEY,
    AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test'
  }
  const sync = (to, extra = [], more = {}) => run(['sync', 'launchdarkly', '--to', to, '--base-uri', ld.baseUri, '--json', ...extra], { ...env, ...more })
  const read = (source) => new FlagClient({ source: { published: source }, ttlSeconds: 0, logger: quiet }).variation('banner', { key: 'u' }, 'default')

  for (const [to, source] of [[dir, { directory: dir }], ['dynamodb:flags/prod', { table: 'flags', prefix: 'prod', client: db }]]) {
    const before = ld.requests.length
    const first = await sync(to)
    assert.equal(first.status, 0, first.stderr)
    assert.equal(JSON.parse(first.stdout).unchanged, false)
    assert.equal(await read(source), 'first')
    const again = await sync(to)
    assert.equal(again.status, 0, again.stderr)
    assert.equal(JSON.parse(again.stdout).unchanged, true, 'the same content writes nothing')
    const asked = ld.requests.slice(before)
    assert.equal(asked.length, 2, 'one request per run')
    assert.equal(asked[0].authorization, SDK_KEY)
    assert.match(asked[0].userAgent, /^flagcore\/\d/)
  }

  ld.change(banner('second'))
  ld.fail({ status: 503 })
  const retried = await sync(dir, ['--filter', 'server side'])
  assert.equal(retried.status, 0, retried.stderr)
  assert.equal(ld.requests.at(-1).filter, 'server side')
  assert.equal(await read({ directory: dir }), 'second')

  const refused = await sync(dir, [], { LAUNCHDARKLY_SDK_KEY: 'sdk-wrong' })
  assert.equal(refused.status, 1)
  assert.match(refused.stderr, /LAUNCHDARKLY_UNAUTHORIZED: .*answered 401: .*LAUNCHDARKLY_SDK_KEY/)
  assert.ok(!refused.stderr.includes('sdk-wrong') && !refused.stderr.includes(SDK_KEY), 'no message holds the key')

  ld.change(banner('third'))
  ld.fail({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 })
  const down = await sync(dir)
  assert.equal(down.status, 1)
  assert.match(down.stderr, /LAUNCHDARKLY_UNAVAILABLE: .*failed 4 times .*what was published stays/)
  ld.fail({ text: 'not json' })
  const broken = await sync(dir)
  assert.equal(broken.status, 1)
  assert.match(broken.stderr, /LAUNCHDARKLY_PAYLOAD_INVALID/)
  assert.equal(await read({ directory: dir }), 'second', 'what was published stays')

  const unset = await run(['sync', 'launchdarkly', '--to', dir, '--base-uri', ld.baseUri], { PATH: process.env.PATH })
  assert.equal(unset.status, 1)
  assert.match(unset.stderr, /set LAUNCHDARKLY_SDK_KEY/)
})
