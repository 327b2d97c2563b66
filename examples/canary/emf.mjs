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

/**
 * The same metrics as `emfRequests`, each series' values of a minute sent
 * as one statistic set (SampleCount, Sum, Minimum, Maximum): what
 * CloudWatch keeps of them at a minute's resolution, in far fewer datums,
 * for a stand-in that would otherwise hold every value.
 */
export function emfMinuteRequests (lines) {
  const sets = new Map()
  for (const request of emfRequests(lines)) {
    for (const datum of request.MetricData) {
      const minute = Math.floor(datum.Timestamp.getTime() / 60_000) * 60_000
      const key = JSON.stringify([request.Namespace, datum.MetricName, datum.Dimensions, datum.Unit, minute])
      let set = sets.get(key)
      if (set === undefined) {
        set = { Namespace: request.Namespace, datum: { MetricName: datum.MetricName, Dimensions: datum.Dimensions, Unit: datum.Unit, Timestamp: new Date(minute), StatisticValues: { SampleCount: 0, Sum: 0, Minimum: Infinity, Maximum: -Infinity } } }
        sets.set(key, set)
      }
      const statistics = set.datum.StatisticValues
      for (const value of datum.Values) {
        statistics.SampleCount++
        statistics.Sum += value
        statistics.Minimum = Math.min(statistics.Minimum, value)
        statistics.Maximum = Math.max(statistics.Maximum, value)
      }
    }
  }
  const byNamespace = new Map()
  for (const { Namespace, datum } of sets.values()) {
    const datums = byNamespace.get(Namespace) ?? []
    byNamespace.set(Namespace, datums)
    datums.push(datum)
  }
  const requests = []
  for (const [Namespace, datums] of byNamespace) {
    for (let at = 0; at < datums.length; at += DATUMS) requests.push({ Namespace, MetricData: datums.slice(at, at + DATUMS) })
  }
  return requests
}
