//! The assessment as a document: Markdown, and a self-contained HTML file (inline CSS, no
//! scripts, no external assets, every text escaped). Both list the gateway, its claim, the
//! verdict with its reasons, each step's answers and notes, the red flags, every evidence item
//! with its SHA-256, time and integrity (checked when the report was made), the paid-test
//! table, and the re-check date.

use std::fmt::Write;

use super::dto::{Answer, AssessmentView, EvidenceKind, EvidenceView, Integrity, SmokeResult};
use crate::money::format_human;
use crate::text;

fn answer_text(a: Option<Answer>) -> &'static str {
    match a {
        Some(Answer::Pass) => "pass",
        Some(Answer::Fail) => "FAIL",
        Some(Answer::Unknown) => "unknown",
        Some(Answer::Na) => "n/a",
        None => "unanswered",
    }
}

fn integrity_text(e: &EvidenceView) -> &'static str {
    match e.integrity {
        Some(Integrity::Ok) => "intact",
        Some(Integrity::Changed) => "CHANGED since attached",
        Some(Integrity::Missing) => "MISSING",
        Some(Integrity::Damaged) => "DAMAGED record (not a SHA-256)",
        None => "n/a",
    }
}

fn evidence_what(e: &EvidenceView) -> String {
    match e.kind {
        EvidenceKind::File | EvidenceKind::Smoke => {
            format!("{} ({} bytes)", e.name.as_deref().unwrap_or("file"), e.size_bytes.unwrap_or(0))
        }
        EvidenceKind::Url => e.url.clone().unwrap_or_default(),
        EvidenceKind::Note => e.note.clone().unwrap_or_default(),
    }
}

fn kind_text(k: EvidenceKind) -> &'static str {
    match k {
        EvidenceKind::File => "file",
        EvidenceKind::Url => "URL",
        EvidenceKind::Note => "note",
        EvidenceKind::Smoke => "paid test",
    }
}

fn opt_ms(v: Option<u64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v} ms"))
}

/// The paid test's facts as (label, value) rows.
fn smoke_rows(s: &SmokeResult) -> Vec<(String, String)> {
    let mut rows = vec![
        ("Result".to_owned(), if s.passed { "passed".into() } else { "not passed".to_owned() }),
        ("Started".into(), s.started_at.clone()),
        ("Stopped early".into(), s.aborted.clone().unwrap_or_else(|| "no".into())),
        ("Plan".into(), s.plan.summary.clone()),
        ("Models listed".into(), s.models_listed.len().to_string()),
        ("Paid calls".into(), format!("{} made, {} answered correctly", s.paid_calls_made, s.paid_calls_ok)),
        ("Latency p50 / p95".into(), format!("{} / {}", opt_ms(s.latency_p50_ms), opt_ms(s.latency_p95_ms))),
        (
            "Tokens reported".into(),
            format!(
                "{} prompt, {} completion (at most {} expected); {} calls without usage",
                s.prompt_tokens_reported,
                s.completion_tokens_reported,
                s.completion_tokens_max_expected,
                s.calls_without_usage
            ),
        ),
        ("Expected cost at list prices".into(), format_human(s.expected_cost_micros, &s.currency)),
    ];
    if let Some(st) = &s.stream {
        rows.push((
            "Streaming".into(),
            format!(
                "{}: {} events, [DONE] {}{}",
                if st.ok { "ok" } else { "broken" },
                st.events,
                if st.done_seen { "seen" } else { "missing" },
                st.problem.as_ref().map(|p| format!("; {p}")).unwrap_or_default()
            ),
        ));
    }
    for (label, probe) in [("Unknown model", &s.unknown_model), ("Bad key", &s.bad_key)] {
        if let Some(p) = probe {
            rows.push((
                label.into(),
                format!(
                    "HTTP {}, {:?}{}",
                    p.status.map_or_else(|| "—".into(), |s| s.to_string()),
                    p.shape,
                    p.message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
                ),
            ));
        }
    }
    let money = |v: Option<i64>| v.map_or_else(|| "—".to_owned(), |v| format_human(v, "USD"));
    rows.push((
        "Balance before / after".into(),
        format!("{} / {}", money(s.balance_before_micros), money(s.balance_after_micros)),
    ));
    rows.push(("Billed (balance drop)".into(), money(s.billed_micros)));
    rows.push((
        "Price multiplier (billed ÷ expected)".into(),
        match s.multiplier_bp {
            Some(bp) => format!("{}.{:04}×", bp / 10_000, bp % 10_000),
            None => s.balance_note.clone().unwrap_or_else(|| "—".into()),
        },
    ));
    rows
}

