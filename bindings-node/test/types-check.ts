// Compiled by test/package.test.js with `tsc --strict --noEmit`: the typings
// must accept what the README shows, and refuse what they should.
import { Context, FlagClient, FlagcoreProvider, Snapshot, SnapshotError, publish, PublishRace, type LDEvaluationDetail, type TokenStatus } from 'flagcore'
import { createLaunchDarklySync, createSyncHandler } from 'flagcore/sync'

async function handler (userId: string): Promise<string> {
  const flags = new FlagClient({ source: { url: 'https://cdn.example/flags.json' }, ttlSeconds: 30 })
  const user = new Context({ kind: 'user', key: userId })
  const enabled: boolean = await flags.boolVariation('new-checkout', user, false)
  const detail: LDEvaluationDetail<string> = await flags.stringVariationDetail('checkout-theme', { kind: 'user', key: userId }, 'classic')
  const reason: string = detail.reason.kind
  return `${enabled} ${detail.value} ${reason} ${flags.status().snapshotId ?? ''}`
}

function parse (text: string): Snapshot | null {
  try {
    return Snapshot.fromJson(text, { prefix: 'prod' })
  } catch (error) {
    if (error instanceof SnapshotError) console.log(error.code, error.path)
    return null
  }
}

// @ts-expect-error a snapshot is made by fromJson, not new
const wrong = new Snapshot()

async function chain (client: FlagClient, header: string | undefined): Promise<string | null> {
  const user = { kind: 'user', key: 'u' }
  const decided: Context = await client.decide(user, header)
  const status: TokenStatus = decided.tokenStatus
  const on: boolean = await client.boolVariation('canary', decided, false)
  if (!status.applied) console.log(status.code, status.message, on)
  return client.decisionToken(user, ['canary'], { ttlSeconds: 30 })
}

function observed (client: FlagClient): string[] {
  client.measure('Latency', 12, 'Milliseconds')
  // @ts-expect-error not a CloudWatch unit
  client.measure('Latency', 12, 'Parsecs')
  const provider = new FlagcoreProvider(client)
  console.log(provider.metadata.name)
  return client.flush()
}

// The published layout: read from a URL or DynamoDB, and published to DynamoDB or S3.
async function published (snapshot: Snapshot): Promise<string> {
  const fromUrl = new FlagClient({ source: { published: { url: 'https://cdn.example/flags/' } }, ttlSeconds: 5 })
  const fromTable = new FlagClient({ source: { published: { table: 'flags', prefix: 'prod' } } })
  const fromDirectory = new FlagClient({ source: { published: { directory: '/var/flags' } } })
  const bytes: Snapshot = Snapshot.fromJson(new TextEncoder().encode('{"flags":{},"segments":{}}'))
  console.log(fromDirectory.status().source, bytes.id)
  const { head, chunks } = snapshot.publish()
  const back: Snapshot = Snapshot.fromPublished(head, chunks)
  const chunkNames: string[] = Snapshot.publishedHead(head).chunks.map((chunk) => chunk.name)
  try {
    const result = await publish(snapshot, { table: 'flags', prefix: 'prod' }, { retentionSeconds: 3600 })
    const toBucket = await publish(snapshot, { bucket: 'flags-origin', prefix: 'prod/' })
    return `${result.id} ${result.unchanged} ${toBucket.chunks} ${back.id} ${chunkNames.length} ${fromUrl.status().source} ${fromTable.status().source}`
  } catch (error) {
    if (error instanceof PublishRace) return error.code
    throw error
  }
}


// flagcore/sync: a schedule's event answers a SyncResult, a function URL's request an HTTP answer.
async function sync (): Promise<number> {
  const fromLaunchDarkly = createLaunchDarklySync({ sdkKey: 'sdk-key', to: { table: 'flags' }, webhookSecret: 'a secret' })
  const scheduled = await fromLaunchDarkly({ source: 'aws.events' })
  const webhook = await fromLaunchDarkly({ requestContext: { http: { method: 'POST' } }, headers: { 'x-ld-signature': 'ab' }, body: '{}' })
  const relay = await createSyncHandler({ relay: { table: 'relay' } })()
  return scheduled.chunks + webhook.statusCode + relay.bytes + (scheduled.id === null ? 0 : scheduled.id.length)
}

export { handler, parse, wrong, chain, observed, published, sync }
