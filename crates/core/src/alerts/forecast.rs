//! Period-end projection of a budget's spend. Pure: the caller passes the user's local days.
//!
//! * **Pace**: the average of the last [`PACE_WINDOW_DAYS`] complete days (today excluded,
//!   days before the period included) without the single highest and the single lowest day.
//!   Dropping the extremes makes one odd day (a runaway job, a day off) irrelevant. A plain
//!   median would do that too, but it reports a weekday-only user's weekday rate (5 days of
//!   10, 2 of 0: median 10, true average 7.1, this pace 8) and would warn every month about a
//!   budget that is never exceeded. For 3 or 4 days it equals the median.
//! * **Projection**: spent so far (today included) + pace × the full days left after today. The
//!   part of today that is still to come is ignored: today's spend so far is counted as it is,
//!   so the projection errs low by at most one day's pace rather than counting today twice.
//! * Amounts are integer micros; the average is rounded half away from zero.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// Complete days the pace is taken from (at most).
pub const PACE_WINDOW_DAYS: u32 = 7;
/// With fewer complete days of history than this there is no forecast.
pub const MIN_PACE_DAYS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forecast {
    /// Spend in the period up to and including today (up to the period's end if it is over).
    pub spent_micros: i64,
    /// Expected spend per future day.
    pub daily_pace_micros: i64,
    /// `spent_micros + daily_pace_micros ×` full days left in the period after today.
    pub projected_micros: i64,
    /// The first day on which the cumulative spend of the period exceeds the budget: a past day
    /// (or today) when it already has, a future day when the projection does, else `None`.
    pub crosses_on: Option<NaiveDate>,
    /// How many complete days the pace was taken from (3..=7).
    pub basis_days: u32,
}

/// Projects the spend of a budget period to its end.
///
/// * `daily`: `(local day, micros)` spend of one currency in the period so far and the days
///   before it (for the pace); any order, days may repeat (summed) or be missing (0). Days after
///   `today` are ignored. History starts at the earliest day listed.
/// * `period_start..=period_end`: the budget period, inclusive local days.
/// * `today`: the user's local today, partly spent.
///
/// `None` when there are fewer than [`MIN_PACE_DAYS`] complete days of history (days from the
/// earliest listed day up to yesterday), or when the period is empty.
pub fn project(
    daily: &[(NaiveDate, i64)],
    period_start: NaiveDate,
    period_end: NaiveDate,
    today: NaiveDate,
    budget_micros: i64,
) -> Option<Forecast> {
    if period_start > period_end {
        return None;
    }
    let mut by_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for &(day, micros) in daily.iter().filter(|(day, _)| *day <= today) {
        let sum = by_day.entry(day).or_default();
        *sum = sum.saturating_add(micros);
    }
    let spend_on = |day: NaiveDate| by_day.get(&day).copied().unwrap_or(0);

    let earliest = *by_day.keys().next()?;
    let complete_days = u32::try_from((today - earliest).num_days()).unwrap_or(0);
    if complete_days < MIN_PACE_DAYS {
        return None;
    }
    let basis_days = complete_days.min(PACE_WINDOW_DAYS);
    let basis: Vec<i64> =
        (1..=u64::from(basis_days)).filter_map(|d| today.checked_sub_days(Days::new(d))).map(spend_on).collect();
    let pace = trimmed_mean(&basis).max(0);

    let counted_until = today.min(period_end);
    let mut spent: i64 = 0;
    let mut crosses_on = None;
    for day in period_start.iter_days().take_while(|day| *day <= counted_until) {
        spent = spent.saturating_add(spend_on(day));
        if crosses_on.is_none() && spent > budget_micros {
            crosses_on = Some(day);
        }
    }

    // Full days of the period still to come after today.
    let first_future_day = today.succ_opt().map_or(period_end, |tomorrow| tomorrow.max(period_start));
    let remaining_days = if today >= period_end { 0 } else { (period_end - first_future_day).num_days() + 1 };
    let projected = spent.saturating_add(pace.saturating_mul(remaining_days));

    if crosses_on.is_none() && pace > 0 && projected > budget_micros {
        // The j-th future day (1-based) is the first with spent + pace × j > budget.
        let days_until = budget_micros.saturating_sub(spent).div_euclid(pace) + 1;
        crosses_on = first_future_day.checked_add_days(Days::new(u64::try_from(days_until - 1).unwrap_or(0)));
    }

    Some(Forecast { spent_micros: spent, daily_pace_micros: pace, projected_micros: projected, crosses_on, basis_days })
}

