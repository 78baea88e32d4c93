//! Choosing the backend for a request: among the healthy ones that have the model, the least
//! busy (a free slot first, then the smallest share of its capacity in use or waiting); ties
//! go to the one listed first.

use std::cmp::Ordering;

/// What selection needs to know about one backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub healthy: bool,
    pub has_model: bool,
    /// Answers generating now.
    pub running: usize,
    /// Requests waiting in its line.
    pub waiting: usize,
    /// Its `max_parallel`.
    pub limit: usize,
}

/// The outcome of a choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The index of the chosen backend.
    Backend(usize),
    /// No healthy backend (other than the excluded one).
    NoneHealthy,
    /// Healthy backends exist, but none has the model.
    ModelMissing,
}

impl Candidate {
    fn has_free_slot(&self) -> bool {
        self.running < self.limit && self.waiting == 0
    }

    /// Compares how busy two backends are, relative to their capacity.
    fn busier_than(&self, other: &Candidate) -> Ordering {
        let (mine, theirs) = (self.running + self.waiting, other.running + other.waiting);
        other
            .has_free_slot()
            .cmp(&self.has_free_slot())
            .then_with(|| (mine * other.limit.max(1)).cmp(&(theirs * self.limit.max(1))))
    }
}

/// Picks a backend; `exclude` (the one that just failed) is never chosen.
pub fn choose(candidates: &[Candidate], exclude: Option<usize>) -> Choice {
    let healthy = || {
        candidates
            .iter()
            .enumerate()
            .filter(|(i, c)| c.healthy && Some(*i) != exclude)
    };
    if healthy().next().is_none() {
        return Choice::NoneHealthy;
    }
    // `min_by` keeps the first of equals: ties go to the backend listed first.
    healthy()
        .filter(|(_, c)| c.has_model)
        .min_by(|(_, a), (_, b)| a.busier_than(b))
        .map_or(Choice::ModelMissing, |(i, _)| Choice::Backend(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(limit: usize) -> Candidate {
        Candidate {
            healthy: true,
            has_model: true,
            running: 0,
            waiting: 0,
            limit,
        }
    }

    fn busy(running: usize, waiting: usize, limit: usize) -> Candidate {
        Candidate {
            running,
            waiting,
            ..idle(limit)
        }
    }

    #[test]
    fn the_least_busy_wins_and_ties_go_to_the_first_listed() {
        assert_eq!(choose(&[idle(1), idle(1)], None), Choice::Backend(0));
        assert_eq!(choose(&[busy(1, 0, 2), idle(2)], None), Choice::Backend(1));
        assert_eq!(
            choose(&[busy(2, 0, 4), busy(1, 0, 4), busy(3, 0, 4)], None),
            Choice::Backend(1)
        );
    }

    #[test]
    fn busyness_is_relative_to_capacity() {
        // 2 of 8 in use is less busy than 1 of 2.
        assert_eq!(
            choose(&[busy(1, 0, 2), busy(2, 0, 8)], None),
            Choice::Backend(1)
        );
        // When all are full, the shortest line relative to capacity.
        assert_eq!(
            choose(&[busy(1, 3, 1), busy(4, 4, 4)], None),
            Choice::Backend(1)
        );
    }

    #[test]
    fn a_free_slot_beats_a_line() {
        // The first is full with nobody waiting; the second has room although it is bigger
        // and has more running.
        assert_eq!(
            choose(&[busy(1, 0, 1), busy(5, 0, 8)], None),
            Choice::Backend(1)
        );
        // A line means no free slot, even below the limit.
        assert_eq!(
            choose(&[busy(0, 1, 2), busy(1, 0, 2)], None),
            Choice::Backend(1)
        );
    }

    #[test]
    fn unhealthy_backends_and_those_without_the_model_are_skipped() {
        let down = Candidate {
            healthy: false,
            ..idle(4)
        };
        let no_model = Candidate {
            has_model: false,
            ..idle(4)
        };
        assert_eq!(choose(&[down, busy(3, 2, 1)], None), Choice::Backend(1));
        assert_eq!(choose(&[no_model, busy(3, 2, 1)], None), Choice::Backend(1));
        assert_eq!(choose(&[down, no_model], None), Choice::ModelMissing);
        assert_eq!(choose(&[down, down], None), Choice::NoneHealthy);
        assert_eq!(choose(&[], None), Choice::NoneHealthy);
    }

    #[test]
    fn the_excluded_backend_is_never_chosen() {
        assert_eq!(
            choose(&[idle(1), busy(9, 9, 1)], Some(0)),
            Choice::Backend(1)
        );
        assert_eq!(choose(&[idle(1)], Some(0)), Choice::NoneHealthy);
        let no_model = Candidate {
            has_model: false,
            ..idle(1)
        };
        assert_eq!(choose(&[idle(1), no_model], Some(0)), Choice::ModelMissing);
    }
}
