//! The statistics a guarded canary decides with:
//!
//! - the sample ratio check: the log Bayes factor of the users per
//!   variation against the planned split, under a Beta prior about it
//!   ([`split_log_bayes_factor`], the anytime-valid test of Lindon and
//!   Malek, NeurIPS 2022, for two variations), past `ln(1/0.001)`; beside
//!   it Pearson's chi-square and its p-value `erfc(sqrt(x / 2))`, as
//!   Fabijan et al. ("Diagnosing Sample Ratio Mismatch in Online
//!   Controlled Experiments", KDD 2019) and Kohavi, Tang and Xu
//!   ("Trustworthy Online Controlled Experiments", 2020, whose example of
//!   821,588 users against 815,482 at an even split has a p-value of
//!   1.8e-6) give it. Counts of evaluations rather than users are divided
//!   by their dispersion from minute to minute ([`dispersion`]), an
//!   estimate made again at each look: a heuristic, not part of the test's
//!   guarantee, which the rule backs with a test of size (see the rule);
//! - the harm test: the mixture sequential probability ratio test (mSPRT) of
//!   Johari, Koomen, Pekelis and Walsh ("Always Valid Inference: Continuous
//!   Monitoring of A/B Tests", Operations Research 70(3), 2022), for a
//!   difference of means with a normal mixture of variance `tau²` over the
//!   alternative: `Λ = sqrt(V / (V + τ²)) · exp(τ² θ² / (2 V (V + τ²)))`,
//!   where `θ` is the estimated difference past the tolerance and `V` its
//!   variance. `τ` is the scale of a harm worth finding: the tolerance, or
//!   for a mean a share of control's mean as the step's window gives it
//!   (an approximation: a `τ` fixed before the step would be exact). By Ville's inequality, `Λ ≥ 1/α` happens under the null at
//!   any time with probability at most `α`; only a difference in the
//!   harmful direction counts (one-sided).

/// The complementary error function, to a relative error below 1.2e-7
/// (the Chebyshev fit of Press et al., "Numerical Recipes", 2nd ed., §6.2).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let answer = t * poly.exp();
    if x >= 0.0 {
        answer
    } else {
        2.0 - answer
    }
}

/// Pearson's chi-square of `observed` counts against `expected` shares
/// (summing to 1), and its p-value for `observed.len() - 1 = 1` degree of
/// freedom: `(statistic, p)`. Shares of 0 are left out.
pub fn sample_ratio(observed: [u64; 2], expected: [f64; 2]) -> (f64, f64) {
    let total: f64 = observed.iter().map(|&n| n as f64).sum();
    let statistic: f64 = observed
        .iter()
        .zip(expected)
        .filter(|(_, share)| *share > 0.0)
        .map(|(count, share)| {
            let wanted = total * share;
            (*count as f64 - wanted).powi(2) / wanted
        })
        .sum();
    (statistic, erfc((statistic / 2.0).sqrt()))
}

/// The mSPRT statistic `Λ` for an estimated difference `theta` past the
/// null value, of variance `v`, under a normal mixture of variance `tau2`.
/// Computed through its logarithm: `Λ` of a clear harm overflows an f64.
pub fn msprt_log(theta: f64, v: f64, tau2: f64) -> f64 {
    0.5 * (v / (v + tau2)).ln() + tau2 * theta * theta / (2.0 * v * (v + tau2))
}

/// One variation's observations of one metric: how many, their sum, and
/// the sum of their squares.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    /// How many values.
    pub count: f64,
    /// Their sum.
    pub sum: f64,
    /// The sum of their squares.
    pub sum_squares: f64,
}

impl Moments {
    /// The mean.
    pub fn mean(&self) -> f64 {
        self.sum / self.count
    }

    /// The sample variance (at least a tiny positive number, so that a
    /// metric that never varies still has a test).
    pub fn variance(&self) -> f64 {
        let n = self.count;
        let variance = (self.sum_squares - self.sum * self.sum / n) / (n - 1.0).max(1.0);
        variance.max(1e-12)
    }
}

