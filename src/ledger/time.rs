//! Instants given by people: RFC 3339 (`2026-11-23T10:00:00Z`) or a bare UTC date (`2026-11-23`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::error::LedgerError;

fn parse(s: &str, next_day: bool) -> Result<DateTime<Utc>, LedgerError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let bad = || {
        LedgerError::invalid(
            "time",
            format!("{s:?} is neither an RFC 3339 time nor a YYYY-MM-DD date"),
        )
    };
    let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    let date = if next_day {
        date.succ_opt().ok_or_else(bad)?
    } else {
        date
    };
    Ok(date.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc())
}

/// Start of a range: a date means its first instant.
pub fn parse_from(s: &str) -> Result<DateTime<Utc>, LedgerError> {
    parse(s, false)
}

/// Exclusive end of a range: a date is included, so it means the next midnight.
pub fn parse_to(s: &str) -> Result<DateTime<Utc>, LedgerError> {
    parse(s, true)
}

/// An as-of instant (inclusive): a date means through its end (next midnight − 1 µs).
pub fn parse_as_of(s: &str) -> Result<DateTime<Utc>, LedgerError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    Ok(parse(s, true)? - Duration::microseconds(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(parse_from("2026-11-23").unwrap(), t("2026-11-23T00:00:00Z"));
        assert_eq!(parse_to("2026-11-23").unwrap(), t("2026-11-24T00:00:00Z"));
        assert_eq!(
            parse_as_of("2026-11-23").unwrap(),
            t("2026-11-23T23:59:59.999999Z")
        );
        assert_eq!(
            parse_as_of("2026-11-23T10:00:00+01:00").unwrap(),
            t("2026-11-23T09:00:00Z")
        );
        assert!(parse_from("yesterday").is_err());
    }
}
