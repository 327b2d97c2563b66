'use strict'
// Canary observability through the package: CloudWatch EMF lines from
// FlagClient.flush(), checked against the EMF specification's schema
// (tests/emf/schema.json) and CloudWatch's rules; the OpenFeature provider
// through the real @openfeature/server-sdk; OpenTelemetry span events.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const Ajv = require('ajv')
const { OpenFeature } = require('@openfeature/server-sdk')
const api = require('@opentelemetry/api')
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks')
const { FlagClient, FlagcoreProvider, Snapshot } = require('./impl.js')

const schema = require('../../tests/emf/schema.json')
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema)

const SNAPSHOT = JSON.stringify({
  flags: {
    canary: {
      key: 'canary', version: 3, on: true, salt: 'canary', variations: [false, true], offVariation: 0,
      fallthrough: { rollout: { variations: [{ variation: 1, weight: 30000 }, { variation: 0, weight: 70000 }] } }
    },
    theme: {
      key: 'theme', version: 1, on: true, variations: ['classic', 'dark'], offVariation: 0,
      rules: [{ id: 'staff', clauses: [{ attribute: 'email', op: 'endsWith', values: ['@corp.example'] }], variation: 1 }],
      fallthrough: { variation: 0 }
    },
    layout: { key: 'layout', version: 1, on: true, variations: [{ columns: 3 }], fallthrough: { variation: 0 } },
    retired: { key: 'retired', version: 9, on: false, variations: [true, false], offVariation: 1, fallthrough: { variation: 0 } }
  }
})

function memoryClient (options = {}) {
  const lines = []
  const client = new FlagClient({
    source: { describe: () => 'memory', load: async () => Snapshot.fromJson(SNAPSHOT) },
    metrics: { namespace: 'canary-test', functionName: 'checkout', write: (line) => lines.push(line) },
    ...options
  })
  return { client, lines }
}

/** The EMF schema, then CloudWatch's rules for the root: dimensions are strings, metrics numbers (at most 100). */
function checkEmf (line) {
  const doc = JSON.parse(line)
  assert.ok(validate(doc), `${line}\n${JSON.stringify(validate.errors)}`)
  for (const directive of doc._aws.CloudWatchMetrics) {
    for (const set of directive.Dimensions) {
      for (const name of set) assert.equal(typeof doc[name], 'string', `dimension ${name} of ${line}`)
    }
    for (const { Name } of directive.Metrics) {
      const value = doc[Name]
      const values = Array.isArray(value) ? value : [value]
      assert.ok(values.length >= 1 && values.length <= 100 && values.every(Number.isFinite), `metric ${Name} of ${line}`)
    }
  }
  return doc
}

test('1,000 invocations through OpenFeature: the EMF counts equal the evaluations, per variation', async () => {
  const { client, lines } = memoryClient()
  await OpenFeature.setProviderAndWait(new FlagcoreProvider(client))
  const flags = OpenFeature.getClient()
  const made = new Map()
  const count = (flag, variant) => made.set(`${flag}/${variant}`, (made.get(`${flag}/${variant}`) ?? 0) + 1)
  for (let i = 0; i < 1000; i++) {
    const user = { targetingKey: `user-${i}`, email: i % 10 ? `u${i}@shop.test` : `u${i}@corp.example` }
    const canary = await flags.getBooleanDetails('canary', false, user)
    const theme = await flags.getStringDetails('theme', 'classic', user)
    count('canary', canary.variant ?? 'default')
    count('theme', theme.variant ?? 'default')
    client.measure('Latency', canary.value ? 80 + (i % 7) : 120 + (i % 5), 'Milliseconds')
    client.measure('Errors', i % 50 === 0 ? 1 : 0, 'Count')
    client.flush()
  }
  const counted = new Map()
  let measured = 0
  for (const line of lines) {
    const doc = checkEmf(line)
    assert.equal(doc.FunctionName, 'checkout')
    assert.equal(doc._aws.CloudWatchMetrics[0].Namespace, 'canary-test')
    if ('Evaluations' in doc) {
      const key = `${doc.FlagKey}/${doc.Variation}`
      counted.set(key, (counted.get(key) ?? 0) + doc.Evaluations)
    } else {
      measured++
      // Latency beside each flag's variation in this invocation.
      assert.deepEqual(doc._aws.CloudWatchMetrics[0].Dimensions, [['FunctionName'], ['FunctionName', 'canary'], ['FunctionName', 'theme']])
    }
  }
  assert.deepEqual(counted, made)
  assert.equal(measured, 1000)
  assert.ok(made.get('canary/1') > 200 && made.get('canary/0') > 600, JSON.stringify([...made]))
  await OpenFeature.close()
})

