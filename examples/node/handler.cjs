// The same handler as CommonJS, the form a Lambda layer serves through NODE_PATH.
const { FlagClient } = require('flagcore')

const flags = new FlagClient({ source: { file: process.env.FLAGS_FILE ?? 'flags.json' }, ttlSeconds: 30 })

exports.handler = async function handler (event) {
  const user = { kind: 'user', key: event.userId, email: event.email }
  const newCheckout = await flags.boolVariation('new-checkout', user, false)
  const theme = await flags.stringVariation('checkout-theme', user, 'classic')
  return { statusCode: 200, body: JSON.stringify({ checkout: newCheckout ? 'v2' : 'v1', theme }) }
}
