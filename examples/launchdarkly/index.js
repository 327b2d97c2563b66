// The sync function: LaunchDarkly's flags, published in flagcore's layout,
// with no Relay Proxy (docs/launchdarkly.md). Configured by template.yaml.
module.exports = require('flagcore/sync')
