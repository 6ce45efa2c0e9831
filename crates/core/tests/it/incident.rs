//! Incident dossiers over a real ledger file: spend written by the ledger's own poll path,
//! alerts and key actions inserted as the alert engine and `disable_key` write them. The
//! rendered Markdown and CSV are snapshots; the window rules and refusals are asserted.

use burnrate_core::days::DayRange;
use burnrate_core::db;
use burnrate_core::dto::{AddSourceRequest, KeyInput};
use burnrate_core::incident::{Dossier, DossierFormat};
use burnrate_core::ledger::write_poll;
use burnrate_core::money::Currency;
use burnrate_core::paths::Paths;
use burnrate_core::poll::SpendKind;
use burnrate_core::poll::{BucketWidth, KeyRecord, PollResult, SpendRow, SpendWindow};
use burnrate_core::providers::ProviderId;
use burnrate_core::{Burnrate, ErrorCode};
use chrono::{DateTime, NaiveDate};
use rusqlite::params;

use crate::common::TestCore;

const KEY: &str = "key_FAKEprod";
const OTHER_KEY: &str = "key_FAKEother";
const QUIET_KEY: &str = "key_FAKEquiet";

fn ts(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text).unwrap().timestamp()
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

struct Ledger {
    _dir: tempfile::TempDir,
    core: Burnrate,
    conn: rusqlite::Connection,
    source_id: i64,
}

/// An OpenAI source named `work` at 2026-03-02T12:00:00Z.
fn ledger() -> Ledger {
    let dir = tempfile::tempdir().unwrap();
    let core = TestCore::builder(dir.path())
        .now("2026-03-02T12:00:00Z")
        .env(&[("INCIDENT_TEST_KEY", "sk-admin-FAKE-incident-0000")])
        .build();
    let source = core
        .add_source(&AddSourceRequest {
            provider: ProviderId::Openai,
            name: "work".into(),
            base_url: None,
            key: KeyInput::Env { var: "INCIDENT_TEST_KEY".into() },
            settings: None,
        })
        .unwrap();
    let conn = db::open(&Paths::new(dir.path()).db_path()).unwrap();
    Ledger { _dir: dir, core, conn, source_id: source.id }
}

fn row(key: &str, model: &str, project: &str, start: i64, micros: i64, tokens: Option<(i64, i64, i64)>) -> SpendRow {
    SpendRow {
        key_id: key.into(),
        model: model.into(),
        project: project.into(),
        bucket_start: start,
        currency: Currency::usd(),
        amount_micros: micros,
        input_tokens: tokens.map(|t| t.0),
        output_tokens: tokens.map(|t| t.1),
        requests: tokens.map(|t| t.2),
    }
}

/// What an OpenAI poll of 2026-02-25..2026-03-02 returns: billed per day × key × project, and
/// token estimates per hour × key × model, with a spike on the night of 2026-03-01.
fn seed_spend(l: &mut Ledger) {
    let range = DayRange::new(day("2026-02-25"), day("2026-03-02")).unwrap();
    let mut billed = Vec::new();
    for (d, micros) in [("2026-02-25", 900_000), ("2026-02-26", 1_100_000), ("2026-02-27", 1_000_000)] {
        billed.push(row(KEY, "", "proj_FAKE_prod", ts(&format!("{d}T00:00:00Z")), micros, None));
    }
    billed.push(row(KEY, "", "proj_FAKE_prod", ts("2026-03-01T00:00:00Z"), 48_250_000, None));
    billed.push(row(OTHER_KEY, "", "proj_FAKE_prod", ts("2026-03-01T00:00:00Z"), 2_000_000, None));
    let mut estimated = Vec::new();
    // A quiet hour on the 26th (before the window) and on the 27th (inside it).
    estimated.push(row(KEY, "gpt-4o-mini", "", ts("2026-02-26T10:00:00Z"), 45_000, Some((200_000, 20_000, 40))));
    estimated.push(row(KEY, "gpt-4o-mini", "", ts("2026-02-27T10:00:00Z"), 41_500, Some((180_000, 25_000, 38))));
    // The spike: four hours, two models.
    for (h, big, small) in [(1, 9_500_000, 30_000), (2, 14_250_000, 0), (3, 12_000_000, 25_000), (4, 11_750_000, 0)] {
        let start = ts("2026-03-01T00:00:00Z") + h * 3_600;
        estimated.push(row(KEY, "gpt-4.1", "", start, big, Some((big / 2, big / 8, h * 100))));
        if small > 0 {
            estimated.push(row(KEY, "gpt-4o-mini", "", start, small, Some((small * 4, small / 2, 5))));
        }
    }
    estimated.push(row(OTHER_KEY, "gpt-4.1", "", ts("2026-03-01T02:00:00Z"), 1_000_000, Some((1, 1, 1))));
    let poll = PollResult {
        keys: vec![
            KeyRecord {
                provider_key_id: KEY.into(),
                display_name: Some("Production | web".into()),
                fingerprint: Some("sk-proj-abc...wxyz".into()),
                project: Some("Production app".into()),
                created_at: Some(ts("2025-11-03T08:15:00Z")),
                last_used_at: Some(ts("2026-03-01T04:59:00Z")),
                disabled: false,
            },
            KeyRecord { provider_key_id: QUIET_KEY.into(), display_name: Some("Quiet".into()), ..Default::default() },
        ],
        windows: vec![
            SpendWindow {
                width: BucketWidth::Day,
                kind: SpendKind::Billed,
                from: range.start_ts(),
                to: range.end_ts(),
                rows: billed,
            },
            SpendWindow {
                width: BucketWidth::Hour,
                kind: SpendKind::Estimated,
                from: range.start_ts(),
                to: range.end_ts(),
                rows: estimated,
            },
        ],
        ..Default::default()
    };
    let now = ts("2026-03-02T11:00:00Z");
    write_poll(&mut l.conn, l.source_id, now, now, range, &poll).unwrap();
}

