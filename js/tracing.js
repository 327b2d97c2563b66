// Evaluations as OpenTelemetry `feature_flag.evaluation` span events, for a
// client made with `{ tracing: true }` where the host has @opentelemetry/api
// (Node loads it only then). The Python package's _tracing.py does the same.

import { contextId, openFeatureReason } from './openfeature.js'

/**
 * One evaluation of `key` on the active span of `trace` (OpenTelemetry's
 * `trace` API): its reason (as `openFeatureReason` names it), variation and
 * context (`contextId`, the core's canonical key), and `version()`, the id
 * of the snapshot that answered (null without one), asked only when a span
 * is active.
 */
export function traceEvent (trace, key, detail, context, version) {
  const span = trace.getActiveSpan()
  if (!span) return
  const attributes = {
    'feature_flag.key': key,
    'feature_flag.provider.name': 'flagcore',
    'feature_flag.result.reason': openFeatureReason(detail.reason).toLowerCase(),
    'feature_flag.context.id': contextId(context)
  }
  if (detail.variationIndex !== null) attributes['feature_flag.result.variant'] = String(detail.variationIndex)
  if (detail.reason.errorKind) attributes['error.type'] = detail.reason.errorKind
  const answered = version()
  if (answered !== null) attributes['feature_flag.version'] = answered
  span.addEvent('feature_flag.evaluation', attributes)
}
