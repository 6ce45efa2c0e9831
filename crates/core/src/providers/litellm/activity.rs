//! Reading `GET /user/daily/activity` into billed rows per UTC day × key × model (the quirks
//! are in the module's parent documentation).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::common::*;
use crate::days::{day_start, DayRange};
use crate::error::Result;
use crate::money::Currency;
use crate::poll::SpendRow;

// ---- /user/daily/activity ----
//
// A year of activity for a few hundred keys is tens of megabytes of JSON and hundreds of
// thousands of key × model entries, so names are borrowed from the response text while a page
// is read and kept once per distinct name ([`Names`]) while pages are merged.

#[derive(Deserialize)]
pub(super) struct ActivityPage<'a> {
    #[serde(default, borrow)]
    pub(super) results: Vec<DaySpend<'a>>,
    #[serde(default)]
    pub(super) metadata: PageMeta,
}

#[derive(Deserialize, Default)]
pub(super) struct PageMeta {
    #[serde(default)]
    pub(super) has_more: bool,
    pub(super) total_pages: Option<i64>,
}

#[derive(Deserialize)]
pub(super) struct DaySpend<'a> {
    #[serde(borrow)]
    date: Text<'a>,
    #[serde(default)]
    metrics: Metrics,
    #[serde(default, borrow)]
    breakdown: Breakdown<'a>,
}

#[derive(Deserialize, Default)]
pub(super) struct Breakdown<'a> {
    #[serde(default, borrow)]
    models: SortedMap<'a, Entry<'a>>,
    #[serde(default, borrow)]
    api_keys: SortedMap<'a, Entry<'a>>,
}

/// A breakdown entry: `{metrics, metadata, api_key_breakdown}` in current proxies, the bare
/// metrics (`{spend, prompt_tokens, …}`) in older ones. The flat fields are spelled out rather
/// than `#[serde(flatten)]`ed: flatten buffers every entry and made ingest several times slower.
#[derive(Deserialize)]
pub(super) struct Entry<'a> {
    metrics: Option<Metrics>,
    #[serde(default)]
    spend: f64,
    #[serde(default)]
    prompt_tokens: f64,
    #[serde(default)]
    completion_tokens: f64,
    #[serde(default)]
    api_requests: f64,
    #[serde(default, borrow)]
    metadata: KeyMeta<'a>,
    #[serde(default, borrow)]
    api_key_breakdown: SortedMap<'a, Entry<'a>>,
}

impl Entry<'_> {
    fn metrics(&self) -> Metrics {
        self.metrics.unwrap_or(Metrics {
            spend: self.spend,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            api_requests: self.api_requests,
        })
    }
}

#[derive(Deserialize, Default)]
pub(super) struct KeyMeta<'a> {
    #[serde(borrow)]
    key_alias: Option<Text<'a>>,
}

/// A JSON string, borrowed from the response unless it has escapes. (serde borrows a bare
/// `Cow<str>` field but copies one inside an `Option` or a map key; this borrows in both.)
pub(super) struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

/// A JSON object read as a `BTreeMap<String, V>` reads it (entries in key order, the last of
/// duplicate keys wins), into a vector: entries come sorted and a map per model per day was
/// most of the cost of reading a page.
pub(super) struct SortedMap<'a, V>(Vec<(Text<'a>, V)>);

impl<V> Default for SortedMap<'_, V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<'de: 'a, 'a, V: Deserialize<'de>> Deserialize<'de> for SortedMap<'a, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visit<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Visit<V> {
            type Value = SortedMap<'de, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut entries: Vec<(Text<'de>, V)> = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                if !entries.windows(2).all(|w| w[0].0 .0 < w[1].0 .0) {
                    // Stable, so of equal keys the last one read stays last, and is kept.
                    entries.sort_by(|a, b| a.0 .0.cmp(&b.0 .0));
                    let mut kept: Vec<(Text<'de>, V)> = Vec::with_capacity(entries.len());
                    for entry in entries {
                        match kept.last_mut() {
                            Some(last) if last.0 .0 == entry.0 .0 => *last = entry,
                            _ => kept.push(entry),
                        }
                    }
                    entries = kept;
                }
                Ok(SortedMap(entries))
            }
        }
        deserializer.deserialize_map(Visit(PhantomData))
    }
}

