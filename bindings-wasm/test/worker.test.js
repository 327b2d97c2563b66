'use strict'
// The README's Worker (examples/worker/worker.mjs), as written, in the real
// Workers runtime (workerd, through miniflare) on 127.0.0.1. It loads its
// snapshot from a local HTTP server and must answer exactly as the native
// Node package does, for 1,000 contexts.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { Miniflare } = require('miniflare')
const native = require('../../bindings-node')

const root = path.join(__dirname, '..')
const examples = path.join(root, '..', 'examples')
const snapshotText = fs.readFileSync(path.join(examples, 'snapshot.json'))

function module (name, file, type = 'ESModule') {
  return { type, path: name, contents: fs.readFileSync(file) }
}

// A Worker in workerd on 127.0.0.1: its entry module, beside the package's
// files under the names its own imports use, as after `npm install`.
function startWorker (t, entry, { flagsUrl, compatibilityDate = wrangler().compatibilityDate }) {
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    modules: [
      entry,
      module('flagcore-wasm', path.join(root, 'edge.mjs')),
      module('dist/web/flagcore.js', path.join(root, 'dist', 'web', 'flagcore.js')),
      module('dist/web/flagcore_bg.wasm', path.join(root, 'dist', 'web', 'flagcore_bg.wasm'), 'CompiledWasm'),
      module('dist/api.mjs', path.join(root, 'dist', 'api.mjs'))
    ],
    compatibilityDate,
    bindings: { FLAGS_URL: flagsUrl }
  })
  t.after(() => mf.dispose())
  return mf
}

// What examples/worker/wrangler.toml deploys: its entry, compatibility date
// and variables, which the test runs with (the URL, its own server's).
function wrangler () {
  const text = fs.readFileSync(path.join(examples, 'worker', 'wrangler.toml'), 'utf8')
  const value = (key) => (text.match(new RegExp(`^${key} = "([^"]*)"$`, 'm')) || [])[1]
  return { main: value('main'), compatibilityDate: value('compatibility_date'), flagsUrl: value('FLAGS_URL') }
}

