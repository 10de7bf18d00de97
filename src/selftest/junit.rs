//! JUnit XML for CI systems: one test suite per case file, one test case per case, failures with
//! their reasons and the masked request/response as system-out.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::error::SelftestError;
use super::runner::CaseResult;

/// The report for `results` (in run order).
pub fn report(results: &[CaseResult]) -> Report {
    let mut report = Report::new("switchyard-selftest");
    let mut total = Duration::ZERO;
    let mut current: Option<(String, TestSuite)> = None;
    for r in results {
        let file = r.file.file_name().map_or_else(
            || r.file.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        );
        if current.as_ref().is_none_or(|(f, _)| *f != file) {
            if let Some((_, suite)) = current.take() {
                report.add_test_suite(suite);
            }
            current = Some((file.clone(), TestSuite::new(file.clone())));
        }
        let status = if r.passed() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(r.failures.join("; "));
            s
        };
        let mut tc = TestCase::new(format!("{}: {}", r.number, r.description), status);
        tc.set_classname(file.trim_end_matches(".yml").to_owned());
        tc.set_time(r.elapsed);
        let mut out = String::new();
        if let Some(q) = &r.request {
            out.push_str(&format!("request:  {q}\n"));
        }
        if let Some(a) = &r.response {
            out.push_str(&format!("response: {a}\n"));
        }
        if !out.is_empty() {
            tc.set_system_out(out);
        }
        total += r.elapsed;
        if let Some((_, suite)) = current.as_mut() {
            suite.add_test_case(tc);
        }
    }
    if let Some((_, suite)) = current {
        report.add_test_suite(suite);
    }
    report.set_time(total);
    report
}

/// Write the report for `results` to `path`.
pub fn write(path: &Path, results: &[CaseResult]) -> Result<(), SelftestError> {
    let err = |reason: String| SelftestError::Junit {
        path: path.to_path_buf(),
        reason,
    };
    let xml = report(results)
        .to_string()
        .map_err(|e| err(e.to_string()))?;
    std::fs::write(path, xml).map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn result(n: usize, file: &str, failures: &[&str]) -> CaseResult {
        CaseResult {
            number: n,
            description: format!("case <{n}> & co"),
            file: PathBuf::from(file),
            elapsed: Duration::from_millis(12),
            failures: failures.iter().map(|s| (*s).to_owned()).collect(),
            request: Some("2100 2=600933******0025".into()),
            response: None,
        }
    }

    #[test]
    fn suites_per_file_failures_counted_and_escaped() {
        let results = [
            result(1, "cases/010_net.yml", &[]),
            result(
                2,
                "cases/020_buy.yml",
                &["field 39: expected 0000, got 1016"],
            ),
            result(3, "cases/020_buy.yml", &[]),
        ];
        let xml = report(&results).to_string().expect("xml");
        assert!(xml.contains(r#"tests="3""#), "{xml}");
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(
            xml.contains("010_net.yml") && xml.contains("020_buy.yml"),
            "{xml}"
        );
        assert!(xml.contains("case &lt;2&gt; &amp; co"), "{xml}");
        assert!(xml.contains("expected 0000, got 1016"), "{xml}");
        assert!(xml.contains("600933******0025"), "{xml}");
    }
}