test('requests served at once, each in its own scope: every measurement carries its own request\'s variation', async () => {
  const { client, lines } = memoryClient()
  await client.snapshot()
  await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const flags = client.scope()
    const on = await flags.boolVariation('canary', { kind: 'user', key: `user-${i}` }, false)
    // Other requests evaluate and flush meanwhile.
    await new Promise((resolve) => setTimeout(resolve, (i * 7) % 5))
    flags.measure('Latency', on ? 1000 + i : i, 'Milliseconds')
    flags.flush()
  }))
  let measured = 0
  let evaluations = 0
  for (const line of lines) {
    const doc = checkEmf(line)
    if ('Evaluations' in doc) evaluations += doc.Evaluations
    if (!('Latency' in doc)) continue
    measured++
    assert.equal(doc.canary, doc.Latency >= 1000 ? '1' : '0', `a measurement with another request's variation: ${line}`)
  }
  assert.equal(measured, 200)
  assert.equal(evaluations, 200)
  // The client's own flush holds none of the scopes' counts.
  assert.deepEqual(client.flush(), [])
})

test("the provider maps flagcore's reasons and errors to OpenFeature's", async () => {
  const { client } = memoryClient()
  await OpenFeature.setProviderAndWait(new FlagcoreProvider(client))
  const flags = OpenFeature.getClient()
  const id = (await client.snapshot()).id
  const user = { targetingKey: 'user-1', email: 'ana@corp.example' }
  const rule = await flags.getStringDetails('theme', 'classic', user)
  assert.deepEqual([rule.value, rule.variant, rule.reason, rule.flagMetadata], ['dark', '1', 'TARGETING_MATCH', { snapshotId: id, variationIndex: 1 }])
  assert.equal((await flags.getStringDetails('theme', 'x', { targetingKey: 'user-2' })).reason, 'DEFAULT')
  assert.equal((await flags.getBooleanDetails('retired', true, user)).reason, 'DISABLED')
  assert.deepEqual((await flags.getObjectDetails('layout', {}, user)).value, { columns: 3 })
  const errors = [
    [await flags.getBooleanDetails('no-such-flag', true, user), 'FLAG_NOT_FOUND', true],
    [await flags.getBooleanDetails('theme', true, user), 'TYPE_MISMATCH', true],
    [await flags.getObjectDetails('canary', { fallback: 1 }, user), 'TYPE_MISMATCH', { fallback: 1 }],
    [await flags.getBooleanDetails('canary', true, { email: 'no key' }), 'TARGETING_KEY_MISSING', true]
  ]
  for (const [detail, code, value] of errors) {
    assert.equal(detail.errorCode, code)
    assert.equal(detail.reason, 'ERROR')
    assert.deepEqual(detail.value, value)
  }
  // Multi-kind: `kind: 'multi'` and one context per kind.
  const multi = { kind: 'multi', user: { targetingKey: 'user-7' }, org: { targetingKey: 'acme', plan: 'pro' } }
  const native = (await client.snapshot()).boolVariationDetail('canary', { kind: 'multi', user: { key: 'user-7' }, org: { key: 'acme', plan: 'pro' } }, false)
  assert.equal((await flags.getBooleanDetails('canary', false, multi)).variant, String(native.variationIndex))
  await OpenFeature.close()

  const offline = new FlagClient({ offline: true })
  await OpenFeature.setProviderAndWait(new FlagcoreProvider(offline))
  const cold = await OpenFeature.getClient().getBooleanDetails('canary', false, user)
  assert.deepEqual([cold.value, cold.errorCode], [false, 'PROVIDER_NOT_READY'])
  await OpenFeature.close()
})