/// Counts are read as numbers of any JSON kind: some proxy versions print them as floats.
#[derive(Deserialize, Default, Clone, Copy)]
pub(super) struct Metrics {
    #[serde(default)]
    spend: f64,
    #[serde(default)]
    prompt_tokens: f64,
    #[serde(default)]
    completion_tokens: f64,
    #[serde(default)]
    api_requests: f64,
}

/// Exact sums: spend as the decimal the proxy wrote, counts as integers.
#[derive(Default, Clone, Copy, Debug, PartialEq)]
pub(super) struct Tally {
    spend: Decimal,
    input: i64,
    output: i64,
    requests: i64,
}

impl Tally {
    fn of(m: &Metrics) -> Result<Tally> {
        Ok(Tally {
            spend: decimal(m.spend)?,
            input: count(m.prompt_tokens),
            output: count(m.completion_tokens),
            requests: count(m.api_requests),
        })
    }
    fn add(&mut self, o: &Tally) {
        self.spend += o.spend;
        self.input = self.input.saturating_add(o.input);
        self.output = self.output.saturating_add(o.output);
        self.requests = self.requests.saturating_add(o.requests);
    }
    /// What `self` has beyond `o`; counts never go below zero.
    fn minus(&self, o: &Tally) -> Tally {
        Tally {
            spend: self.spend - o.spend,
            input: (self.input - o.input).max(0),
            output: (self.output - o.output).max(0),
            requests: (self.requests - o.requests).max(0),
        }
    }
}

pub(super) fn count(v: f64) -> i64 {
    if v.is_finite() && v > 0.0 {
        v.round() as i64
    } else {
        0
    }
}

/// Below half a micro-dollar: float noise of the proxy's sums, not money.
pub(super) fn is_noise(d: Decimal) -> bool {
    d.abs() < Decimal::new(5, 7)
}

/// Each distinct key and model name, stored once and referred to by index.
#[derive(Default)]
pub(super) struct Names {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 4 billion distinct names");
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }
    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
    /// Each name's position in byte order, so ids sort as their names do.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|a, b| self.name(*a).cmp(self.name(*b)));
        let mut ranks = vec![0; order.len()];
        for (rank, id) in order.into_iter().enumerate() {
            ranks[id as usize] = rank as u32;
        }
        ranks
    }
}

/// One UTC day of activity as read, over every page it appeared on: entries by name id, in the
/// order they came. Entries of one name (a date split across pages) are summed in
/// [`Activity::attribute`].
#[derive(Default)]
pub(super) struct Day {
    total: Tally,
    keys: Vec<(u32, Tally)>,
    models: Vec<(u32, Tally)>,
    /// (key, model, spend of that key on that model).
    cross: Vec<(u32, u32, Tally)>,
}

#[derive(Default)]
pub(super) struct Activity {
    days: BTreeMap<NaiveDate, Day>,
    names: Names,
    /// The latest non-empty alias seen per name id.
    aliases: Vec<Option<Box<str>>>,
}

impl Activity {
    /// Adds one page's entries. Each page is aggregated from disjoint DB rows, so a date seen
    /// again is more of that date, never a repeat.
    pub(super) fn merge(&mut self, results: Vec<DaySpend<'_>>) -> Result<()> {
        let Activity { days, names, aliases } = self;
        for r in results {
            let text = &r.date.0;
            let date = NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
                .map_err(|_| unreadable(ACTIVITY, format!("date {text:?} is not YYYY-MM-DD")))?;
            let day = days.entry(date).or_default();
            day.total.add(&Tally::of(&r.metrics)?);
            for (key, e) in &r.breakdown.api_keys.0 {
                let key = names.id(&key.0);
                day.keys.push((key, Tally::of(&e.metrics())?));
                remember_alias(aliases, key, e);
            }
            for (model, e) in &r.breakdown.models.0 {
                let model = names.id(&model.0);
                day.models.push((model, Tally::of(&e.metrics())?));
                for (key, ke) in &e.api_key_breakdown.0 {
                    let key = names.id(&key.0);
                    day.cross.push((key, model, Tally::of(&ke.metrics())?));
                    remember_alias(aliases, key, ke);
                }
            }
        }
        Ok(())
    }

