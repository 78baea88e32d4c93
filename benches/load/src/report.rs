//! The figures a run produced: a table on standard output and a JSON file.

use serde::Serialize;

/// The bound a figure is held to.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    AtMost(f64),
    AtLeast(f64),
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::AtMost(limit) => value <= limit,
            Goal::AtLeast(limit) => value >= limit,
        }
    }

    fn describe(self) -> String {
        match self {
            Goal::AtMost(v) => format!("<= {}", number(v)),
            Goal::AtLeast(v) => format!(">= {}", number(v)),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub scenario: String,
    pub name: String,
    pub value: f64,
    pub unit: String,
    pub goal: Option<Goal>,
    pub met: Option<bool>,
}

/// Everything measured in one run.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub started_at: String,
    pub quick: bool,
    pub machine: Machine,
    pub figures: Vec<Figure>,
    /// What a scenario wants the reader to know (its settings, failures).
    pub notes: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub load_before: String,
    pub load_after: String,
}

impl Report {
    pub fn add(&mut self, scenario: &str, name: &str, value: f64, unit: &str, goal: Option<Goal>) {
        let figure = Figure {
            scenario: scenario.into(),
            name: name.into(),
            value,
            unit: unit.into(),
            goal,
            met: goal.map(|g| g.met(value)),
        };
        println!(
            "  {:<10} {:<58} {:>12} {}",
            figure.scenario,
            figure.name,
            number(value),
            figure.unit
        );
        self.figures.push(figure);
    }

    pub fn note(&mut self, scenario: &str, text: impl Into<String>) {
        let text = format!("{scenario}: {}", text.into());
        println!("  note  {text}");
        self.notes.push(text);
    }

    /// The whole table, goals included.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "| {:<10} | {:<58} | {:>12} | {:<8} | {:<10} | {:<4} |\n",
            "scenario", "figure", "value", "unit", "goal", "met"
        ));
        out.push_str(&format!(
            "|{:-<12}|{:-<60}|{:->14}|{:-<10}|{:-<12}|{:-<6}|\n",
            "", "", "", "", "", ""
        ));
        for f in &self.figures {
            out.push_str(&format!(
                "| {:<10} | {:<58} | {:>12} | {:<8} | {:<10} | {:<4} |\n",
                f.scenario,
                f.name,
                number(f.value),
                f.unit,
                f.goal.map(Goal::describe).unwrap_or_default(),
                match f.met {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "",
                }
            ));
        }
        out
    }
}

/// At most 3 significant decimals, no trailing zeros.
pub fn number(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_goals() {
        assert_eq!(number(123456.7), "123457");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(2.0), "2");
        assert!(Goal::AtMost(5.0).met(5.0));
        assert!(!Goal::AtLeast(5.0).met(4.9));
    }
}
