//! A canary's window of metrics from CloudWatch: `GetMetricData` (through
//! crate::aws, signed from the environment's credentials) on the series
//! flagcore's EMF lines make (core/src/metrics.rs): `Evaluations` by
//! `FlagKey` and `Variation` for the users per variation, and each guard's
//! metric by the flag's own dimension (its value the variation's index),
//! with the function's `FunctionName` when the plan's functions run on
//! Lambda. A minute a datapoint: a rate's values add up; a mean's minutes
//! are its batches (core: `canary::stats::batch_moments`), since CloudWatch
//! keeps no sum of squares.

use flagcore::canary::{GuardKind, Plan};
use serde_json::{json, Map, Value};

use crate::aws::Service;
use crate::Failure;

/// A datapoint a minute.
const PERIOD_SECONDS: u64 = 60;
/// The most pages of an answer read (each at most 100,800 datapoints).
const MAX_PAGES: usize = 20;
/// The most minutes a window spans: a week, as the core's batches bound.
const MAX_MINUTES: u64 = 10_080;

/// Where a canary's metrics are in CloudWatch.
pub(crate) struct Metrics {
    service: Service,
    namespace: String,
    function: Option<String>,
}

/// One series a query reads, and which sum it adds to.
struct Query {
    id: String,
    metric: String,
    dimensions: Vec<(String, String)>,
    stat: &'static str,
}

impl Metrics {
    /// CloudWatch at `AWS_ENDPOINT_URL_CLOUDWATCH` (or `AWS_ENDPOINT_URL`,
    /// CloudWatch's own otherwise), reading `namespace`'s series of
    /// `function` (none: series with no `FunctionName`).
    pub(crate) fn from_env(namespace: &str, function: Option<&str>) -> Result<Metrics, Failure> {
        let service = Service::from_env(
            "monitoring",
            "GraniteServiceVersion20100801",
            "AWS_ENDPOINT_URL_CLOUDWATCH",
            "reading the canary's metrics from CloudWatch",
        )?;
        Ok(Metrics {
            service,
            namespace: namespace.to_owned(),
            function: function.map(str::to_owned),
        })
    }

    fn describe(&self) -> String {
        match &self.function {
            Some(f) => format!("cloudwatch {} ({f})", self.namespace),
            None => format!("cloudwatch {}", self.namespace),
        }
    }