#[allow(clippy::too_many_arguments)]
fn insert_alert(
    l: &Ledger,
    kind: &str,
    key: &str,
    fired_at: &str,
    title: &str,
    notified_at: Option<&str>,
    notify_error: Option<&str>,
) -> i64 {
    l.conn
        .execute(
            "INSERT INTO alerts (kind, dedupe_key, source_id, key_id, amount_micros, limit_micros, currency, estimated,
                                 title, body, details, fired_at, notified_at, notify_error)
             VALUES (?1, ?2, ?3, ?4, 14250000, 500000, 'USD', 1, ?5, 'body', '{}', ?6, ?7, ?8)",
            params![
                kind,
                format!("{kind}:{key}:{fired_at}"),
                l.source_id,
                key,
                title,
                ts(fired_at),
                notified_at.map(ts),
                notify_error
            ],
        )
        .unwrap();
    l.conn.last_insert_rowid()
}

fn insert_action(l: &Ledger, key: &str, at: &str, ok: bool, detail: &str, alert: Option<i64>) {
    l.conn
        .execute(
            "INSERT INTO key_actions (source_id, key_id, action, requested_at, ok, detail, alert_id)
             VALUES (?1, ?2, 'disable', ?3, ?4, ?5, ?6)",
            params![l.source_id, key, ts(at), ok, detail, alert],
        )
        .unwrap();
    if ok {
        // As `disable_key` does on success.
        l.conn
            .execute(
                "UPDATE api_keys SET disabled = 1 WHERE source_id = ?1 AND provider_key_id = ?2",
                params![l.source_id, key],
            )
            .unwrap();
    }
}

/// The seeded incident: an older episode on 2026-02-20, this episode's two spike alerts
/// (02:05 and 03:10 on 2026-03-01), a budget alert of another key, and two key actions.
struct Incident {
    l: Ledger,
    old_spike: i64,
    first_spike: i64,
    second_spike: i64,
}

fn incident() -> Incident {
    let mut l = ledger();
    seed_spend(&mut l);
    let old_spike = insert_alert(&l, "spike", KEY, "2026-02-20T09:00:00Z", "Old spike", None, None);
    let first_spike = insert_alert(
        &l,
        "spike",
        KEY,
        "2026-03-01T02:05:00Z",
        "Production | web is spending 19× its usual rate",
        Some("2026-03-01T02:05:01Z"),
        None,
    );
    let second_spike = insert_alert(
        &l,
        "spike",
        KEY,
        "2026-03-01T03:10:00Z",
        "Production | web: still spiking",
        None,
        Some("quiet hours"),
    );
    insert_alert(&l, "threshold", OTHER_KEY, "2026-03-01T03:00:00Z", "Other key at 80 %", None, None);
    insert_action(
        &l,
        KEY,
        "2026-03-01T03:20:00Z",
        false,
        "OpenAI rejected the key (403 at DELETE /organization/projects/{project_id}/api_keys/{key_id}): read-only",
        Some(second_spike),
    );
    insert_action(
        &l,
        KEY,
        "2026-03-01T03:25:00Z",
        true,
        "OpenAI deleted the key from project proj_FAKE_prod; this cannot be undone",
        Some(second_spike),
    );
    Incident { l, old_spike, first_spike, second_spike }
}

fn dossier(i: &Incident, around: Option<i64>, from: Option<&str>, to: Option<&str>) -> Dossier {
    i.l.core.incident_dossier("work", KEY, around, from, to).unwrap()
}

