// A Cloudflare Worker behind the canary flags, with the snapshot from a URL.
import { FlagClient } from 'flagcore-wasm'

let flags

export default {
  async fetch (request, env) {
    flags ??= new FlagClient({ source: { url: env.FLAGS_URL }, ttlSeconds: 30 })
    const url = new URL(request.url)
    const user = { kind: 'user', key: url.searchParams.get('user'), email: url.searchParams.get('email') }
    return Response.json({
      newCheckout: await flags.boolVariationDetail('new-checkout', user, false),
      theme: await flags.stringVariationDetail('checkout-theme', user, 'classic')
    })
  }
}