    /// Every day's rows in date order, and the days whose model split was dropped. The error
    /// is the first in date order: a day outside `range`, or one that cannot be attributed.
    pub(super) fn rows(&self, range: DayRange) -> Result<(Vec<SpendRow>, Vec<NaiveDate>)> {
        let entries: usize = self.days.values().map(|d| d.cross.len()).sum();
        // A year of a few hundred keys is most of a second of work on one core, while the HTTP
        // side is idle; days are independent, so large polls split them over a few threads.
        let threads = if entries < 50_000 { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get()) };
        self.rows_on(range, threads.min(4))
    }

    fn rows_on(&self, range: DayRange, threads: usize) -> Result<(Vec<SpendRow>, Vec<NaiveDate>)> {
        let ranks = self.names.ranks();
        let days: Vec<(&NaiveDate, &Day)> = self.days.iter().collect();
        let work = |days: &[(&NaiveDate, &Day)]| -> Result<(Vec<SpendRow>, Vec<NaiveDate>)> {
            let mut rows = Vec::with_capacity(days.iter().map(|(_, d)| d.cross.len()).sum());
            let mut lost = Vec::new();
            for &(&date, day) in days {
                if !range.contains(date) {
                    let (from, to) = (range.from, range.to);
                    return Err(unreadable(
                        ACTIVITY,
                        format!("it returned {date}, outside the requested {from}..{to}"),
                    ));
                }
                if self.attribute(date, day, &ranks, &mut rows)? {
                    lost.push(date);
                }
            }
            Ok((rows, lost))
        };
        if threads <= 1 || days.len() < 2 {
            return work(&days);
        }
        let parts: Vec<_> = std::thread::scope(|scope| {
            let work = &work;
            let handles: Vec<_> =
                days.chunks(days.len().div_ceil(threads)).map(|part| scope.spawn(move || work(part))).collect();
            handles.into_iter().map(|h| h.join().expect("attributing days does not panic")).collect()
        });
        let mut parts = parts.into_iter();
        let (mut rows, mut lost) = parts.next().expect("at least one part")?;
        for part in parts {
            let (more_rows, more_lost) = part?;
            rows.extend(more_rows);
            lost.extend(more_lost);
        }
        Ok((rows, lost))
    }

    pub(super) fn alias(&self, key: &str) -> Option<&str> {
        let id = *self.names.ids.get(key)?;
        self.aliases.get(id as usize)?.as_deref()
    }

    /// (key, alias) of every key seen with an alias, in key order.
    pub(super) fn aliased_keys(&self) -> BTreeMap<&str, &str> {
        let with_alias = self.aliases.iter().enumerate();
        with_alias.filter_map(|(id, a)| Some((self.names.name(id as u32), a.as_deref()?))).collect()
    }

    /// The day's rows: key × model from the cross, then what the cross misses, so that the rows
    /// sum to the day's total without counting the key and model marginals twice. The flag says
    /// the model split had to be dropped (no cross from this proxy). `ranks` is [`Names::ranks`].
    fn attribute(&self, date: NaiveDate, day: &Day, ranks: &[u32], rows: &mut Vec<SpendRow>) -> Result<bool> {
        let start = day_start(date);
        let rank = |id: u32| ranks[id as usize];
        let mut cross = day.cross.clone();
        cross.sort_by_key(|&(key, model, _)| (rank(key), rank(model)));
        let mut out: Vec<(u32, u32, Tally)> = Vec::with_capacity(cross.len());
        for (key, model, t) in cross {
            match out.last_mut() {
                Some((k, m, sum)) if (*k, *m) == (key, model) => sum.add(&t),
                _ => out.push((key, model, t)),
            }
        }
        let mut attributed = Tally::default();
        for (_, _, t) in &out {
            attributed.add(t);
        }
        // Per name in name order, entries of one name summed in the order they came.
        let summed = |mut entries: Vec<(u32, Tally)>| -> Vec<(u32, Tally)> {
            entries.sort_by_key(|&(id, _)| rank(id));
            entries.dedup_by(|(id, t), (kept, sum)| {
                let same = id == kept;
                if same {
                    sum.add(t);
                }
                same
            });
            entries
        };
        let per_key = summed(out.iter().map(|&(key, _, t)| (key, t)).collect());
        let per_model = summed(out.iter().map(|&(_, model, t)| (model, t)).collect());
        let rest_of = |marginals: &[(u32, Tally)], crossed: &[(u32, Tally)]| -> Vec<(u32, Tally)> {
            let crossed_of = |id: u32| match crossed.binary_search_by_key(&rank(id), |&(c, _)| rank(c)) {
                Ok(i) => crossed[i].1,
                Err(_) => Tally::default(),
            };
            summed(marginals.to_vec())
                .into_iter()
                .map(|(id, t)| (id, t.minus(&crossed_of(id))))
                .filter(|(_, r)| r.spend > Decimal::ZERO || r.input > 0 || r.output > 0 || r.requests > 0)
                .map(|(id, r)| (id, Tally { spend: r.spend.max(Decimal::ZERO), ..r }))
                .collect()
        };
        let key_rest = rest_of(&day.keys, &per_key);
        let mut model_rest = rest_of(&day.models, &per_model);
        let sum = |rows: &[(u32, Tally)]| {
            rows.iter().fold(Tally::default(), |mut acc, (_, t)| {
                acc.add(t);
                acc
            })
        };
        let mut used = attributed;
        used.add(&sum(&key_rest));
        let mut with_models = used;
        with_models.add(&sum(&model_rest));
        // If the key and model remainders together exceed the day, they are the same spend seen
        // twice (a proxy without api_key_breakdown): keep the per-key view only.
        let over = day.total.spend - with_models.spend;
        let lost_models = !model_rest.is_empty() && over < Decimal::ZERO && !is_noise(over);
        if lost_models {
            model_rest.clear();
        } else {
            used = with_models;
        }
        let rest = day.total.minus(&used);
        let mut all: Vec<(&str, &str, Tally)> = Vec::with_capacity(out.len() + key_rest.len() + model_rest.len() + 1);
        all.extend(out.iter().map(|(key, model, t)| (self.names.name(*key), self.names.name(*model), *t)));
        all.extend(key_rest.iter().map(|(key, t)| (self.names.name(*key), "", *t)));
        all.extend(model_rest.iter().map(|(model, t)| ("", self.names.name(*model), *t)));
        if rest.spend > Decimal::ZERO || rest.input > 0 || rest.output > 0 || rest.requests > 0 {
            all.push(("", "", Tally { spend: rest.spend.max(Decimal::ZERO), ..rest }));
        }
        for (key_id, model, t) in all {
            let amount_micros = micros(t.spend)?.max(0);
            if amount_micros == 0 && t.input == 0 && t.output == 0 && t.requests == 0 {
                continue;
            }
            rows.push(SpendRow {
                key_id: key_id.to_owned(),
                model: model.to_owned(),
                project: String::new(),
                bucket_start: start,
                currency: Currency::usd(),
                amount_micros,
                input_tokens: Some(t.input),
                output_tokens: Some(t.output),
                requests: Some(t.requests),
            });
        }
        Ok(lost_models)
    }
}

