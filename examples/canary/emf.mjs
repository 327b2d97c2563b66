// What Lambda's log agent does with flagcore's EMF lines, for a CloudWatch
// stand-in on this machine: each line's metrics, under each of its dimension
// sets, become PutMetricData datums (the values and their timestamp as the
// line gives them). In AWS nothing of this runs: Lambda turns the lines a
// function prints into the same metrics.
//
//   import { emfRequests } from './emf.mjs'
//   for (const request of emfRequests(lines)) await client.send(new PutMetricDataCommand(request))

// PutMetricData takes at most 1,000 datums a request, 150 values a datum.
const DATUMS = 1000
const VALUES = 150

/** The PutMetricData requests, `{ Namespace, MetricData }`, that EMF `lines` make. */
export function emfRequests (lines) {
  const byNamespace = new Map()
  for (const line of lines) {
    const document = JSON.parse(line)
    const aws = document._aws
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      const datums = byNamespace.get(directive.Namespace) ?? []
      byNamespace.set(directive.Namespace, datums)
      for (const set of directive.Dimensions) {
        const Dimensions = set.map((Name) => ({ Name, Value: String(document[Name]) }))
        for (const { Name, Unit } of directive.Metrics) {
          const given = document[Name]
          const values = Array.isArray(given) ? given : [given]
          for (let at = 0; at < values.length; at += VALUES) {
            datums.push({ MetricName: Name, Dimensions, Timestamp: new Date(aws.Timestamp), Values: values.slice(at, at + VALUES), Unit })
          }
        }
      }
    }
  }
  const requests = []
  for (const [Namespace, datums] of byNamespace) {
    for (let at = 0; at < datums.length; at += DATUMS) requests.push({ Namespace, MetricData: datums.slice(at, at + DATUMS) })
  }
  return requests
}
