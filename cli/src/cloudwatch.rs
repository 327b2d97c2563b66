//! A canary's window of metrics from CloudWatch: the core's
//! `GetMetricData` request (`flagcore::canary::cloudwatch`) sent through
//! crate::aws, signed from the environment's credentials, its pages
//! followed, and handed back to the core, which makes the window.

use flagcore::canary::cloudwatch::{self, Series, MAX_PAGES};
use flagcore::canary::Plan;
use serde_json::{json, Value};

use crate::aws::Service;
use crate::Failure;

/// Where a canary's metrics are in CloudWatch.
pub(crate) struct Metrics {
    service: Service,
    series: Series,
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
            series: Series {
                namespace: namespace.to_owned(),
                function: function.map(str::to_owned),
            },
        })
    }

    fn describe(&self) -> String {
        match &self.series.function {
            Some(f) => format!("cloudwatch {} ({f})", self.series.namespace),
            None => format!("cloudwatch {}", self.series.namespace),
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
        let Some(request) =
            cloudwatch::request(plan, &self.series, canary, control, start_ms, end_ms)
        else {
            return cloudwatch::window(plan, None).map_err(|e| Failure(e.to_string()));
        };
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            if pages.len() == MAX_PAGES {
                return Err(Failure(format!(
                    "{}: GetMetricData answered more than {MAX_PAGES} pages",
                    self.describe()
                )));
            }
            let mut body = request.clone();
            if let Some(token) = token.take() {
                body["NextToken"] = json!(token);
            }
            let answer = self
                .service
                .send(&self.describe(), "GetMetricData", &body)?;
            token = answer["NextToken"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            pages.push(answer);
            if token.is_none() {
                break;
            }
        }
        let empty = pages.iter().all(|page| {
            page["MetricDataResults"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|r| r["Timestamps"].as_array().is_none_or(Vec::is_empty))
        });
        if empty {
            let hint = match &self.series.function {
                None => "Lambda writes each function's series under its FunctionName: name the function that evaluates the flag (--function)".to_owned(),
                Some(f) => format!("is {f} the function that evaluates the flag, and {} its namespace?", self.series.namespace),
            };
            return Err(Failure(format!(
                "{}: no metrics of flag {:?} since the step settled: {hint}",
                self.describe(),
                plan.flag
            )));
        }
        cloudwatch::window(plan, Some(&pages))
            .map_err(|e| Failure(format!("{}: {e}", self.describe())))
    }
}