#[test]
fn the_dossier_of_the_latest_episode_renders_as_markdown_and_csv() {
    let i = incident();
    let d = dossier(&i, None, None, None);
    // 48 h before the episode's first spike alert, to now.
    assert_eq!((d.window.from.as_str(), d.window.to.as_str()), ("2026-02-27T02:05:00Z", "2026-03-02T12:00:00Z"));
    assert_eq!(d.alerts.iter().map(|a| a.id).collect::<Vec<_>>(), vec![i.first_spike, i.second_spike]);
    assert_eq!(d.actions.len(), 2);
    insta::assert_snapshot!("dossier_markdown", d.render(DossierFormat::Markdown));
    insta::assert_snapshot!("dossier_csv", d.render(DossierFormat::Csv));
}

#[test]
fn totals_keep_billed_and_estimated_apart_and_match_the_rows() {
    let i = incident();
    let d = dossier(&i, None, None, None);
    let sum = |kind: SpendKind| -> i64 {
        d.spend.iter().filter(|s| s.kind == kind).map(|s| burnrate_core::money::parse_micros(&s.amount).unwrap()).sum()
    };
    // Billed: the day rows of 02-27 (overlapping the window's start) and 03-01; estimated: the
    // 27th's quiet hour and the spike's hours. Nothing of the other key, nothing before the window.
    assert_eq!(sum(SpendKind::Billed), 1_000_000 + 48_250_000);
    assert_eq!(sum(SpendKind::Estimated), 41_500 + 9_500_000 + 30_000 + 14_250_000 + 12_000_000 + 25_000 + 11_750_000);
    let totals: Vec<(&str, SpendKind, &str)> =
        d.totals.iter().map(|t| (t.currency.as_str(), t.kind, t.amount.as_str())).collect();
    assert_eq!(totals, vec![("USD", SpendKind::Billed, "49.250000"), ("USD", SpendKind::Estimated, "47.596500")]);
}

#[test]
fn an_alert_sets_the_window_of_its_own_episode() {
    let i = incident();
    let d = dossier(&i, Some(i.old_spike), None, None);
    assert_eq!(d.window.from, "2026-02-18T09:00:00Z");
    assert!(d.window.reason.contains(&format!("#{}", i.old_spike)), "{}", d.window.reason);
    // The second alert of the latest episode chains back to the first.
    let d = dossier(&i, Some(i.second_spike), None, None);
    assert_eq!(d.window.from, "2026-02-27T02:05:00Z");
    assert!(d.window.reason.contains(&format!("#{}", i.first_spike)), "{}", d.window.reason);
}

#[test]
fn an_explicit_range_overrides_the_alerts() {
    let i = incident();
    let d = dossier(&i, None, Some("2026-03-01T02:00:00Z"), Some("2026-03-01T04:00:00Z"));
    assert_eq!((d.window.from.as_str(), d.window.to.as_str()), ("2026-03-01T02:00:00Z", "2026-03-01T04:00:00Z"));
    let hours: Vec<(&str, &str)> =
        d.spend.iter().filter(|s| s.bucket == "hour").map(|s| (s.bucket_start.as_str(), s.model.as_str())).collect();
    assert_eq!(
        hours,
        vec![
            ("2026-03-01T02:00:00Z", "gpt-4.1"),
            ("2026-03-01T03:00:00Z", "gpt-4.1"),
            ("2026-03-01T03:00:00Z", "gpt-4o-mini")
        ]
    );
    // Days: a whole UTC day, to its end.
    let d = dossier(&i, None, Some("2026-02-26"), Some("2026-02-26"));
    assert_eq!((d.window.from.as_str(), d.window.to.as_str()), ("2026-02-26T00:00:00Z", "2026-02-27T00:00:00Z"));
    let e = i.l.core.incident_dossier("work", KEY, None, Some("2026-03-02"), Some("2026-03-01")).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    let e = i.l.core.incident_dossier("work", KEY, None, Some("yesterday"), None).unwrap_err();
    assert!(e.message().contains("YYYY-MM-DD or RFC 3339"), "{}", e.message());
}

#[test]
fn a_key_without_spend_gets_a_dossier_that_says_so() {
    let i = incident();
    let d = i.l.core.incident_dossier("work", QUIET_KEY, None, None, None).unwrap();
    assert!(d.spend.is_empty() && d.totals.is_empty() && d.alerts.is_empty());
    assert_eq!(d.window.reason, "the last 7 days (no spike alert for this key)");
    let md = d.to_markdown();
    assert!(
        md.contains("No spend of this key was recorded between 2026-02-23T12:00:00Z and 2026-03-02T12:00:00Z"),
        "{md}"
    );
    assert!(d.summary.contains("No spend of this key was recorded"), "{}", d.summary);
    assert_eq!(d.to_csv().lines().count(), 1, "the CSV keeps its header");
}

