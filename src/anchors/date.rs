//! Calendar dates as anchors.yaml writes them (`YYYY-MM-DD`): an approval's day and a waiver's
//! expiry, compared with today (the clock's UTC day, or `--today`).

use std::fmt;

/// A day of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01 (negative before).
    days: i64,
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Date {
    /// Reads `YYYY-MM-DD` exactly (four-digit year, two-digit month and day, a real day).
    pub fn parse(text: &str) -> Result<Date, String> {
        let bytes = text.as_bytes();
        let shape = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape {
            return Err(format!("`{text}` is not a date written YYYY-MM-DD"));
        }
        let year: i64 = text[..4]
            .parse()
            .map_err(|_| format!("bad year in `{text}`"))?;
        let month: u32 = text[5..7]
            .parse()
            .map_err(|_| format!("bad month in `{text}`"))?;
        let day: u32 = text[8..]
            .parse()
            .map_err(|_| format!("bad day in `{text}`"))?;
        if !(1..=12).contains(&month) {
            return Err(format!("`{text}` has no month {month}"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(format!("`{text}` is not a day of that month"));
        }
        Ok(Date {
            days: days_from_civil(year, month, day),
        })
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date {
            days: i64::try_from(seconds / 86_400).unwrap_or(0),
        }
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.days - self.days
    }

    /// `(year, month, day)`.
    fn civil(self) -> (i64, u32, u32) {
        let z = self.days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.civil();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_back_as_written_and_count_days() {
        for text in [
            "1970-01-01",
            "2024-02-29",
            "2026-12-31",
            "2000-03-01",
            "1969-12-31",
        ] {
            assert_eq!(Date::parse(text).unwrap().to_string(), text);
        }
        let a = Date::parse("2026-02-27").unwrap();
        let b = Date::parse("2026-03-01").unwrap();
        assert_eq!(a.days_until(b), 2);
        assert_eq!(b.days_until(a), -2);
        assert!(a < b);
    }

    #[test]
    fn malformed_dates_are_refused() {
        for text in [
            "2026-2-01",
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "26-01-01",
            "2026/01/01",
            "2026-00-10",
            "",
        ] {
            assert!(Date::parse(text).is_err(), "{text}");
        }
    }
}
