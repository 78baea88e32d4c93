//! Percentiles of a sample of durations or numbers.

use std::time::Duration;

/// A sorted sample.
#[derive(Clone, Debug, Default)]
pub struct Sample(Vec<f64>);

impl Sample {
    pub fn new(mut values: Vec<f64>) -> Sample {
        values.sort_by(|a, b| a.total_cmp(b));
        Sample(values)
    }

    /// Durations, in milliseconds.
    pub fn of_ms(durations: impl IntoIterator<Item = Duration>) -> Sample {
        Sample::new(
            durations
                .into_iter()
                .map(|d| d.as_secs_f64() * 1e3)
                .collect(),
        )
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Nearest-rank percentile (`p` in 0..=100); 0 for an empty sample.
    pub fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    pub fn p50(&self) -> f64 {
        self.pct(50.0)
    }

    pub fn p99(&self) -> f64 {
        self.pct(99.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s = Sample::new((1..=100).rev().map(f64::from).collect());
        assert_eq!(s.p50(), 50.0);
        assert_eq!(s.p99(), 99.0);
        assert_eq!(s.pct(100.0), 100.0);
        assert_eq!(Sample::default().p50(), 0.0);
    }
}
