//! Instants for the `before`/`after` operators: epoch milliseconds, from a
//! JSON number or an RFC 3339 string. The core has no clock: these are only
//! the values the flag data and the context carry.

use serde_json::Value;

/// Reads a JSON value as epoch milliseconds.
///
/// Numbers are taken as they are, as LaunchDarkly's Node and Python SDKs
/// compare them. Strings must be RFC 3339 with a zone and give exact integer
/// milliseconds (finer fractions are dropped), as the Go and Node SDKs do.
pub(crate) fn millis(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().filter(|ms| ms.is_finite()),
        Value::String(s) => parse_rfc3339(s).map(|ms| ms as f64),
        _ => None,
    }
}

/// `YYYY-MM-DD(T|t)h[h]:mm:ss[.fraction](Z|z|±hh:mm)`, as Go's parser takes it.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't')) {
        return None;
    }
    // Go accepts a one-digit hour.
    let (hour, mut at) = match digits(b, 11, 2) {
        Some(h) => (h, 13),
        None => (digits(b, 11, 1)?, 12),
    };
    expect(b, at, b':')?;
    let minute = digits(b, at + 1, 2)?;
    expect(b, at + 3, b':')?;
    let second = digits(b, at + 4, 2)?;
    at += 6;
    let mut millis_part = 0;
    if b.get(at) == Some(&b'.') {
        let start = at + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let len = end - start;
        if !(1..=9).contains(&len) {
            return None;
        }
        // The first three digits are milliseconds; the rest are dropped.
        for i in 0..3 {
            millis_part = millis_part * 10
                + b.get(start + i)
                    .filter(|_| i < len)
                    .map_or(0, |d| i64::from(d - b'0'));
        }
        at = end;
    }
    let offset_minutes = match b.get(at) {
        Some(b'Z' | b'z') if b.len() == at + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == at + 6 => {
            let hours = digits(b, at + 1, 2)?;
            expect(b, at + 3, b':')?;
            let minutes = digits(b, at + 4, 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let total = hours * 60 + minutes;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis_part)
}

fn digits(b: &[u8], start: usize, len: usize) -> Option<i64> {
    let slice = b.get(start..start + len)?;
    if !slice.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(slice.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
}

fn expect(b: &[u8], at: usize, c: u8) -> Option<()> {
    (b.get(at) == Some(&c)).then_some(())
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_instant_written_four_ways() {
        for text in [
            "2017-12-06T00:00:00.000-07:00",
            "2017-12-06T07:00:00.000Z",
            "2017-12-06T07:00:00Z",
            "2017-12-06t07:00:00.0009z",
        ] {
            assert_eq!(parse_rfc3339(text), Some(1_512_543_600_000), "{text}");
        }
        assert_eq!(parse_rfc3339("1970-01-01T0:00:00.5Z"), Some(500));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.250Z"), Some(-750));
    }

    #[test]
    fn malformed_dates_are_refused() {
        for bad in [
            "2017-12-06",
            "00:00:00.000-07:00",
            "2017-12-06X00:00:00.000-07:00",
            "2017-12-06T07:00:00",
            "2017-02-30T07:00:00Z",
            "2017-12-06T07:00:00.Z",
            "2017-12-06T07:00:00.0123456789Z",
            "badstring",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }
}
