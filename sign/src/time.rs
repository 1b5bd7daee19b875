//! Conversions between TOML datetimes, Unix seconds and RFC 3339 text,
//! without a calendar dependency (proleptic Gregorian calendar, UTC).

use toml::value::{Datetime, Offset};

const SECONDS_PER_DAY: i64 = 86_400;

/// Days from 1970-01-01 to the given civil date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day number counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Seconds since the Unix epoch of a TOML offset datetime.
///
/// Refuses local dates, local times and local datetimes (no offset: the
/// instant would depend on the build machine's time zone), fractional
/// seconds, leap seconds and instants before 1970.
pub(crate) fn unix_seconds(value: &Datetime) -> Result<u64, String> {
    let (Some(date), Some(time)) = (value.date, value.time) else {
        return Err(format!(
            "{value} is not a full date and time; write e.g. 2026-01-14T00:00:00Z"
        ));
    };
    let Some(offset) = value.offset else {
        return Err(format!(
            "{value} has no UTC offset; add Z (UTC) or an offset such as +01:00"
        ));
    };
    if time.nanosecond.is_some_and(|n| n != 0) {
        return Err(format!("{value}: fractional seconds are not supported"));
    }
    let second = time.second.unwrap_or(0);
    if second >= 60 {
        return Err(format!("{value}: leap seconds are not supported"));
    }
    let offset_minutes = match offset {
        Offset::Z => 0,
        Offset::Custom { minutes } => i64::from(minutes),
    };
    let days = days_from_civil(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    let seconds = days * SECONDS_PER_DAY
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(second)
        - offset_minutes * 60;
    u64::try_from(seconds).map_err(|_| format!("{value} is before 1970-01-01T00:00:00Z"))
}

/// RFC 3339 text (UTC) of Unix seconds, for messages.
pub(crate) fn rfc3339(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The current time in Unix seconds (0 if the clock is before 1970).
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(text: &str) -> Datetime {
        text.parse().unwrap()
    }

    #[test]
    fn converts_known_instants() {
        assert_eq!(unix_seconds(&dt("1970-01-01T00:00:00Z")), Ok(0));
        assert_eq!(unix_seconds(&dt("2026-01-14T00:00:00Z")), Ok(1_768_348_800));
        assert_eq!(
            unix_seconds(&dt("2026-01-14T01:00:00+01:00")),
            Ok(1_768_348_800)
        );
        assert_eq!(
            unix_seconds(&dt("2000-02-29T23:59:59-00:30")),
            Ok(951_870_599)
        );
    }

    #[test]
    fn refuses_ambiguous_or_odd_values() {
        for bad in [
            "2026-01-14",
            "00:00:00",
            "2026-01-14T00:00:00",
            "2026-01-14T00:00:00.5Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(unix_seconds(&dt(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips_through_text() {
        for s in [
            0u64,
            951_870_599,
            1_768_348_800,
            4_102_444_800,
            253_402_300_799,
        ] {
            assert_eq!(unix_seconds(&dt(&rfc3339(s))), Ok(s), "{s}");
        }
        for d in -800_000i64..800_000 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}
