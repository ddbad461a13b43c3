//! Rule tests a planner writes next to a campaign: `campc test FILE.camptest`.
//!
//! ```text
//! # Tests for ama-toku-4.camp.
//! campaigns ama-toku-4.camp paypay-step.camp
//!
//! test "only PayPay tenders are the basis (S4.3)" {
//!   {"type":"payment","id":"p1","account":"u1","at":"2026-02-03T10:00:00+09:00","amount":1200, ...}
//!   expect ama-toku-4/p1 = 70
//!   expect paypay-step/p1 = 0
//!   expect reject r9
//! }
//! ```
//!
//! Each test runs its events, in order, on a fresh runtime with the campaigns named by
//! `campaigns` (paths relative to the test file). `expect CAMPAIGN/PAYMENT = N` checks what the
//! campaign owes for the payment after all the events; `expect reject ID` that the event was
//! rejected. Comments start with `#`.

use std::collections::{HashMap, HashSet};

use crate::{Entry, LoadError, Runtime, SourceFile};

/// A parsed test file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestFile {
    /// Campaign files, relative to the test file.
    pub campaigns: Vec<String>,
    /// The tests, in order.
    pub tests: Vec<TestCase>,
}

/// One test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestCase {
    /// Its name.
    pub name: String,
    /// The line of its `test` header.
    pub line: usize,
    /// Its events: line number and JSON text.
    pub events: Vec<(usize, String)>,
    /// What must hold after the events.
    pub expects: Vec<Expect>,
}

/// One expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `expect CAMPAIGN/PAYMENT = N`
    Owed {
        /// The campaign id.
        campaign: String,
        /// The payment id.
        payment: String,
        /// The points owed.
        points: i64,
        /// Where it was written.
        line: usize,
    },
    /// `expect reject ID`
    Reject {
        /// The event id.
        event: String,
        /// Where it was written.
        line: usize,
    },
}

/// A test file that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads a test file.
pub fn parse(text: &str) -> Result<TestFile, SyntaxError> {
    let mut file = TestFile { campaigns: Vec::new(), tests: Vec::new() };
    let mut current: Option<TestCase> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        let error = |message: &str| SyntaxError { line, message: message.to_string() };
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match current.as_mut() {
            None => {
                if let Some(rest) = trimmed.strip_prefix("campaigns ") {
                    file.campaigns.extend(rest.split_whitespace().map(str::to_string));
                } else if let Some(rest) = trimmed.strip_prefix("test ") {
                    let name = rest
                        .strip_suffix('{')
                        .map(str::trim)
                        .and_then(|n| n.strip_prefix('"'))
                        .and_then(|n| n.strip_suffix('"'))
                        .ok_or_else(|| error("write a test as `test \"what it checks\" {`"))?;
                    current = Some(TestCase { name: name.to_string(), line, events: Vec::new(), expects: Vec::new() });
                } else {
                    return Err(error("expected `campaigns FILE...` or `test \"name\" {`"));
                }
            }
            Some(test) => {
                if trimmed == "}" {
                    file.tests.extend(current.take());
                } else if trimmed.starts_with('{') {
                    test.events.push((line, trimmed.to_string()));
                } else if let Some(rest) = trimmed.strip_prefix("expect reject ") {
                    test.expects.push(Expect::Reject { event: rest.trim().to_string(), line });
                } else if let Some(rest) = trimmed.strip_prefix("expect ") {
                    let (key, points) =
                        rest.split_once('=').ok_or_else(|| error("write `expect CAMPAIGN/PAYMENT = POINTS`"))?;
                    let (campaign, payment) =
                        key.trim().split_once('/').ok_or_else(|| error("write `expect CAMPAIGN/PAYMENT = POINTS`"))?;
                    let points =
                        points.trim().parse::<i64>().map_err(|_| error("the points must be a whole number"))?;
                    test.expects.push(Expect::Owed {
                        campaign: campaign.to_string(),
                        payment: payment.to_string(),
                        points,
                        line,
                    });
                } else {
                    return Err(error("inside a test: a JSON event, `expect ...` or `}`"));
                }
            }
        }
    }
    if let Some(test) = current {
        return Err(SyntaxError { line: test.line, message: format!("test \"{}\" has no closing `}}`", test.name) });
    }
    if file.campaigns.is_empty() {
        return Err(SyntaxError { line: 1, message: "the file names no `campaigns`".to_string() });
    }
    Ok(file)
}

/// The result of one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The test's name.
    pub name: String,
    /// Its line.
    pub line: usize,
    /// One message per expectation that failed, with its line.
    pub failures: Vec<(usize, String)>,
}

/// Runs every test of a file against the campaigns (already read by the caller).
pub fn run(file: &TestFile, campaigns: &[SourceFile<'_>]) -> Result<Vec<Outcome>, LoadError> {
    let program = crate::compile(campaigns)?;
    let mut outcomes = Vec::new();
    for test in &file.tests {
        let mut runtime = Runtime::with_evaluator(Box::new(camp_compiler::Interp::new(program.clone())));
        let mut owed: HashMap<(String, String), i64> = HashMap::new();
        let mut rejected: HashSet<String> = HashSet::new();
        for (line, text) in &test.events {
            for entry in runtime.process_line(*line, text) {
                if let Entry::Reject { event, line, .. } = &entry {
                    rejected.insert(event.clone().unwrap_or_else(|| format!("line:{line}")));
                }
                if let Some((campaign, payment)) = entry.owed_key() {
                    *owed.entry((campaign.to_string(), payment.to_string())).or_default() += entry.points();
                }
            }
        }
        let mut failures = Vec::new();
        for expect in &test.expects {
            match expect {
                Expect::Owed { campaign, payment, points, line } => {
                    let got = owed.get(&(campaign.clone(), payment.clone())).copied().unwrap_or(0);
                    if got != *points {
                        failures.push((*line, format!("{campaign}/{payment} owes {got}, expected {points}")));
                    }
                }
                Expect::Reject { event, line } => {
                    if !rejected.contains(event) {
                        failures.push((*line, format!("event {event} was accepted, expected a reject")));
                    }
                }
            }
        }
        outcomes.push(Outcome { name: test.name.clone(), line: test.line, failures });
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_file_reads_back_its_parts() {
        let text = "# c\ncampaigns a.camp b.camp\n\ntest \"one\" {\n  {\"type\":\"enroll\"}\n  expect x/p1 = 70\n  expect reject r9\n}\n";
        let file = parse(text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(file.campaigns, ["a.camp", "b.camp"]);
        assert_eq!(file.tests[0].events, [(5, "{\"type\":\"enroll\"}".to_string())]);
        assert_eq!(file.tests[0].expects.len(), 2);
    }

    #[test]
    fn mistakes_in_a_test_file_name_their_line() {
        let cases = [
            ("campaigns a.camp\ntest \"t\" {\n  expect x/p1 = seventy\n}\n", 3),
            ("campaigns a.camp\ntest \"t\" {\n", 2),
            ("test t {\n}\n", 1),
            ("campaigns a.camp\nwhat\n", 2),
        ];
        for (text, line) in cases {
            assert_eq!(parse(text).map_err(|e| e.line), Err(line), "{text}");
        }
    }
}
