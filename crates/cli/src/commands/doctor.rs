//! `burnrate doctor`: check the ledger, back it up, salvage a damaged one (see burnrate_core::doctor).

use std::process::ExitCode;

use burnrate_core::doctor::DoctorReport;
use burnrate_core::{Burnrate, Result};
use clap::Args;

use crate::output::{outln, print_json};

#[derive(Args)]
pub struct DoctorArgs {
    #[arg(long)]
    json: bool,
}

/// Exits 0 when the ledger is sound, 1 when it was damaged (and what was readable salvaged).
pub fn run(app: &Burnrate, args: DoctorArgs) -> Result<ExitCode> {
    let report = app.doctor()?;
    if args.json {
        print_json(&report)?;
    } else {
        print_report(&report);
    }
    Ok(if report.damaged { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn print_report(r: &DoctorReport) {
    outln!("ledger: {}", r.ledger);
    for (name, lines) in [("quick_check", &r.quick_check), ("integrity_check", &r.integrity_check)] {
        match lines.as_slice() {
            [ok] if ok == "ok" => outln!("{name}: ok"),
            _ => {
                outln!("{name}: {} problem{}", lines.len(), if lines.len() == 1 { "" } else { "s" });
                for line in lines.iter().take(10) {
                    outln!("  {line}");
                }
                if lines.len() > 10 {
                    outln!("  … {} more", lines.len() - 10);
                }
            }
        }
    }
    match (&r.backup, &r.backup_error) {
        (Some(path), _) => outln!("backup: {path}"),
        (None, Some(why)) => outln!("backup: none could be made ({why})"),
        (None, None) => {}
    }
    let Some(salvage) = &r.salvage else {
        outln!("the ledger is sound; nothing was changed");
        return;
    };
    outln!("the ledger was damaged; what could be read is now in a fresh ledger in its place:");
    let mut empty = Vec::new();
    for t in &salvage.tables {
        if t.rebuilt {
            outln!("  {}: {} rows, rebuilt from the spend kept", t.table, t.kept);
            continue;
        }
        if t.complete && t.kept == 0 && t.orphaned == 0 {
            empty.push(t.table.as_str());
            continue;
        }
        let mut detail = vec![match (t.complete, t.lost) {
            (true, _) | (false, Some(0)) => "nothing lost".to_owned(),
            (false, Some(lost)) => format!("{lost} lost"),
            (false, None) => "some lost (how many could not be read)".to_owned(),
        }];
        if t.orphaned > 0 {
            detail.push(format!("{} dropped with the rows they belonged to", t.orphaned));
        }
        outln!("  {}: {} kept, {}", t.table, t.kept, detail.join(", "));
    }
    if !empty.is_empty() {
        outln!("  empty before and after: {}", empty.join(", "));
    }
    outln!("the damaged ledger is kept at {}", salvage.damaged_ledger);
    outln!("sync again to fetch from the providers what they still report of the spend lost");
}