/// Mean without the single highest and lowest value (for 3 or more values), rounded half away
/// from zero.
fn trimmed_mean(values: &[i64]) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let kept = if sorted.len() >= 3 { &sorted[1..sorted.len() - 1] } else { &sorted[..] };
    if kept.is_empty() {
        return 0;
    }
    let sum: i128 = kept.iter().map(|&v| i128::from(v)).sum();
    let count = kept.len() as i128;
    let rounded = (2 * sum + sum.signum() * count) / (2 * count);
    i64::try_from(rounded).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN })
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: i64 = 1_000_000;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// `micros_on(day)` for every day of `first..=last`.
    fn daily(first: NaiveDate, last: NaiveDate, micros_on: impl Fn(NaiveDate) -> i64) -> Vec<(NaiveDate, i64)> {
        first.iter_days().take_while(|d| *d <= last).map(|d| (d, micros_on(d))).collect()
    }

    #[test]
    fn steady_spend_projects_linearly() {
        let (start, end, today) = (day(2026, 3, 1), day(2026, 3, 31), day(2026, 3, 10));
        let spend = daily(day(2026, 2, 1), today, |_| 10 * UNIT);
        let forecast = project(&spend, start, end, today, 400 * UNIT).unwrap();
        assert_eq!(
            forecast,
            Forecast {
                spent_micros: 100 * UNIT, // 1–10 March, today included
                daily_pace_micros: 10 * UNIT,
                projected_micros: 310 * UNIT, // + 21 full days after today
                crosses_on: None,
                basis_days: 7,
            }
        );
        // 100 + 10 × j > 250 first for j = 16: the 26th.
        let tighter = project(&spend, start, end, today, 250 * UNIT).unwrap();
        assert_eq!(tighter.crosses_on, Some(day(2026, 3, 26)));
        let exact = project(&spend, start, end, today, 310 * UNIT).unwrap();
        assert_eq!(exact.crosses_on, None, "reaching the budget exactly is not exceeding it");
    }

    #[test]
    fn one_huge_day_does_not_blow_up_the_pace() {
        let (start, end, today) = (day(2026, 3, 1), day(2026, 3, 31), day(2026, 3, 10));
        let spend = daily(day(2026, 2, 20), today, |d| if d == day(2026, 3, 7) { 500 * UNIT } else { 10 * UNIT });
        let forecast = project(&spend, start, end, today, 1_000 * UNIT).unwrap();
        assert_eq!(forecast.daily_pace_micros, 10 * UNIT);
        assert_eq!(forecast.spent_micros, 590 * UNIT, "the huge day still counts as spent");
        assert_eq!(forecast.projected_micros, 590 * UNIT + 21 * 10 * UNIT);

        let one_day_off = daily(day(2026, 2, 20), today, |d| if d == day(2026, 3, 8) { 0 } else { 10 * UNIT });
        assert_eq!(project(&one_day_off, start, end, today, UNIT).unwrap().daily_pace_micros, 10 * UNIT);
    }

    #[test]
    fn a_weekday_only_spender_is_not_projected_at_the_weekday_rate() {
        // 2026-03-10 is a Tuesday; the 7 days before hold five weekdays of 10 and a weekend of 0.
        let today = day(2026, 3, 10);
        let spend = daily(day(2026, 2, 1), today, |d| {
            use chrono::Datelike;
            if d.weekday().number_from_monday() >= 6 {
                0
            } else {
                10 * UNIT
            }
        });
        let forecast = project(&spend, day(2026, 3, 1), day(2026, 3, 31), today, 1_000 * UNIT).unwrap();
        // Without the highest (10) and the lowest (0) day: (4 × 10 + 0) / 5.
        assert_eq!(forecast.daily_pace_micros, 8 * UNIT);
    }

    #[test]
    fn a_budget_already_exceeded_crosses_on_the_day_it_happened() {
        let (start, end, today) = (day(2026, 3, 1), day(2026, 3, 31), day(2026, 3, 10));
        let spend = daily(day(2026, 2, 20), today, |_| 100 * UNIT);
        let forecast = project(&spend, start, end, today, 250 * UNIT).unwrap();
        assert_eq!(forecast.crosses_on, Some(day(2026, 3, 3)), "300 > 250 on the third day");

        // Today's partial spend can be what crosses it.
        let mut partial = daily(day(2026, 2, 20), day(2026, 3, 9), |_| 10 * UNIT);
        partial.push((today, 30 * UNIT));
        assert_eq!(project(&partial, start, end, today, 110 * UNIT).unwrap().crosses_on, Some(today));
    }

    #[test]
    fn too_little_history_gives_no_forecast() {
        let (start, end, today) = (day(2026, 3, 1), day(2026, 3, 31), day(2026, 3, 10));
        let two_complete_days = daily(day(2026, 3, 8), today, |_| 10 * UNIT);
        assert_eq!(project(&two_complete_days, start, end, today, 100 * UNIT), None);
        assert_eq!(project(&[], start, end, today, 100 * UNIT), None);

        let three = daily(day(2026, 3, 7), today, |d| if d == day(2026, 3, 8) { 40 * UNIT } else { 10 * UNIT });
        let forecast = project(&three, start, end, today, 100 * UNIT).unwrap();
        assert_eq!((forecast.basis_days, forecast.daily_pace_micros), (3, 10 * UNIT), "the median of 10, 40, 10");

        // Days missing inside the history count as 0; days after today are ignored.
        let sparse = [(day(2026, 3, 3), 10 * UNIT), (day(2026, 3, 9), 10 * UNIT), (day(2026, 3, 12), 999 * UNIT)];
        let forecast = project(&sparse, start, end, today, 100 * UNIT).unwrap();
        assert_eq!((forecast.basis_days, forecast.daily_pace_micros, forecast.spent_micros), (7, 2 * UNIT, 20 * UNIT));
    }

    #[test]
    fn month_boundaries_are_respected() {
        // February 2026 has 28 days: from the 20th, 8 full days remain.
        let spend = daily(day(2026, 1, 1), day(2026, 2, 20), |_| 10 * UNIT);
        let feb = project(&spend, day(2026, 2, 1), day(2026, 2, 28), day(2026, 2, 20), 270 * UNIT).unwrap();
        assert_eq!((feb.spent_micros, feb.projected_micros), (200 * UNIT, 280 * UNIT));
        assert_eq!(feb.crosses_on, Some(day(2026, 2, 28)), "200 + 10 × 8 > 270 on the last day");
        let not_in_feb = project(&spend, day(2026, 2, 1), day(2026, 2, 28), day(2026, 2, 20), 280 * UNIT).unwrap();
        assert_eq!(not_in_feb.crosses_on, None, "a crossing after the period's end is not reported");

        // February 2024 has 29.
        let leap_spend = daily(day(2024, 1, 1), day(2024, 2, 20), |_| 10 * UNIT);
        let leap = project(&leap_spend, day(2024, 2, 1), day(2024, 2, 29), day(2024, 2, 20), 280 * UNIT).unwrap();
        assert_eq!((leap.projected_micros, leap.crosses_on), (290 * UNIT, Some(day(2024, 2, 29))));

        // On the last day of a 31-day month nothing remains to project.
        let jan = daily(day(2025, 12, 1), day(2026, 1, 31), |_| 10 * UNIT);
        let last_day = project(&jan, day(2026, 1, 1), day(2026, 1, 31), day(2026, 1, 31), 400 * UNIT).unwrap();
        assert_eq!((last_day.spent_micros, last_day.projected_micros), (310 * UNIT, 310 * UNIT));

        // A period that starts after today projects all of its days; December's spend is not in it.
        let ahead = project(&jan, day(2026, 2, 1), day(2026, 2, 28), day(2026, 1, 31), 1_000 * UNIT).unwrap();
        assert_eq!((ahead.spent_micros, ahead.projected_micros), (0, 280 * UNIT));
        let ahead_tight = project(&jan, day(2026, 2, 1), day(2026, 2, 28), day(2026, 1, 31), 25 * UNIT).unwrap();
        assert_eq!(ahead_tight.crosses_on, Some(day(2026, 2, 3)));
    }
}