#[test]
fn unknown_keys_sources_and_foreign_alerts_are_refused() {
    let i = incident();
    let e = i.l.core.incident_dossier("work", "key_FAKEnever", None, None, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::KeyNotFound);
    assert!(e.message().contains("sync it first"), "{}", e.message());
    let e = i.l.core.incident_dossier("nope", KEY, None, None, None).unwrap_err();
    assert_eq!(e.code, ErrorCode::SourceNotFound);
    let other_alert: i64 =
        i.l.conn.query_row("SELECT id FROM alerts WHERE key_id = ?1", [OTHER_KEY], |r| r.get(0)).unwrap();
    let e = i.l.core.incident_dossier("work", KEY, Some(other_alert), None, None).unwrap_err();
    assert!(e.message().contains("is not about key"), "{}", e.message());
    let e = i.l.core.incident_dossier("work", KEY, Some(9_999), None, None).unwrap_err();
    assert!(e.message().contains("there is no alert #9999"), "{}", e.message());
}

#[test]
fn exporting_writes_a_new_file_under_the_data_dir_with_a_safe_name() {
    let i = incident();
    let md = i.l.core.export_incident("work", KEY, None, DossierFormat::Markdown).unwrap();
    let csv = i.l.core.export_incident("work", KEY, Some(i.first_spike), DossierFormat::Csv).unwrap();
    assert_eq!(md.parent().unwrap(), i.l.core.paths.export_dir());
    assert_eq!(md.file_name().unwrap(), "incident-work-key_FAKEprod-20260302T120000Z.md");
    assert_eq!(std::fs::read_to_string(&md).unwrap(), dossier(&i, None, None, None).render(DossierFormat::Markdown));
    assert!(std::fs::read_to_string(&csv)
        .unwrap()
        .starts_with(&dossier(&i, Some(i.first_spike), None, None).render(DossierFormat::Csv)));
    // A key id with path characters cannot climb out of the export directory.
    let e = i.l.core.export_incident("work", "../../etc/passwd", None, DossierFormat::Markdown).unwrap_err();
    assert_eq!(e.code, ErrorCode::KeyNotFound);
}

/// A spreadsheet runs a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return;
/// key and model names come from the provider.
#[test]
fn names_that_a_spreadsheet_would_run_are_text_in_the_dossier_csv() {
    let i = incident();
    let mut d = dossier(&i, None, None, None);
    d.source = "@SUM(A1)".into();
    d.key.id = "-2+3".into();
    let names = ["=HYPERLINK(\"http://x\")", "+cmd", "\tx", "\r=1+1", "a\rb", "a\"b,c"];
    for (s, name) in d.spend.iter_mut().zip(names) {
        s.model = name.into();
    }
    let csv = d.to_csv();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes()).records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), d.spend.len(), "{csv:?}");
    let models: Vec<&str> = rows.iter().take(names.len()).map(|r| &r[5]).collect();
    assert_eq!(models, ["'=HYPERLINK(\"http://x\")", "'+cmd", "'\tx", "'\r=1+1", "a\rb", "a\"b,c"]);
    assert!(rows.iter().all(|r| (&r[2], &r[4]) == ("'@SUM(A1)", "'-2+3")), "{csv}");
    // Amounts and token counts stay numbers.
    assert_eq!((&rows[1][8], &rows[1][9]), ("0.041500", "180000"));
}

/// Names come from the provider (key, project, model) and from the user (source); any of them
/// may carry markup or control characters.
#[test]
fn hostile_names_stay_inert_text_in_the_markdown() {
    let i = incident();
    let mut d = dossier(&i, None, None, None);
    let hostile = "<script>alert(1)</script>\x1b]0;pwned\x07\u{202e}\n# forged [x](http://evil) | *";
    d.source = hostile.into();
    d.base_url = format!("https://api.example/v1{hostile}");
    d.key.id = format!("key`|{hostile}");
    d.key.name = Some(hostile.into());
    d.key.project = Some(hostile.into());
    d.summary = format!("about {hostile}");
    d.alerts[0].title = hostile.into();
    d.actions[0].detail = hostile.into();

    let md = d.to_markdown();
    assert!(!md.contains("<script") && md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{md}");
    assert!(!md.chars().any(|c| c != '\n' && burnrate_core::text::is_unsafe_to_show(c)), "{md:?}");
    assert!(!md.lines().any(|l| l.starts_with("# forged")), "{md}");
    assert!(!md.contains("[x](http://evil)") && md.contains("\\[x\\](http://evil)"), "{md}");
    // Every table row keeps its column count: no pipe from a name splits a cell.
    let key_id_row = md.lines().find(|l| l.starts_with("| API key id |")).unwrap();
    assert_eq!(key_id_row.matches(" | ").count(), 1, "{key_id_row}");
    assert!(key_id_row.contains("key\\`\\|&lt;script"), "{key_id_row}");
}
