//! `burnrate check …`: the gateway trust checklist from the command line, so a team can script
//! an assessment from "new" to an exported report (see docs/checklist.md).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use burnrate_core::checklist::dto::{
    Answer, AssessmentView, EvidenceView, Integrity, NewAssessmentRequest, ReportFormat, SmokeRequest, SmokeResult,
};
use burnrate_core::dto::KeyInput;
use burnrate_core::money::format_human;
use burnrate_core::{Burnrate, Error, ErrorCode, Result};
use clap::{Args, Subcommand, ValueEnum};

use crate::output::{errln, outln, print_json, print_table, prompt};

#[derive(Subcommand)]
pub enum CheckCmd {
    /// Start an assessment of a gateway; prints its id.
    New {
        #[arg(long)]
        name: String,
        /// The gateway's OpenAI-compatible base URL, e.g. https://gateway.example/v1
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// The claim the gateway makes, in its words or as an id: official_api, authorized_reseller,
        /// official_model_access, openai_compatible (default), multi_model, payment_method
        #[arg(long, value_name = "TEXT")]
        claim: Option<String>,
        /// A Burnrate source that reads this gateway's balance (the paid test measures the price multiplier)
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// Remind to re-check after this many days [default: 90]
        #[arg(long, value_name = "DAYS")]
        recheck_days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Change an assessment's details; what is not given stays. Answers and evidence are kept.
    Edit {
        id: i64,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// The claim, in the gateway's words or as an id (see `check new --help`)
        #[arg(long, value_name = "TEXT")]
        claim: Option<String>,
        /// Link this Burnrate source (its balance gives the paid test's multiplier)
        #[arg(long, value_name = "NAME", conflicts_with = "no_source")]
        source: Option<String>,
        /// Unlink the source
        #[arg(long)]
        no_source: bool,
        #[arg(long, value_name = "DAYS")]
        recheck_days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// List assessments with their verdicts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Questions with their ids and answers, red flags, the verdict with its reasons, and the
    /// evidence with its SHA-256 and integrity (every file is re-hashed now).
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Answer a question: pass, fail, unknown or na.
    Answer {
        id: i64,
        question_id: String,
        #[arg(value_enum)]
        answer: AnswerArg,
        #[arg(long)]
        note: Option<String>,
    },
    /// Tick (on) or clear (off) a red flag.
    Flag {
        id: i64,
        flag_id: String,
        #[arg(value_enum)]
        state: OnOff,
    },
    /// Attach evidence to a question: a file (stored by SHA-256), a URL (with the time captured) or a note.
    Attach {
        id: i64,
        question_id: String,
        #[command(flatten)]
        what: AttachArgs,
        /// A note on the URL
        #[arg(long, requires = "url", value_name = "TEXT")]
        about: Option<String>,
    },
    /// The automated small paid test: model list, N tiny chat calls, one streaming call, an
    /// unknown model and a bad key. Prints the plan and its worst-case cost first.
    Smoke {
        id: i64,
        /// The environment variable holding the gateway key (never stored)
        #[arg(long, value_name = "VAR")]
        key_env: String,
        /// Paid chat calls, 1-200 [default: 20]
        #[arg(long, value_name = "N")]
        calls: Option<u32>,
        /// Spend cap in US dollars [default: 1.00]
        #[arg(long, value_name = "X")]
        max_usd: Option<String>,
        /// A model to test (up to 3) [default: the cheapest priced models the gateway lists]
        #[arg(long = "model", value_name = "M")]
        models: Vec<String>,
        /// Per-request timeout in milliseconds [default: 20000]
        #[arg(long, value_name = "MS")]
        timeout_ms: Option<u64>,
        /// Send without asking (required when standard input is not a terminal)
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Write the report (Markdown or self-contained HTML).
    Report {
        id: i64,
        #[arg(long, value_enum)]
        format: ReportFormatArg,
        /// The file to write [default: a new file under the data directory's exports/]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Remove one evidence item (ids: `check show ID`); its stored file goes if nothing else uses it.
    Detach { id: i64, evidence_id: i64 },
    /// Copy an assessment (answers, flags, evidence) to re-run it later; prints the new id.
    Duplicate { id: i64 },
    /// Delete an assessment and the evidence files nothing else uses.
    Delete { id: i64 },
    /// Fetch the pages attached as URL evidence (of one assessment, or all) and compare their
    /// text with the last fetch; a changed page fires a terms_changed alert. Exits 3 on a change.
    Recheck {
        id: Option<i64>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct AttachArgs {
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AnswerArg {
    Pass,
    Fail,
    Unknown,
    Na,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormatArg {
    Md,
    Html,
}

fn answer_label(a: Option<Answer>) -> &'static str {
    match a {
        Some(Answer::Pass) => "pass",
        Some(Answer::Fail) => "FAIL",
        Some(Answer::Unknown) => "unknown",
        Some(Answer::Na) => "na",
        None => "-",
    }
}

fn integrity_label(e: &EvidenceView) -> &'static str {
    match e.integrity {
        Some(Integrity::Ok) => "ok",
        Some(Integrity::Changed) => "CHANGED",
        Some(Integrity::Missing) => "MISSING",
        Some(Integrity::Damaged) => "DAMAGED",
        None => "-",
    }
}

fn evidence_line(e: &EvidenceView) -> String {
    let what = match (&e.name, &e.url, &e.note) {
        (Some(n), _, _) => format!("{n} ({} bytes)", e.size_bytes.unwrap_or(0)),
        (None, Some(u), _) => u.clone(),
        (None, None, Some(n)) => n.clone(),
        _ => String::new(),
    };
    format!(
        "#{} {} {:?} {} sha256={} captured={} integrity={}",
        e.id,
        e.question_id,
        e.kind,
        what,
        e.sha256.as_deref().unwrap_or("-"),
        e.captured_at,
        integrity_label(e)
    )
}

fn print_view(v: &AssessmentView) {
    outln!("assessment {}: {} ({})", v.id, v.name, v.base_url);
    outln!(
        "claim: {}{}",
        v.claim.label,
        v.claim_text.as_ref().map(|t| format!(" (as worded: {t:?})")).unwrap_or_default()
    );
    if let Some(s) = &v.source {
        outln!("balance source: {s}");
    }
    outln!(
        "re-check by {} (every {} days){}",
        v.recheck_due,
        v.recheck_after_days,
        if v.recheck_overdue { ", OVERDUE" } else { "" }
    );
    outln!();
    outln!("verdict: {}", v.verdict.headline);
    for r in &v.verdict.reasons {
        outln!("  - {r}");
    }
    for s in &v.steps {
        outln!();
        outln!("step {}: {}", s.number, s.title);
        for q in &s.questions {
            outln!(
                "  [{:<7}] {:<22} {}{}{}",
                answer_label(q.answer),
                q.id,
                q.text,
                if q.hard { " (hard)" } else { "" },
                q.note.as_ref().map(|n| format!(" — note: {n}")).unwrap_or_default()
            );
        }
    }
    outln!();
    outln!("red flags:");
    for f in &v.red_flags {
        outln!("  [{}] {:<24} {}", if f.checked { "x" } else { " " }, f.id, f.text);
    }
    outln!();
    outln!("evidence:");
    if v.evidence.is_empty() {
        outln!("  none");
    }
    for e in &v.evidence {
        outln!("  {}", evidence_line(e));
    }
    if let Some(s) = &v.last_smoke {
        outln!();
        outln!("last paid test:");
        print_smoke(s);
    }
    if v.integrity_problems > 0 {
        errln!(
            "warning: {} evidence file(s) changed, missing or damaged since they were attached (integrity CHANGED/MISSING/DAMAGED above)",
            v.integrity_problems
        );
    }
}

fn print_smoke(s: &SmokeResult) {
    outln!("  result: {}", if s.passed { "passed" } else { "NOT passed" });
    if let Some(a) = &s.aborted {
        outln!("  stopped: {a}");
    }
    outln!("  paid calls: {} made, {} ok", s.paid_calls_made, s.paid_calls_ok);
    let ms = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v} ms"));
    outln!("  latency p50 {} p95 {}", ms(s.latency_p50_ms), ms(s.latency_p95_ms));
    outln!(
        "  tokens reported: {} prompt, {} completion (at most {} expected)",
        s.prompt_tokens_reported,
        s.completion_tokens_reported,
        s.completion_tokens_max_expected
    );
    outln!("  expected cost at list prices: {}", format_human(s.expected_cost_micros, &s.currency));
    if let Some(st) = &s.stream {
        outln!("  streaming: {} ({} events, [DONE] {})", if st.ok { "ok" } else { "broken" }, st.events, st.done_seen);
    }
    for (label, p) in [("unknown model", &s.unknown_model), ("bad key", &s.bad_key)] {
        if let Some(p) = p {
            outln!("  {label}: HTTP {} {:?}", p.status.map_or_else(|| "-".into(), |s| s.to_string()), p.shape);
        }
    }
    match (s.billed_micros, s.multiplier_bp) {
        (Some(b), Some(bp)) => outln!(
            "  billed {} (balance drop); multiplier {}.{:04}× list price",
            format_human(b, "USD"),
            bp / 10_000,
            bp % 10_000
        ),
        _ => {
            if let Some(n) = &s.balance_note {
                outln!("  multiplier: none ({n})");
            }
        }
    }
    if let Some(e) = s.evidence_id {
        outln!(
            "  saved as evidence #{e} on paid.calls (answer it with `burnrate check answer ID paid.calls pass|fail`)"
        );
    }
}

fn confirm(yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::new(
            ErrorCode::ConfirmationRequired,
            "the paid test spends money; standard input is not a terminal, so re-run with --yes to send it",
        ));
    }
    prompt("send these paid requests? [y/N] ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::internal(format!("cannot read the answer: {e}")))?;
    if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::ConfirmationRequired, "nothing was sent; the paid test did not run"))
    }
}

pub async fn run(app: &Burnrate, cmd: CheckCmd) -> Result<ExitCode> {
    match cmd {
        CheckCmd::New { name, base_url, claim, source, recheck_days, json } => {
            let v = app.new_assessment(&NewAssessmentRequest {
                name,
                base_url,
                claim,
                source,
                recheck_after_days: recheck_days,
            })?;
            if json {
                print_json(&v)?;
            } else {
                outln!("{}", v.id);
            }
        }
        CheckCmd::Edit { id, name, base_url, claim, source, no_source, recheck_days, json } => {
            let now = app.get_assessment(id)?;
            let v = app.update_assessment(
                id,
                &NewAssessmentRequest {
                    name: name.unwrap_or(now.name),
                    base_url: base_url.unwrap_or(now.base_url),
                    claim: claim.or(now.claim_text).or_else(|| Some(now.claim.kind.as_str().to_owned())),
                    source: if no_source { None } else { source.or(now.source) },
                    recheck_after_days: Some(recheck_days.unwrap_or(now.recheck_after_days)),
                },
            )?;
            if json {
                print_json(&v)?;
            } else {
                outln!("#{} {}: {} — {}", v.id, v.name, v.claim.label, v.verdict.headline);
            }
        }
        CheckCmd::List { json } => {
            let list = app.list_assessments()?;
            if json {
                print_json(&list)?;
            } else if list.is_empty() {
                outln!("no assessments yet; start one with: burnrate check new --name NAME --base-url URL");
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|a| {
                        vec![
                            a.id.to_string(),
                            a.name.clone(),
                            a.base_url.clone(),
                            format!("{}/{}", a.answered, a.questions),
                            a.evidence_count.to_string(),
                            if a.integrity_problems > 0 {
                                format!("{} BAD", a.integrity_problems)
                            } else {
                                "ok".into()
                            },
                            a.recheck_due.clone(),
                            a.verdict.headline.clone(),
                        ]
                    })
                    .collect();
                print_table(
                    &["ID", "NAME", "BASE URL", "ANSWERED", "EVIDENCE", "INTEGRITY", "RE-CHECK BY", "VERDICT"],
                    &rows,
                );
            }
        }
        CheckCmd::Show { id, json } => {
            let v = app.get_assessment(id)?;
            if json {
                print_json(&v)?;
                if v.integrity_problems > 0 {
                    errln!("warning: {} evidence file(s) changed, missing or damaged", v.integrity_problems);
                }
            } else {
                print_view(&v);
            }
        }
        CheckCmd::Answer { id, question_id, answer, note } => {
            let answer = match answer {
                AnswerArg::Pass => Answer::Pass,
                AnswerArg::Fail => Answer::Fail,
                AnswerArg::Unknown => Answer::Unknown,
                AnswerArg::Na => Answer::Na,
            };
            let v = app.answer(id, &question_id, answer, note.as_deref())?;
            outln!("{}: {}; verdict: {}", question_id.trim(), answer.as_str(), v.verdict.headline);
        }
        CheckCmd::Flag { id, flag_id, state } => {
            let v = app.set_red_flag(id, &flag_id, matches!(state, OnOff::On))?;
            outln!(
                "{}: {}; verdict: {}",
                flag_id.trim(),
                if matches!(state, OnOff::On) { "on" } else { "off" },
                v.verdict.headline
            );
        }
        CheckCmd::Attach { id, question_id, what, about } => {
            let e = match (what.file, what.url, what.note) {
                (Some(path), _, _) => app.attach_file(id, &question_id, &path)?,
                (None, Some(url), _) => app.attach_url(id, &question_id, &url, about.as_deref())?,
                (None, None, Some(note)) => app.attach_note(id, &question_id, &note)?,
                _ => return Err(Error::invalid_input("give --file, --url or --note")),
            };
            outln!("attached {}", evidence_line(&e));
        }
        CheckCmd::Smoke { id, key_env, calls, max_usd, models, timeout_ms, yes, json } => {
            let key = app.gateway_key(Some(&KeyInput::Env { var: key_env }))?;
            let req = SmokeRequest { models, calls, max_usd, timeout_ms };
            let plan = app.smoke_plan(id, &req, &key).await?;
            errln!("plan: {}", plan.summary);
            confirm(yes)?;
            let result = app.smoke_run(id, &plan, &key).await?;
            if json {
                print_json(&result)?;
            } else {
                print_smoke(&result);
            }
            if !result.passed {
                return Ok(ExitCode::from(2));
            }
        }
        CheckCmd::Report { id, format, out } => {
            let format = match format {
                ReportFormatArg::Md => ReportFormat::Md,
                ReportFormatArg::Html => ReportFormat::Html,
            };
            let path = match out {
                Some(path) => {
                    let text = app.assessment_report(id, format)?;
                    burnrate_core::fs::write_atomic(&path, text.as_bytes())
                        .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", path.display())))?;
                    path
                }
                None => app.export_assessment_report(id, format)?,
            };
            let v = app.get_assessment(id)?;
            outln!("wrote {} (verdict: {})", path.display(), v.verdict.headline);
            if v.integrity_problems > 0 {
                errln!(
                    "warning: {} evidence file(s) changed, missing or damaged; the report says so",
                    v.integrity_problems
                );
            }
        }
        CheckCmd::Detach { id, evidence_id } => {
            let v = app.remove_evidence(id, evidence_id)?;
            outln!("removed evidence {evidence_id} from #{id}; {} items left", v.evidence.len());
        }
        CheckCmd::Duplicate { id } => {
            let v = app.duplicate_assessment(id)?;
            outln!("{}", v.id);
        }
        CheckCmd::Delete { id } => {
            app.delete_assessment(id)?;
            outln!("deleted assessment {id}");
        }
        CheckCmd::Recheck { id, json } => {
            use burnrate_core::checklist::watch::UrlStatus;
            let checks = app.recheck_urls(id).await?;
            if json {
                print_json(&checks)?;
            } else if checks.is_empty() {
                outln!("no URL evidence to check; attach one with: burnrate check attach ID QUESTION --url URL");
            }
            for c in checks.iter().filter(|_| !json) {
                let status = match c.status {
                    UrlStatus::First => "first fetch (the reference from now on)".to_owned(),
                    UrlStatus::Unchanged => "unchanged".to_owned(),
                    UrlStatus::Changed => "CHANGED: read it again and re-check the assessment".to_owned(),
                    UrlStatus::Failed => format!("not checked: {}", c.detail.as_deref().unwrap_or("unknown error")),
                };
                outln!("#{} {} {} ({}): {status}", c.assessment_id, c.assessment, c.url, c.question_id);
            }
            if checks.iter().any(|c| c.status == UrlStatus::Changed) {
                return Ok(ExitCode::from(3));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