const tracingSkip = process.env.FLAGCORE_IMPL === 'wasm' && 'flagcore-wasm takes no tracer: tracing is wired in the Node package (index.js)'

test('with tracing, evaluations become feature_flag.evaluation span events', { skip: tracingSkip }, async () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  api.trace.setGlobalTracerProvider(provider)
  const { client } = memoryClient({ tracing: true })
  const quiet = memoryClient()
  await api.trace.getTracer('test').startActiveSpan('handler', async (span) => {
    await client.boolVariation('canary', { kind: 'user', key: 'user-1' }, false)
    await client.stringVariation('no-such-flag', { kind: 'multi', org: { key: 'o' } }, 'x')
    await quiet.client.boolVariation('canary', { kind: 'user', key: 'user-1' }, false)
    span.end()
  })
  await client.boolVariation('canary', { kind: 'user', key: 'user-1' }, false) // no active span: no event
  const [span] = exporter.getFinishedSpans()
  assert.equal(span.events.length, 2)
  const [hit, miss] = span.events
  assert.equal(hit.name, 'feature_flag.evaluation')
  assert.deepEqual(hit.attributes, {
    'feature_flag.key': 'canary',
    'feature_flag.provider.name': 'flagcore',
    'feature_flag.result.reason': 'default',
    'feature_flag.result.variant': String((await client.snapshot()).boolVariationDetail('canary', { key: 'user-1' }, false).variationIndex),
    'feature_flag.context.id': 'user-1',
    'feature_flag.version': (await client.snapshot()).id
  })
  assert.equal(miss.attributes['error.type'], 'FLAG_NOT_FOUND')
  assert.equal(miss.attributes['feature_flag.result.reason'], 'error')
  // The canonical key, from the core (tests/vectors/contexts): Python's span says the same.
  assert.equal(miss.attributes['feature_flag.context.id'], 'org:o')
})

test('without tracing, @opentelemetry/api is never loaded', () => {
  const script = `
    const { FlagClient } = require('.')
    const c = new FlagClient({ offline: true })
    c.boolVariation('canary', { key: 'u' }, false).then(() => {
      console.log(Object.keys(require.cache).some((k) => k.includes('@opentelemetry')))
    })`
  assert.equal(execFileSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..', '..', 'bindings-node'), encoding: 'utf8' }).trim(), 'false')
})

test('a flag key or a metric name of broken text (a lone surrogate) loses no other metric', async () => {
  const { client, lines } = memoryClient()
  const user = { kind: 'user', key: 'user-1' }
  await client.variation('theme', user, 'classic')
  assert.equal(await client.variation('can\udc80ary', user, 'none'), 'none')
  client.measure('Latency\udc80', 12, 'Milliseconds')
  client.measure('Latency', 13, 'Milliseconds')
  await client.variation(undefined, user, 'none')
  const flushed = client.flush()
  assert.equal(flushed.length, lines.length)
  assert.ok(flushed.length > 0)
  const docs = flushed.map(checkEmf)
  assert.ok(docs.some((doc) => doc.theme === '0'), flushed.join('\n'))
  assert.ok(docs.some((doc) => doc.Latency === 13), flushed.join('\n'))
  assert.ok(flushed.every((line) => !line.includes('\\udc80')), flushed.join('\n'))
  assert.ok(docs.some((doc) => doc['Latency\ufffd'] === 12), flushed.join('\n'))
})