pub fn markdown(v: &AssessmentView, generated: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Gateway check: {}\n", text::markdown(&v.name));
    let _ = writeln!(o, "- Base URL: {}", text::markdown(&v.base_url));
    let _ = writeln!(
        o,
        "- Claim: {}{} — needs {}",
        v.claim.label,
        v.claim_text.as_ref().map(|t| format!(" (as worded: \"{}\")", text::markdown(t))).unwrap_or_default(),
        v.claim.proof
    );
    if let Some(s) = &v.source {
        let _ = writeln!(o, "- Balance source: {}", text::markdown(s));
    }
    let _ = writeln!(o, "- Created: {}; updated: {}", v.created_at, v.updated_at);
    let _ = writeln!(
        o,
        "- Re-check by: {} (every {} days){}",
        v.recheck_due,
        v.recheck_after_days,
        if v.recheck_overdue { " — OVERDUE" } else { "" }
    );
    let _ = writeln!(o, "- Report generated: {generated}\n");
    let _ = writeln!(o, "## Verdict: {}\n", v.verdict.headline);
    for r in &v.verdict.reasons {
        let _ = writeln!(o, "- {}", text::markdown(r));
    }
    if v.integrity_problems > 0 {
        let _ = writeln!(
            o,
            "\n**Evidence integrity: {} file(s) changed, missing or damaged since they were attached.**",
            v.integrity_problems
        );
    }
    for s in &v.steps {
        let _ = writeln!(o, "\n## Step {}: {}\n", s.number, s.title);
        let _ = writeln!(o, "| Question | Id | Answer | Note |\n|---|---|---|---|");
        for q in &s.questions {
            let _ = writeln!(
                o,
                "| {}{} | `{}` | {} | {} |",
                text::markdown(&q.text),
                if q.hard { " (hard check)" } else { "" },
                q.id,
                answer_text(q.answer),
                text::markdown(q.note.as_deref().unwrap_or(""))
            );
        }
    }
    let _ = writeln!(o, "\n## Red flags\n");
    for f in &v.red_flags {
        let _ = writeln!(o, "- [{}] {} — {}", if f.checked { "x" } else { " " }, f.text, f.why);
    }
    let _ = writeln!(o, "\n## Evidence\n");
    if v.evidence.is_empty() {
        let _ = writeln!(o, "None attached.");
    } else {
        let _ = writeln!(
            o,
            "| # | Question | Kind | What | SHA-256 | Captured | Integrity |\n|---|---|---|---|---|---|---|"
        );
        for e in &v.evidence {
            let _ = writeln!(
                o,
                "| {} | `{}` | {} | {} | {} | {} | {} |",
                e.id,
                e.question_id,
                kind_text(e.kind),
                text::markdown(&evidence_what(e)),
                e.sha256.as_deref().map_or_else(|| "—".to_owned(), |s| format!("`{s}`")),
                e.captured_at,
                integrity_text(e)
            );
        }
    }
    let _ = writeln!(o, "\n## Paid test\n");
    match &v.last_smoke {
        None => {
            let _ = writeln!(o, "Not run.");
        }
        Some(s) => {
            let _ = writeln!(o, "| | |\n|---|---|");
            for (k, val) in smoke_rows(s) {
                let _ = writeln!(o, "| {} | {} |", text::markdown(&k), text::markdown(&val));
            }
            let _ = writeln!(o, "\n| # | Kind | Model | Status | Latency | Tokens in/out | Cost | Outcome |\n|---|---|---|---|---|---|---|---|");
            for c in &s.calls {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} ms | {}/{} | {} | {} |",
                    c.n,
                    c.kind,
                    text::markdown(c.model.as_deref().unwrap_or("")),
                    c.status.map_or_else(|| "—".into(), |s| s.to_string()),
                    c.latency_ms,
                    c.prompt_tokens.map_or_else(|| "—".into(), |t| t.to_string()),
                    c.completion_tokens.map_or_else(|| "—".into(), |t| t.to_string()),
                    c.cost_micros.map_or_else(|| "—".into(), |m| format_human(m, "USD")),
                    text::markdown(&c.outcome)
                );
            }
        }
    }
    o
}

