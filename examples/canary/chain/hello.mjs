// `hello`, the chain's entry (a Node Lambda): evaluates the canary for the
// user and calls `world` (Python) with a decision token, so that world and
// edge follow hello's answer whatever snapshot they hold.
import { FlagClient } from 'flagcore'

const FLAG = process.env.FLAG_KEY ?? 'new-checkout'
const flags = new FlagClient({
  source: { published: { directory: process.env.FLAGS_DIRECTORY } },
  ttlSeconds: Number(process.env.FLAGS_TTL_SECONDS ?? 5)
})

export async function handler (event) {
  const user = { kind: 'user', key: event.userId }
  const snapshot = await flags.snapshot()
  const value = snapshot ? snapshot.boolVariation(FLAG, user, false) : await flags.boolVariation(FLAG, user, false)
  // From the snapshot just evaluated, not one a refresh may bring in between.
  const token = await flags.decisionToken(user, [FLAG], { snapshot })
  const response = await fetch(process.env.WORLD_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { baggage: `flagcore=${token}` } : {}) },
    body: JSON.stringify({ userId: event.userId, request: event.request })
  })
  return { status: response.status, hello: value, ...(await response.json()) }
}
