//! `${...}` substitution in case values: per-case STAN and RRN, the case's start time in a jPOS
//! (`SimpleDateFormat`-like) pattern, and variables (file `vars:` and captures).
//!
//! `${stan}` is the same within one case and new for every case, so a request can use it in DE 11
//! and DE 37 alike; `${rrn}` is a 12-character retrieval reference built from it. `$${` is a literal `${`.

use std::collections::HashMap;

use chrono::{DateTime, Local};

/// The values functions see while one case is expanded.
#[derive(Debug, Clone)]
pub struct CaseScope {
    /// This case's STAN.
    pub stan: u64,
    /// This case's start (local time, as terminals send DE 12).
    pub now: DateTime<Local>,
}

impl CaseScope {
    /// The retrieval reference number: `SY` + the STAN's last 10 digits.
    pub fn rrn(&self) -> String {
        format!("SY{:010}", self.stan % 10_000_000_000)
    }
}

/// Turn a jPOS date pattern (`yyyy`, `yy`, `MM`, `dd`, `HH`, `mm`, `ss`, `SSS`) into a chrono format.
fn chrono_pattern(p: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = p;
    const TOKENS: [(&str, &str); 8] = [
        ("yyyy", "%Y"),
        ("yy", "%y"),
        ("MM", "%m"),
        ("dd", "%d"),
        ("HH", "%H"),
        ("mm", "%M"),
        ("ss", "%S"),
        ("SSS", "%3f"),
    ];
    'outer: while !rest.is_empty() {
        for (t, f) in TOKENS {
            if let Some(r) = rest.strip_prefix(t) {
                out.push_str(f);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        if c.is_ascii_alphabetic() {
            return Err(format!(
                "date pattern {p:?}: unsupported letter {c:?} (use yyyy yy MM dd HH mm ss SSS)"
            ));
        }
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// Expand every `${...}` in `text`.
pub fn expand(
    text: &str,
    scope: &CaseScope,
    vars: &HashMap<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        if i > 0 && rest.as_bytes()[i - 1] == b'$' {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("{text:?}: unclosed ${{"))?;
        let expr = after[..end].trim();
        out.push_str(&eval(expr, scope, vars)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn eval(expr: &str, scope: &CaseScope, vars: &HashMap<String, String>) -> Result<String, String> {
    if let Some(pattern) = expr.strip_prefix("now:") {
        return Ok(scope.now.format(&chrono_pattern(pattern)?).to_string());
    }
    match expr {
        "stan" => Ok(scope.stan.to_string()),
        "rrn" => Ok(scope.rrn()),
        "now" => Ok(scope.now.format("%m%d%H%M%S").to_string()),
        name => vars.get(name).cloned().ok_or_else(|| {
            let mut known: Vec<&str> = vars.keys().map(String::as_str).collect();
            known.sort_unstable();
            format!("unknown variable ${{{name}}} (functions: stan, rrn, now, now:PATTERN; variables: {known:?})")
        }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn scope() -> CaseScope {
        CaseScope {
            stan: 4711,
            now: Local
                .with_ymd_and_hms(2026, 11, 23, 9, 5, 7)
                .single()
                .expect("valid time"),
        }
    }

    #[test]
    fn functions_variables_and_escapes() {
        let vars = HashMap::from([("orig".to_owned(), "000000000042".to_owned())]);
        let s = scope();
        let check = |input: &str, want: &str| {
            assert_eq!(expand(input, &s, &vars).expect(input), want, "{input}");
        };
        check("${stan}", "4711");
        check("${rrn}", "SY0000004711");
        check("${now:MMddHHmmss}", "1123090507");
        check("${now:yyyyMMddHHmmss}", "20261123090507");
        check("${now:yyMM}", "2611");
        check("${now}", "1123090507");
        check(
            "2100${orig}${now:yyyyMMddHHmmss}000001",
            "210000000000004220261123090507000001",
        );
        check("$${stan} is literal", "${stan} is literal");
        assert!(expand("${nope}", &s, &vars)
            .expect_err("unknown")
            .contains("unknown variable ${nope}"));
        assert!(expand("${stan", &s, &vars).is_err());
        assert!(expand("${now:QQ}", &s, &vars).is_err());
    }
}