const CSS: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1b1f24}\
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f6f8fa}code{font-size:.85em;word-break:break-all}.verdict{padding:.8em 1em;border-radius:6px;border:2px solid}\
.do_not_use{border-color:#cf222e;background:#ffebe9}.incomplete,.not_proven{border-color:#9a6700;background:#fff8c5}\
.usable_unauthorized{border-color:#0969da;background:#ddf4ff}.authorized{border-color:#1a7f37;background:#dafbe1}\
.bad{color:#cf222e;font-weight:600}.ok{color:#1a7f37}";

pub fn html(v: &AssessmentView, generated: &str) -> String {
    let e = text::html;
    let mut o = String::new();
    let level =
        serde_json::to_value(v.verdict.level).ok().and_then(|x| x.as_str().map(str::to_owned)).unwrap_or_default();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>Gateway check: {}</title><style>{CSS}</style></head><body>\n",
        e(&v.name)
    );
    let _ = writeln!(o, "<h1>Gateway check: {}</h1>", e(&v.name));
    let _ = writeln!(o, "<table>");
    let mut facts = vec![
        ("Base URL", e(&v.base_url)),
        (
            "Claim",
            format!(
                "{}{} — needs {}",
                e(&v.claim.label),
                v.claim_text.as_ref().map(|t| format!(" (as worded: “{}”)", e(t))).unwrap_or_default(),
                e(&v.claim.proof)
            ),
        ),
    ];
    if let Some(s) = &v.source {
        facts.push(("Balance source", e(s)));
    }
    facts.push(("Created / updated", format!("{} / {}", e(&v.created_at), e(&v.updated_at))));
    facts.push((
        "Re-check by",
        format!(
            "{} (every {} days){}",
            e(&v.recheck_due),
            v.recheck_after_days,
            if v.recheck_overdue { " <span class=\"bad\">overdue</span>" } else { "" }
        ),
    ));
    facts.push(("Report generated", e(generated)));
    for (k, val) in facts {
        let _ = writeln!(o, "<tr><th>{k}</th><td>{val}</td></tr>");
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(o, "<div class=\"verdict {}\"><strong>{}</strong><ul>", e(&level), e(&v.verdict.headline));
    for r in &v.verdict.reasons {
        let _ = writeln!(o, "<li>{}</li>", e(r));
    }
    let _ = writeln!(o, "</ul></div>");
    if v.integrity_problems > 0 {
        let _ = writeln!(
            o,
            "<p class=\"bad\">Evidence integrity: {} file(s) changed, missing or damaged since they were attached.</p>",
            v.integrity_problems
        );
    }
    for s in &v.steps {
        let _ = writeln!(o, "<h2>Step {}: {}</h2>", s.number, e(&s.title));
        let _ = writeln!(o, "<table><tr><th>Question</th><th>Id</th><th>Answer</th><th>Note</th></tr>");
        for q in &s.questions {
            let class = match q.answer {
                Some(Answer::Fail) => " class=\"bad\"",
                Some(Answer::Pass) => " class=\"ok\"",
                _ => "",
            };
            let _ = writeln!(
                o,
                "<tr><td>{}{}</td><td><code>{}</code></td><td{class}>{}</td><td>{}</td></tr>",
                e(&q.text),
                if q.hard { " <em>(hard check)</em>" } else { "" },
                e(&q.id),
                answer_text(q.answer),
                e(q.note.as_deref().unwrap_or(""))
            );
        }
        let _ = writeln!(o, "</table>");
    }
    let _ = writeln!(o, "<h2>Red flags</h2><ul>");
    for f in &v.red_flags {
        let _ = writeln!(
            o,
            "<li{}>{} {} — {}</li>",
            if f.checked { " class=\"bad\"" } else { "" },
            if f.checked { "☒" } else { "☐" },
            e(&f.text),
            e(&f.why)
        );
    }
    let _ = writeln!(o, "</ul><h2>Evidence</h2>");
    if v.evidence.is_empty() {
        let _ = writeln!(o, "<p>None attached.</p>");
    } else {
        let _ = writeln!(o, "<table><tr><th>#</th><th>Question</th><th>Kind</th><th>What</th><th>SHA-256</th><th>Captured</th><th>Integrity</th></tr>");
        for ev in &v.evidence {
            let class = if matches!(ev.integrity, Some(Integrity::Changed | Integrity::Missing | Integrity::Damaged)) {
                " class=\"bad\""
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td{class}>{}</td></tr>",
                ev.id,
                e(&ev.question_id),
                kind_text(ev.kind),
                e(&evidence_what(ev)),
                e(ev.sha256.as_deref().unwrap_or("—")),
                e(&ev.captured_at),
                integrity_text(ev)
            );
        }
        let _ = writeln!(o, "</table>");
    }
    let _ = writeln!(o, "<h2>Paid test</h2>");
    match &v.last_smoke {
        None => {
            let _ = writeln!(o, "<p>Not run.</p>");
        }
        Some(s) => {
            let _ = writeln!(o, "<table>");
            for (k, val) in smoke_rows(s) {
                let _ = writeln!(o, "<tr><th>{}</th><td>{}</td></tr>", e(&k), e(&val));
            }
            let _ = writeln!(o, "</table>");
            let _ = writeln!(o, "<table><tr><th>#</th><th>Kind</th><th>Model</th><th>Status</th><th>Latency</th><th>Tokens in/out</th><th>Cost</th><th>Outcome</th></tr>");
            for c in &s.calls {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}/{}</td><td>{}</td><td>{}</td></tr>",
                    c.n,
                    e(&c.kind),
                    e(c.model.as_deref().unwrap_or("")),
                    c.status.map_or_else(|| "—".into(), |s| s.to_string()),
                    c.latency_ms,
                    c.prompt_tokens.map_or_else(|| "—".into(), |t| t.to_string()),
                    c.completion_tokens.map_or_else(|| "—".into(), |t| t.to_string()),
                    c.cost_micros.map_or_else(|| "—".into(), |m| e(&format_human(m, "USD"))),
                    e(&c.outcome)
                );
            }
            let _ = writeln!(o, "</table>");
        }
    }
    let _ = writeln!(o, "</body></html>");
    o
}
