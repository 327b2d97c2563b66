//! The statistics a guarded canary decides with:
//!
//! - the sample ratio check: Pearson's chi-square of the users per
//!   variation against the planned split, one degree of freedom, its
//!   p-value `erfc(sqrt(x / 2))`; below 0.001 the canary halts. A fixed
//!   threshold this strict, looked at each minute, is not a sequential test,
//!   but a broken split grows its statistic with every look, and a sound
//!   one seldom reaches it (as in
//!   Fabijan et al., "Diagnosing Sample Ratio Mismatch in Online Controlled
//!   Experiments", KDD 2019, and Kohavi, Tang and Xu, "Trustworthy Online
//!   Controlled Experiments", 2020, whose example of 821,588 users against
//!   815,482 at an even split has a p-value of 1.8e-6);
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
    fn the_books_sample_ratio_mismatch() {
        // Kohavi, Tang and Xu (2020): 821,588 against 815,482 at 50/50.
        let (statistic, p) = sample_ratio([821_588, 815_482], [0.5, 0.5]);
        assert!((statistic - 22.77).abs() < 0.01, "{statistic}");
        assert!((p - 1.8e-6).abs() < 0.05e-6, "{p}");
    }
}
