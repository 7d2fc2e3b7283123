//! Time zones: what a typed name means, and a timestamp (stored in UTC) as people read it.

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

const NOT_A_ZONE: &str = "A time zone like Europe/Berlin or America/New_York (an IANA name), or UTC.";

/// The zone a typed name stands for, in any case ("europe/berlin" is Europe/Berlin).
pub fn time_zone(typed: &str) -> Result<Tz, &'static str> {
    let typed = typed.trim();
    if typed.is_empty() || typed.len() > 64 {
        return Err(NOT_A_ZONE);
    }
    typed.parse::<Tz>().or_else(|_| Tz::from_str_insensitive(typed)).map_err(|_| NOT_A_ZONE)
}

/// A stored UTC timestamp in `zone`: "3 Dec 2026 08:36 CET"; "Never" for none.
pub fn when_in(at: Option<NaiveDateTime>, zone: Tz) -> String {
    at.map_or_else(|| "Never".to_owned(), |t| zone.from_utc_datetime(&t).format("%-d %b %Y %H:%M %Z").to_string())
}

/// A day as a mail names it: "3 December 2026".
pub fn day_text(day: chrono::NaiveDate) -> String {
    day.format("%-d %B %Y").to_string()
}

/// The moment `date` begins in `zone`, in UTC (the first moment after a gap a clock change makes).
pub fn start_of_day(date: chrono::NaiveDate, zone: Tz) -> NaiveDateTime {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    (0..4)
        .find_map(|hour| zone.from_local_datetime(&(midnight + chrono::Duration::hours(hour))).earliest())
        .map_or(midnight, |t| t.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_zone_is_found_in_any_case_and_nonsense_is_refused() {
        assert_eq!(time_zone(" europe/berlin ").unwrap(), chrono_tz::Europe::Berlin);
        assert_eq!(time_zone("UTC").unwrap(), chrono_tz::UTC);
        for bad in ["", "Mars/Olympus", "Europe/Berlin\0", &"x".repeat(300)] {
            assert!(time_zone(bad).is_err(), "{bad:?}");
        }
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap().and_hms_opt(7, 36, 0).unwrap();
        assert_eq!(when_in(Some(at), chrono_tz::Europe::Berlin), "3 Dec 2026 08:36 CET");
        assert_eq!(when_in(Some(at), chrono_tz::UTC), "3 Dec 2026 07:36 UTC");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(start_of_day(day, chrono_tz::Europe::Berlin).to_string(), "2026-12-02 23:00:00");
    }
}