/// The natural logarithm of the gamma function, for `x > 0`: Stirling's
/// series past 10, reached from below by the recurrence.
pub fn ln_gamma(x: f64) -> f64 {
    let mut shift = 0.0;
    let mut x = x;
    while x < 10.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let inverse = 1.0 / x;
    let inverse2 = inverse * inverse;
    let series = inverse
        * (1.0 / 12.0 - inverse2 * (1.0 / 360.0 - inverse2 * (1.0 / 1260.0 - inverse2 / 1680.0)));
    shift + (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + series
}

/// How concentrated the sample ratio test's prior is about the planned
/// share: a Beta of `SPLIT_PRIOR * p` and `SPLIT_PRIOR * (1 - p)`, whose
/// spread (1.6 points at an even split) is the size of mismatch worth
/// finding.
pub const SPLIT_PRIOR: f64 = 1000.0;

/// The sample ratio's log Bayes factor: `canary` and `control` counts
/// against the planned share `p` of the canary, under a Beta prior about
/// `p` ([`SPLIT_PRIOR`]) against `p` itself. A mixture likelihood ratio, so
/// a martingale under the plan: by Ville's inequality it passes `ln(1/α)`
/// with probability at most α however often it is looked at (the
/// anytime-valid multinomial test of Lindon and Malek, NeurIPS 2022, for
/// two variations).
pub fn split_log_bayes_factor(canary: f64, control: f64, p: f64) -> f64 {
    let (a, b) = (SPLIT_PRIOR * p, SPLIT_PRIOR * (1.0 - p));
    let ln_beta = |x: f64, y: f64| ln_gamma(x) + ln_gamma(y) - ln_gamma(x + y);
    ln_beta(a + canary, b + control) - ln_beta(a, b) - canary * p.ln() - control * (1.0 - p).ln()
}

/// The fewest batches of values (a source's minutes) that give a variance.
pub const MIN_BATCHES: usize = 10;

/// A variation's moments from batches of its values, `(count, sum)` each,
/// where the source keeps no sum of squares (CloudWatch keeps a count and
/// a sum a minute): the variance by the method of batch means, each
/// batch's mean weighted by its count, taken at its one-sided 95% upper
/// bound (a chi-square of `k - 1` degrees of freedom, by Wilson and
/// Hilferty's approximation), so that a variance estimated from few
/// batches errs towards no false rollback. The price is power: a harm on a
/// mean needs more values to be seen, and until it is, the rule may
/// advance. The estimate holds for values independent of the minute they
/// fall in, and is larger when minutes differ. `None` with fewer than
/// [`MIN_BATCHES`] batches that hold values.
pub fn batch_moments(batches: &[(f64, f64)]) -> Option<Moments> {
    let full: Vec<(f64, f64)> = batches.iter().copied().filter(|&(n, _)| n > 0.0).collect();
    let k = full.len();
    if k < MIN_BATCHES {
        return None;
    }
    let count: f64 = full.iter().map(|&(n, _)| n).sum();
    let sum: f64 = full.iter().map(|&(_, s)| s).sum();
    let mean = sum / count;
    let df = (k - 1) as f64;
    let spread: f64 = full
        .iter()
        .map(|&(n, s)| n * (s / n - mean).powi(2))
        .sum::<f64>()
        / df;
    // The 5th percentile of a chi-square of df degrees of freedom.
    let z = -1.644_853_626_951_472_2;
    let h = 2.0 / (9.0 * df);
    let lower = df * (1.0 - h + z * h.sqrt()).powi(3);
    let variance = spread * df / lower.max(1e-9);
    Some(Moments {
        count,
        sum,
        sum_squares: variance * (count - 1.0).max(0.0) + sum * sum / count,
    })
}

/// How much more the split varies from minute to minute than independent
/// users would make it vary: the quasi-binomial dispersion (McCullagh and
/// Nelder, *Generalized Linear Models*, 2nd ed., 1989, §4.5) of each
/// minute's `(canary, control)` counts about the window's own share of the
/// canary, at least 1. Counts of evaluations, not of distinct users, vary
/// more (a user's requests fall on one side together); the sample ratio's
/// chi-square divided by it stays near a chi-square of one degree of
/// freedom. About the window's own share, so that a split off the plan in
/// every minute alike is no dispersion, and is still found. 1 with fewer
/// than [`MIN_BATCHES`] minutes holding counts.
pub fn dispersion(batches: &[(f64, f64)]) -> f64 {
    let full: Vec<(f64, f64)> = batches
        .iter()
        .copied()
        .filter(|&(c, t)| c + t > 0.0)
        .collect();
    let canary: f64 = full.iter().map(|&(c, _)| c).sum();
    let all: f64 = full.iter().map(|&(c, t)| c + t).sum();
    let p = canary / all;
    if full.len() < MIN_BATCHES || !(p > 0.0 && p < 1.0) {
        return 1.0;
    }
    let pearson: f64 = full
        .iter()
        .map(|&(c, t)| {
            let n = c + t;
            (c - n * p).powi(2) / (n * p * (1.0 - p))
        })
        .sum();
    (pearson / (full.len() - 1) as f64).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544e-5),
            (-1.0, 1.842_700_792_949_715),
        ] {
            assert!(
                ((erfc(x) - want) / want).abs() < 2e-7,
                "erfc({x}) = {}",
                erfc(x)
            );
        }
    }

    #[test]
    fn batch_means_bound_the_variance_from_above() {
        // Minutes of 50 values each, whose means spread as the means of 50
        // values of variance 4 would (sd of a mean: 2 / sqrt(50)).
        let spread = [
            -1.2, 0.4, 0.9, -0.3, 1.5, -0.8, 0.1, -1.6, 0.7, 0.3, -0.2, 1.1,
        ];
        let sd_of_mean = 2.0 / 50f64.sqrt();
        let batches: Vec<(f64, f64)> = spread
            .iter()
            .map(|z| (50.0, 50.0 * (10.0 + z * sd_of_mean)))
            .collect();
        let m = batch_moments(&batches).unwrap();
        assert_eq!(m.count, 600.0);
        assert!((m.mean() - 10.0 - 0.075 * sd_of_mean).abs() < 1e-9);
        // The plain estimate is 4 x the spread's sample variance; the bound is above it.
        let plain = 4.0 * {
            let mean = spread.iter().sum::<f64>() / 12.0;
            spread.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / 11.0
        };
        assert!(
            m.variance() > plain * 1.5 && m.variance() < plain * 2.5,
            "{} against {plain}",
            m.variance()
        );
        assert_eq!(batch_moments(&batches[..9]), None);
        // Empty minutes do not count as batches.
        let mut sparse = batches[..9].to_vec();
        sparse.push((0.0, 0.0));
        assert_eq!(batch_moments(&sparse), None);
    }

    #[test]
    fn dispersion_grows_with_clustered_counts() {
        // Ten minutes at 10% that vary less than chance (0.35) count as 1;
        // the same minutes spread 3.16 times as far vary ten times as much.
        let even = [
            (10.0, 90.0),
            (12.0, 88.0),
            (8.0, 92.0),
            (11.0, 89.0),
            (9.0, 91.0),
            (10.0, 90.0),
            (13.0, 87.0),
            (7.0, 93.0),
            (10.0, 90.0),
            (10.0, 90.0),
        ];
        assert_eq!(dispersion(&even), 1.0);
        let clustered: Vec<(f64, f64)> = even
            .iter()
            .map(|&(c, _)| (10.0 + (c - 10.0) * 3.16, 90.0 - (c - 10.0) * 3.16))
            .collect();
        assert!(
            (dispersion(&clustered) - 3.452).abs() < 0.001,
            "{}",
            dispersion(&clustered)
        );
        assert_eq!(dispersion(&even[..9]), 1.0);
        // A split off the plan alike in every minute is no dispersion.
        let off: Vec<(f64, f64)> = even.iter().map(|&(c, t)| (c + 5.0, t - 5.0)).collect();
        assert_eq!(dispersion(&off), 1.0);
    }

    #[test]
    fn ln_gamma_matches_known_values() {
        for (x, want) in [
            (1.0, 0.0),
            (0.5, 0.572_364_942_924_700_1),
            (3.0, 2.0f64.ln()),
            (10.5, 13.940_625_219_403_763),
            (1e6, 12_815_504.569_147_612),
        ] {
            let got = ln_gamma(x);
            assert!(
                (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "ln_gamma({x}) = {got}"
            );
        }
    }

    #[test]
    fn the_books_sample_ratio_mismatch() {
        // Kohavi, Tang and Xu (2020): 821,588 against 815,482 at 50/50.
        let (statistic, p) = sample_ratio([821_588, 815_482], [0.5, 0.5]);
        assert!((statistic - 22.77).abs() < 0.01, "{statistic}");
        assert!((p - 1.8e-6).abs() < 0.05e-6, "{p}");
    }
}
