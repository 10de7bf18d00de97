//! Profiler: named checkpoints with elapsed microseconds, dumped through `tracing` when `debug` is on.

use std::fmt;
use std::time::Instant;

/// Checkpoints since the transaction started.
#[derive(Clone)]
pub struct Profiler {
    start: Instant,
    last: Instant,
    marks: Vec<(String, u64)>,
}

impl Default for Profiler {
    fn default() -> Self {
        Self::new()
    }
}

impl Profiler {
    /// Start timing now.
    pub fn new() -> Self {
        let now = Instant::now();
        Profiler {
            start: now,
            last: now,
            marks: Vec::with_capacity(16),
        }
    }

    /// Record `name` with the microseconds since the previous checkpoint.
    pub fn checkpoint(&mut self, name: &str) {
        let now = Instant::now();
        let us = u64::try_from(now.duration_since(self.last).as_micros()).unwrap_or(u64::MAX);
        self.last = now;
        self.marks.push((name.to_owned(), us));
    }

    /// Checkpoints as (name, µs since the previous one).
    pub fn marks(&self) -> &[(String, u64)] {
        &self.marks
    }

    /// Microseconds since the start.
    pub fn elapsed_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for Profiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, us) in &self.marks {
            writeln!(f, "{us:>8}us  {name}")?;
        }
        write!(f, "{:>8}us  end", self.elapsed_us())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_checkpoints_in_order() {
        let mut p = Profiler::new();
        p.checkpoint("prepare: a");
        p.checkpoint("commit: a");
        let names: Vec<_> = p.marks().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["prepare: a", "commit: a"]);
        assert!(p.to_string().ends_with("end"));
    }
}