test('the example Worker answers in workerd as the native package does', { timeout: 120_000 }, async (t) => {
  const config = wrangler()
  assert.equal(config.main, 'worker.mjs')
  assert.ok(config.compatibilityDate && config.flagsUrl, 'wrangler.toml names a compatibility date and FLAGS_URL')
  const requests = []
  const server = http.createServer((req, res) => {
    requests.push(req.headers['if-none-match'] || null)
    res.writeHead(200, { etag: '"example"', 'content-type': 'application/json' })
    res.end(snapshotText)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())

  // The Worker importing the package by its name.
  const mf = startWorker(t, module(config.main, path.join(examples, 'worker', config.main)), {
    compatibilityDate: config.compatibilityDate,
    flagsUrl: `http://127.0.0.1:${server.address().port}/flags.json`
  })

  const expected = native.Snapshot.fromJson(snapshotText)
  const emails = ['ana@example.com', 'sam@shop.test', 'kim@corp.example', null]
  for (let i = 0; i < 1000; i++) {
    const key = i % 10 === 0 ? `user-${1000 + (i % 7)}` : `user-${i * 7919}`
    const email = emails[i % emails.length]
    const query = new URLSearchParams({ user: key })
    if (email) query.set('email', email)
    const response = await mf.dispatchFetch(`http://127.0.0.1/?${query}`)
    assert.equal(response.status, 200)
    const answer = await response.json()
    const user = { kind: 'user', key, email }
    assert.deepEqual(answer, {
      newCheckout: { ...expected.boolVariationDetail('new-checkout', user, false) },
      theme: { ...expected.stringVariationDetail('checkout-theme', user, 'classic') }
    }, `user ${key}`)
  }
  // One load for the thousand requests: the Worker kept its snapshot.
  assert.equal(requests.length, 1)
})

test('a Worker reads the published layout in workerd: the head polled, the chunks when it changed', { timeout: 120_000 }, async (t) => {
  const zlib = require('node:zlib')
  const files = new Map()
  const requests = []
  let version = 0
  const publish = (snapshot) => {
    const { head, chunks } = snapshot.publish()
    native.Snapshot.publishedHead(head).chunks.forEach((chunk, i) => files.set(chunk.name, zlib.gzipSync(chunks[i])))
    files.set('head.json', Buffer.from(head))
    version++
  }
  const server = http.createServer((req, res) => {
    const name = req.url.replace(/^\/flags\//, '')
    requests.push(name)
    const body = files.get(name)
    const etag = `"${name === 'head.json' ? `h${version}` : 'chunk'}"`
    if (!body) return res.writeHead(404).end()
    if (req.headers['if-none-match'] === etag) return res.writeHead(304, { etag }).end()
    res.writeHead(200, { etag }).end(body)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const worker = `import { FlagClient } from 'flagcore-wasm'
let flags
export default {
  async fetch (request, env) {
    flags ??= new FlagClient({ source: { published: { url: env.FLAGS_URL } }, ttlSeconds: 0 })
    const user = { kind: 'user', key: new URL(request.url).searchParams.get('user') }
    return Response.json({ theme: await flags.stringVariationDetail('checkout-theme', user, 'classic'), id: flags.status().snapshotId })
  }
}`
  const mf = startWorker(t, { type: 'ESModule', path: 'worker.mjs', contents: worker }, { flagsUrl: `http://127.0.0.1:${server.address().port}/flags/` })

  const first = native.Snapshot.fromJson(snapshotText)
  publish(first)
  const ask = async (key) => (await mf.dispatchFetch(`http://127.0.0.1/?user=${key}`)).json()
  for (let i = 0; i < 50; i++) {
    const key = `user-${i * 7919}`
    assert.deepEqual(await ask(key), { theme: { ...first.stringVariationDetail('checkout-theme', { kind: 'user', key }, 'classic') }, id: first.id })
  }
  // Unchanged: each request reads the head alone.
  assert.deepEqual(requests.filter((name) => name !== 'head.json'), [`snapshots/${first.id}/0.json.gz`])

  // A new snapshot: the Worker reads it once the head names it.
  const document = JSON.parse(snapshotText)
  document.flags['checkout-theme'].on = false
  const second = native.Snapshot.fromJson(JSON.stringify(document))
  publish(second)
  const answer = await ask('user-1')
  assert.equal(answer.id, second.id)
  assert.equal(answer.theme.reason.kind, 'OFF')
})

test('in workerd, a request never waits on a refresh another request started: it answers from the snapshot held', { timeout: 120_000 }, async (t) => {
  // workerd cancels, as hung, a request that waits on another request's
  // I/O once its own is done: under load, every request that joined a slow
  // refresh failed so. Here the second request must not wait for the first's.
  const zlib = require('node:zlib')
  const snapshot = native.Snapshot.fromJson(snapshotText)
  const { head, chunks } = snapshot.publish()
  const files = new Map([['head.json', Buffer.from(head)]])
  native.Snapshot.publishedHead(head).chunks.forEach((chunk, i) => files.set(chunk.name, zlib.gzipSync(chunks[i])))
  let heads = 0
  const server = http.createServer((req, res) => {
    const name = req.url.replace(/^\/flags\//, '')
    // The first load is quick; every refresh after it takes 1.5 s.
    const delay = name === 'head.json' && heads++ > 0 ? 1500 : 0
    setTimeout(() => files.has(name) ? res.writeHead(200).end(files.get(name)) : res.writeHead(404).end(), delay)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => server.close())
  const worker = `import { FlagClient } from 'flagcore-wasm'
let flags
export default {
  async fetch (request, env) {
    flags ??= new FlagClient({ source: { published: { url: env.FLAGS_URL } }, ttlSeconds: 0.2 })
    const { user } = await request.json()
    return Response.json(await flags.boolVariationDetail('new-checkout', { kind: 'user', key: user }, false))
  }
}`
  const mf = startWorker(t, { type: 'ESModule', path: 'worker.mjs', contents: worker }, { flagsUrl: `http://127.0.0.1:${server.address().port}/flags/` })
  const ask = async (user) => {
    const started = Date.now()
    const response = await mf.dispatchFetch('http://127.0.0.1/', { method: 'POST', body: JSON.stringify({ user }) })
    const text = await response.text()
    assert.equal(response.status, 200, `${user}: ${text.slice(0, 300)}`)
    assert.deepEqual(JSON.parse(text), { ...snapshot.boolVariationDetail('new-checkout', { kind: 'user', key: user }, false) })
    return Date.now() - started
  }
  await ask('first')
  await new Promise((resolve) => setTimeout(resolve, 400))
  // The time to live has passed: this request refreshes, slowly.
  const refreshing = ask('refreshes')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const waited = await ask('meanwhile')
  assert.ok(waited < 1000, `a request waited ${waited} ms on another request's refresh`)
  assert.ok(await refreshing >= 1400)
  assert.equal(heads, 2)
})

test('the docs show the Worker as it is', () => {
  const { docsText } = require('../../bindings-node/test/typescript.js')
  const worker = fs.readFileSync(path.join(examples, 'worker', 'worker.mjs'), 'utf8')
  assert.ok(docsText().includes(worker), 'README.md and docs/ do not show examples/worker/worker.mjs as it is')
})
