// `edge`, a Worker on flagcore-wasm: follows hello's answer (the token in
// the baggage header), from flags published at a URL.
import { FlagClient } from 'flagcore-wasm'

let flags

export default {
  async fetch (request, env) {
    flags ??= new FlagClient({ source: { published: { url: env.FLAGS_URL } }, ttlSeconds: Number(env.FLAGS_TTL_SECONDS), signingKey: env.FLAGCORE_SIGNING_KEY })
    const { userId } = await request.json()
    const decided = await flags.decide({ kind: 'user', key: userId }, request.headers.get('baggage'))
    return Response.json({ value: await flags.boolVariation(env.FLAG_KEY, decided, false), token: decided.tokenStatus })
  }
}
