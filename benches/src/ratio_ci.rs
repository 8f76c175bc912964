//! How sure a curve's p99 ratio is. With `--rounds N` each step has N p99s, one per window, and
//! the curve reports the ratio of their medians. On the 2-core machine one window's p99 moves by
//! a fifth from one window to the next, so two runs of the same servers give ratios ±0.15
//! apart: a ratio alone cannot say whether a step is within a bound such as ×1.2. The percentile
//! bootstrap below resamples each step's rounds (with replacement, the steps independently),
//! takes the ratio of the resampled medians each time, and reports the 5th and 95th percentile
//! of those ratios: a 90% interval, so an upper end under a bound means the bound holds with
//! ~95% confidence given the rounds measured. The generator (the bench's own `Rng`) is seeded,
//! so a report is reproducible from its rounds; with 4,000 resamples of ~14 rounds the ends
//! still depend on the stream by ~0.02, so read them to one decimal place's worth.

use crate::scenario::Rng;

/// Resamples per interval.
const RESAMPLES: usize = 4000;

/// The median as the curve takes it: the lower of the two middle values for an even count.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len().checked_sub(1)? / 2).copied()
}

/// The 90% bootstrap interval of median(`step`) / median(`base`); `None` with fewer than three
/// rounds on either side or a non-positive base.
pub fn ratio_interval(base: &[f64], step: &[f64]) -> Option<(f64, f64)> {
    if base.len() < 3 || step.len() < 3 {
        return None;
    }
    let mut rng = Rng::new(0x5eed_0fc0_ffee);
    let mut ratios = Vec::with_capacity(RESAMPLES);
    let mut a = vec![0.0; base.len()];
    let mut b = vec![0.0; step.len()];
    for _ in 0..RESAMPLES {
        resample(&mut rng, base, &mut a);
        resample(&mut rng, step, &mut b);
        let (ma, mb) = (median(&a)?, median(&b)?);
        if ma > 0.0 {
            ratios.push(mb / ma);
        }
    }
    if ratios.len() < RESAMPLES / 2 {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| {
        ratios
            .get(((ratios.len() - 1) as f64 * q).round() as usize)
            .copied()
    };
    Some((at(0.05)?, at(0.95)?))
}

fn resample(rng: &mut Rng, from: &[f64], into: &mut [f64]) {
    for slot in into.iter_mut() {
        let i = (rng.next_u64() % from.len() as u64) as usize;
        *slot = from.get(i).copied().unwrap_or(f64::NAN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_the_lower_middle() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn identical_rounds_give_a_point_interval() {
        let r = [0.5; 5];
        assert_eq!(ratio_interval(&r, &[0.6; 5]), Some((0.6 / 0.5, 0.6 / 0.5)));
    }

    #[test]
    fn the_interval_holds_the_ratio_of_medians_and_widens_with_spread() {
        // Run 3 of the twelfth session, cc: 10 realms, then 100,000.
        let base = [0.69, 0.61, 0.71, 0.66, 0.96, 0.56, 0.82];
        let step = [0.79, 0.67, 0.82, 0.99, 0.94, 0.78, 1.08];
        let (lo, hi) = ratio_interval(&base, &step).unwrap_or((f64::NAN, f64::NAN));
        let point = median(&step).unwrap_or(f64::NAN) / median(&base).unwrap_or(f64::NAN);
        assert!(lo <= point && point <= hi, "{lo} {point} {hi}");
        assert!(hi > 1.2 && lo < 1.2, "{lo} {hi}");
        // The same medians with a tenth of the spread: a narrower interval.
        let tight = |v: &[f64], m: f64| v.iter().map(|x| m + (x - m) / 10.0).collect::<Vec<_>>();
        let (tb, ts) = (tight(&base, 0.69), tight(&step, 0.82));
        let (tlo, thi) = ratio_interval(&tb, &ts).unwrap_or((f64::NAN, f64::NAN));
        assert!(thi - tlo < (hi - lo) / 4.0, "{tlo} {thi} vs {lo} {hi}");
    }

    #[test]
    fn too_few_rounds_or_a_zero_base_give_none() {
        assert_eq!(ratio_interval(&[1.0, 1.0], &[1.0, 1.0, 1.0]), None);
        assert_eq!(ratio_interval(&[0.0; 3], &[1.0; 3]), None);
    }
}