pub(super) fn remember_alias(aliases: &mut Vec<Option<Box<str>>>, key: u32, e: &Entry<'_>) {
    let Some(alias) = e.metadata.key_alias.as_ref().map(|a| &*a.0).filter(|a| !a.is_empty()) else { return };
    let index = key as usize;
    if aliases.len() <= index {
        aliases.resize(index + 1, None);
    }
    // Compared first: the same alias recurs on every entry of the key.
    if aliases[index].as_deref() != Some(alias) {
        aliases[index] = Some(alias.into());
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn activity(pages: &[&str]) -> Activity {
        let mut a = Activity::default();
        for p in pages {
            let page: ActivityPage = serde_json::from_str(p).unwrap();
            a.merge(page.results).unwrap();
        }
        a
    }

    fn attribute(a: &Activity, date: &str) -> (Vec<SpendRow>, bool) {
        let mut rows = Vec::new();
        let lost = a.attribute(day(date), &a.days[&day(date)], &a.names.ranks(), &mut rows).unwrap();
        (rows, lost)
    }

    /// (key, model, micros) of the day's rows.
    fn rows_of(a: &Activity, date: &str) -> (Vec<(String, String, i64)>, bool) {
        let (rows, lost) = attribute(a, date);
        (rows.into_iter().map(|r| (r.key_id, r.model, r.amount_micros)).collect(), lost)
    }

    fn r(key: &str, model: &str, micros: i64) -> (String, String, i64) {
        (key.into(), model.into(), micros)
    }

    const CROSS: &str = r#"{"results":[{"date":"2026-03-01",
        "metrics":{"spend":0.60000001,"prompt_tokens":30},
        "breakdown":{
          "models":{
            "gpt-4o":{"metrics":{"spend":0.3,"prompt_tokens":30},"metadata":{},
              "api_key_breakdown":{"hashA":{"metrics":{"spend":0.1,"prompt_tokens":10},"metadata":{"key_alias":"ci"}},
                                   "hashB":{"metrics":{"spend":0.2,"prompt_tokens":20},"metadata":{"key_alias":"batch"}}}},
            "ptu-model":{"metrics":{"spend":0.05},"api_key_breakdown":{}}},
          "api_keys":{
            "hashA":{"metrics":{"spend":0.35000001,"prompt_tokens":10},"metadata":{"key_alias":"ci","key_exists":true}},
            "hashB":{"metrics":{"spend":0.2,"prompt_tokens":20},"metadata":{"key_alias":"batch"}}},
          "providers":{"openai":{"metrics":{"spend":0.6}}}}}],
      "metadata":{"total_spend":0.6,"page":1,"total_pages":1,"has_more":false}}"#;

    #[test]
    fn the_key_model_cross_is_used_and_remainders_complete_the_day() {
        let a = activity(&[CROSS]);
        let (rows, lost) = rows_of(&a, "2026-03-01");
        assert!(!lost);
        assert_eq!(
            rows,
            vec![
                r("hashA", "gpt-4o", 100_000),
                r("hashB", "gpt-4o", 200_000),
                // hashA spent 0.25000001 on rows without a model (e.g. MCP calls).
                r("hashA", "", 250_000),
                // PTU flat cost: a model but no key.
                r("", "ptu-model", 50_000),
            ]
        );
        let total: i64 = rows.iter().map(|r| r.2).sum();
        assert_eq!(total, 600_000, "the day totals metrics.spend, nothing counted twice");
        assert_eq!(a.alias("hashA"), Some("ci"));
    }

    #[test]
    fn a_date_split_across_pages_is_summed_once_per_page() {
        let p1 = r#"{"results":[{"date":"2026-03-02","metrics":{"spend":1.25},
            "breakdown":{"models":{"m1":{"metrics":{"spend":1.25},"api_key_breakdown":{"k1":{"metrics":{"spend":1.25}}}}},
                         "api_keys":{"k1":{"metrics":{"spend":1.25}}}}}],"metadata":{"has_more":true,"total_pages":2}}"#;
        let p2 = r#"{"results":[{"date":"2026-03-02","metrics":{"spend":0.75},
            "breakdown":{"models":{"m1":{"metrics":{"spend":0.5},"api_key_breakdown":{"k1":{"metrics":{"spend":0.5}}}},
                                   "m2":{"metrics":{"spend":0.25},"api_key_breakdown":{"k2":{"metrics":{"spend":0.25}}}}},
                         "api_keys":{"k1":{"metrics":{"spend":0.5}},"k2":{"metrics":{"spend":0.25}}}}},
            {"date":"2026-03-01","metrics":{"spend":2},
            "breakdown":{"models":{"m1":{"metrics":{"spend":2},"api_key_breakdown":{"k2":{"metrics":{"spend":2}}}}},
                         "api_keys":{"k2":{"metrics":{"spend":2}}}}}],"metadata":{"has_more":false,"total_pages":2}}"#;
        let a = activity(&[p1, p2]);
        assert_eq!(rows_of(&a, "2026-03-02").0, vec![r("k1", "m1", 1_750_000), r("k2", "m2", 250_000)]);
        assert_eq!(rows_of(&a, "2026-03-01").0, vec![r("k2", "m1", 2_000_000)]);
    }

    #[test]
    fn the_documented_older_shape_with_flat_metrics_totals_the_day() {
        // LiteLLM's docs example (repaired into JSON): flat metrics, no api_key_breakdown, and
        // marginals that do not cover the day. Key, model and the rest each get their part.
        let text = include_str!("../../../../../tests/fixtures/litellm/user_daily_activity_doc_shape.json");
        let a = activity(&[text]);
        let (rows, lost) = rows_of(&a, "2025-03-27");
        assert!(!lost);
        // 0.0177072 = key 0.0117072 + model 0.00001095 + rest 0.00598905, each rounded.
        assert_eq!(rows, vec![r("3126b6eaf1...", "", 11_707), r("", "gpt-4o-mini", 11), r("", "", 5_989)]);
        let (day_rows, _) = attribute(&a, "2025-03-27");
        let tokens: i64 = day_rows.iter().map(|r| r.input_tokens.unwrap()).sum();
        assert_eq!(tokens, 111);
    }

    #[test]
    fn without_a_cross_complete_marginals_are_split_per_key_only() {
        // Keys and models each cover the whole day: emitting both would double it.
        let p = r#"{"results":[{"date":"2026-03-04","metrics":{"spend":1.0},
            "breakdown":{"models":{"a":{"spend":0.6},"b":{"spend":0.4}},
                         "api_keys":{"k1":{"spend":0.7},"k2":{"spend":0.3}}}}]}"#;
        let (rows, lost) = rows_of(&activity(&[p]), "2026-03-04");
        assert!(lost);
        assert_eq!(rows, vec![r("k1", "", 700_000), r("k2", "", 300_000)]);
    }

    #[test]
    fn float_noise_in_the_proxys_sums_makes_no_rows() {
        // 0.1 + 0.2 summed by the proxy in floating point: the key's marginal is 4e-17 above
        // its cross, which is noise, not a remainder row.
        let p = r#"{"results":[{"date":"2026-03-03","metrics":{"spend":0.3},
            "breakdown":{"models":{"m1":{"metrics":{"spend":0.1},"api_key_breakdown":{"k":{"metrics":{"spend":0.1}}}},
                                   "m2":{"metrics":{"spend":0.2},"api_key_breakdown":{"k":{"metrics":{"spend":0.2}}}}},
              "api_keys":{"k":{"metrics":{"spend":0.30000000000000004}}}}}]}"#;
        let (rows, lost) = rows_of(&activity(&[p]), "2026-03-03");
        assert!(!lost);
        assert_eq!(rows, vec![r("k", "m1", 100_000), r("k", "m2", 200_000)]);
    }

    #[test]
    fn a_marginal_below_its_cross_never_makes_a_negative_row() {
        let p = r#"{"results":[{"date":"2026-03-03","metrics":{"spend":0.3},
            "breakdown":{"models":{"m":{"metrics":{"spend":0.3},"api_key_breakdown":{"k":{"metrics":{"spend":0.3}}}}},
              "api_keys":{"k":{"metrics":{"spend":0.1}}}}}]}"#;
        let (rows, lost) = rows_of(&activity(&[p]), "2026-03-03");
        assert!(!lost);
        assert_eq!(rows, vec![r("k", "m", 300_000)]);
    }

    #[test]
    fn days_split_over_threads_give_the_same_rows_in_the_same_order() {
        let mut pages = Vec::new();
        for d in 1..=9 {
            pages.push(format!(
                r#"{{"results":[{{"date":"2026-03-0{d}","metrics":{{"spend":{d}.5}},
                "breakdown":{{"models":{{"m{d}":{{"metrics":{{"spend":{d}}},"api_key_breakdown":{{"k{d}":{{"metrics":{{"spend":{d}}}}}}}}}}},
                             "api_keys":{{"k{d}":{{"spend":{d}}},"k0":{{"spend":0.25}}}}}}}}]}}"#
            ));
        }
        let a = activity(&pages.iter().map(String::as_str).collect::<Vec<_>>());
        let range = DayRange::new(day("2026-03-01"), day("2026-03-09")).unwrap();
        let (one, lost_one) = a.rows_on(range, 1).unwrap();
        let (three, lost_three) = a.rows_on(range, 3).unwrap();
        assert_eq!(one.len(), 27, "per day: key × model, the key without a model, the unattributed rest");
        assert_eq!(one, three);
        assert_eq!(lost_one, lost_three);
        // The first bad day in date order is the error, however the days are split.
        let short = DayRange::new(day("2026-03-01"), day("2026-03-05")).unwrap();
        let e1 = a.rows_on(short, 1).unwrap_err();
        let e3 = a.rows_on(short, 3).unwrap_err();
        assert_eq!(e1.message(), e3.message());
        assert!(e1.message().contains("2026-03-06"), "{}", e1.message());
    }

    #[test]
    fn spend_floats_read_as_the_decimal_the_proxy_wrote() {
        let mut values = vec![0.1 + 0.2, 1e-7, 5e-7, 0.0000005, -0.0, 0.0, 1e9, 999_999_999.999999, 123_456_789.123456];
        values.extend([0.06, 74.5, 1234567.891234, 0.30000000000000004, 1e-300, 1e300, 0.123456789012345]);
        // Amounts of every size with up to seven decimals, as a proxy prints its sums.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let digits = (x >> 11) % 10_000_000_000_000;
            values.push(digits as f64 / 10f64.powi(i % 8) * if i % 3 == 0 { -1.0 } else { 1.0 });
        }
        for v in values {
            let expected = Decimal::from_str(&v.to_string());
            match (decimal(v), expected) {
                (Ok(d), Ok(e)) => assert_eq!(d, e, "{v}"),
                (Err(_), Err(_)) => {}
                (d, e) => panic!("{v}: {d:?} vs {e:?}"),
            }
        }
    }
}
