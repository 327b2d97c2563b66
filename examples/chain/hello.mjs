// `hello`, a Node Lambda: evaluates the canary for the user, then calls `world`
// (Python) with the user and a decision token in a W3C baggage header.
import { FlagClient } from 'flagcore'

const flags = new FlagClient({
  source: { dynamodb: { table: process.env.FLAGS_TABLE } },
  ttlSeconds: Number(process.env.FLAGS_TTL_SECONDS ?? 15)
})

export async function handler (event) {
  const user = { kind: 'user', key: event.userId }
  const snapshot = await flags.snapshot()
  const started = process.hrtime.bigint()
  const canary = snapshot ? snapshot.boolVariationDetail('canary', user, false) : await flags.boolVariationDetail('canary', user, false)
  const evalNs = Number(process.hrtime.bigint() - started)
  // From the snapshot just evaluated: a refresh in between would otherwise
  // send world and edge another answer than the one hello gave.
  const token = await flags.decisionToken(user, ['canary'], { snapshot })
  const response = await fetch(process.env.WORLD_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { baggage: `flagcore=${token}` } : {}) },
    body: JSON.stringify({ userId: event.userId })
  })
  const downstream = await response.json()
  return { hello: { ...canary, evalNs, snapshotId: snapshot?.id ?? null }, ...downstream }
}