    /// The window the core's rule reads, from `start_ms` to `end_ms`, for
    /// the plan's flag whose canary and control are variations `canary`
    /// and `control`.
    pub(crate) fn window(
        &self,
        plan: &Plan,
        canary: usize,
        control: usize,
        start_ms: u64,
        end_ms: u64,
    ) -> Result<Value, Failure> {
        // Whole minutes from the first that starts within the step: no
        // datapoint of the step before counts.
        let start = start_ms.div_ceil(1000).div_ceil(PERIOD_SECONDS) * PERIOD_SECONDS;
        let end = (end_ms / 1000).max(start);
        let start = start.max(end.saturating_sub(MAX_MINUTES * PERIOD_SECONDS));
        if end < start + PERIOD_SECONDS {
            // Not one whole minute of the step yet: no data, which holds.
            return Ok(json!({"users": {"canary": 0, "control": 0}, "metrics": {}}));
        }
        let base: Vec<(String, String)> = self
            .function
            .iter()
            .map(|f| ("FunctionName".to_owned(), f.clone()))
            .collect();
        let mut queries = Vec::new();
        for (side, index) in [("canary", canary), ("control", control)] {
            let mut dimensions = base.clone();
            dimensions.push(("FlagKey".into(), plan.flag.clone()));
            dimensions.push(("Variation".into(), index.to_string()));
            queries.push(Query {
                id: format!("users_{side}"),
                metric: "Evaluations".into(),
                dimensions,
                stat: "Sum",
            });
            for (g, guard) in plan.guards.iter().enumerate() {
                let mut dimensions = base.clone();
                dimensions.push((plan.flag.clone(), index.to_string()));
                for stat in ["SampleCount", "Sum"] {
                    queries.push(Query {
                        id: format!("g{g}_{side}_{}", stat.to_ascii_lowercase()),
                        metric: guard.metric.clone(),
                        dimensions: dimensions.clone(),
                        stat,
                    });
                }
            }
        }
        let series = self.read(&queries, start, end)?;
        let points = |id: &str| series.get(id).cloned().unwrap_or_default();
        let total = |id: &str| points(id).iter().map(|(_, v)| v).sum::<f64>();
        let mut metrics = Map::new();
        for (g, guard) in plan.guards.iter().enumerate() {
            let mut sides = Map::new();
            for side in ["canary", "control"] {
                let counts = points(&format!("g{g}_{side}_samplecount"));
                let sums = points(&format!("g{g}_{side}_sum"));
                let value = match guard.kind {
                    GuardKind::Rate => json!({
                        "count": counts.iter().map(|(_, v)| v).sum::<f64>().round(),
                        "sum": sums.iter().map(|(_, v)| v).sum::<f64>(),
                    }),
                    GuardKind::Mean => {
                        let batches: Vec<Value> = counts
                            .iter()
                            .map(|(at, n)| {
                                let sum =
                                    sums.iter().find(|(t, _)| t == at).map_or(0.0, |(_, s)| *s);
                                json!([n.round(), sum])
                            })
                            .collect();
                        json!({ "batches": batches })
                    }
                };
                sides.insert(side.into(), value);
            }
            metrics.insert(guard.metric.clone(), Value::Object(sides));
        }
        Ok(json!({
            "users": {
                "canary": total("users_canary").round() as u64,
                "control": total("users_control").round() as u64,
            },
            "metrics": metrics,
        }))
    }

    /// Each query's datapoints, `(timestamp, value)`, over every page.
    fn read(
        &self,
        queries: &[Query],
        start: u64,
        end: u64,
    ) -> Result<std::collections::HashMap<String, Vec<(u64, f64)>>, Failure> {
        let list: Vec<Value> = queries
            .iter()
            .map(|q| {
                let dimensions: Vec<Value> = q
                    .dimensions
                    .iter()
                    .map(|(name, value)| json!({"Name": name, "Value": value}))
                    .collect();
                json!({
                    "Id": q.id,
                    "MetricStat": {
                        "Metric": {"Namespace": self.namespace, "MetricName": q.metric, "Dimensions": dimensions},
                        "Period": PERIOD_SECONDS,
                        "Stat": q.stat,
                    },
                    "ReturnData": true,
                })
            })
            .collect();
        let mut series: std::collections::HashMap<String, Vec<(u64, f64)>> = Default::default();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut body = json!({
                "MetricDataQueries": list,
                "StartTime": start,
                "EndTime": end,
                "ScanBy": "TimestampAscending",
            });
            if let Some(token) = token.take() {
                body["NextToken"] = json!(token);
            }
            let answer = self
                .service
                .send(&self.describe(), "GetMetricData", &body)?;
            for result in answer["MetricDataResults"].as_array().into_iter().flatten() {
                let Some(id) = result["Id"].as_str() else {
                    continue;
                };
                let times = result["Timestamps"].as_array().cloned().unwrap_or_default();
                let values = result["Values"].as_array().cloned().unwrap_or_default();
                if times.len() != values.len() {
                    return Err(Failure(format!(
                        "{}: GetMetricData answered {id} with {} timestamps and {} values",
                        self.describe(),
                        times.len(),
                        values.len()
                    )));
                }
                let entry = series.entry(id.to_owned()).or_default();
                for (at, value) in times.iter().zip(&values) {
                    let (Some(at), Some(value)) = (at.as_f64(), value.as_f64()) else {
                        continue;
                    };
                    if value.is_finite() {
                        entry.push((at as u64, value));
                    }
                }
            }
            match answer["NextToken"].as_str() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(series),
            }
        }
        Err(Failure(format!(
            "{}: GetMetricData answered more than {MAX_PAGES} pages",
            self.describe()
        )))
    }
}
