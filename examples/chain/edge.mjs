// `edge`, a Worker on flagcore-wasm: answers the canary as `hello` decided,
// from its own snapshot (a URL) when no token comes with the request.
import { FlagClient } from 'flagcore-wasm'

let flags

export default {
  async fetch (request, env) {
    flags ??= new FlagClient({ source: { url: env.FLAGS_URL }, ttlSeconds: Number(env.FLAGS_TTL_SECONDS), signingKey: env.FLAGCORE_SIGNING_KEY })
    const { userId } = await request.json()
    const decided = await flags.decide({ kind: 'user', key: userId }, request.headers.get('baggage'))
    const canary = await flags.boolVariationDetail('canary', decided, false)
    // What this function's own snapshot says, without the token.
    const own = await flags.boolVariation('canary', { kind: 'user', key: userId }, false)
    return Response.json({ ...canary, snapshotId: flags.status().snapshotId, token: decided.tokenStatus, own })
  }
}
