//! `burnrate doctor` end to end: a real ledger written by the binary, then damaged on disk the
//! way a bad sector or a torn write damages it (one page of the spend table overwritten), and
//! salvaged: sources, budgets and the readable spend kept, the damaged file kept aside.

use crate::common;

use std::path::Path;

use common::Cli;

const KEYS: usize = 50;
const DAYS: usize = 60;

/// Three sources, a budget, and DAYS × KEYS billed rows imported into one of them.
fn ledger() -> Cli {
    let cli = Cli::new();
    for name in ["work", "home", "lab"] {
        cli.run(&["source", "add", "openai", "--name", name, "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    }
    cli.run(&["budget", "add", "--scope", "total", "--period", "month", "--amount", "200"]).ok();
    let mut csv = String::from("day,amount,currency,key_id\n");
    for d in 0..DAYS {
        let day = common::utc_day(1_767_225_600 + d as i64 * 86_400); // from 2026-01-01
        for k in 0..KEYS {
            csv.push_str(&format!("{day},{}.{:02},USD,key_{k:03}\n", k + 1, d));
        }
    }
    let file = cli.data_dir.path().join("spend.csv");
    std::fs::write(&file, csv).unwrap();
    cli.run(&["import", "csv", "--source", "work", file.to_str().unwrap()]).ok();
    cli.db().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    cli
}

/// Overwrites the leaf page in the middle of `table`'s b-tree with garbage (SQLite's file
/// format: an interior page lists its children's page numbers). Returns how many leaves it has.
fn damage_a_middle_leaf(db: &Path, table: &str) -> usize {
    let root: i64 = rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT rootpage FROM sqlite_master WHERE name = ?1", [table], |r| r.get(0))
        .unwrap();
    let mut file = std::fs::read(db).unwrap();
    let size = u16::from_be_bytes([file[16], file[17]]) as usize;
    let page = &file[(root as usize - 1) * size..root as usize * size];
    assert!(page[0] == 2 || page[0] == 5, "the root of {table} is an interior page");
    let cells = u16::from_be_bytes([page[3], page[4]]) as usize;
    let child = |i: usize| {
        let at = u16::from_be_bytes([page[12 + 2 * i], page[13 + 2 * i]]) as usize;
        u32::from_be_bytes([page[at], page[at + 1], page[at + 2], page[at + 3]]) as usize
    };
    let victim = child(cells / 2);
    file[(victim - 1) * size..victim * size].fill(0xA5);
    std::fs::write(db, file).unwrap();
    cells + 1
}

#[test]
fn a_sound_ledger_is_backed_up_and_reported_sound() {
    let cli = ledger();
    let run = cli.run(&["doctor"]).ok();
    assert!(run.stdout.contains("quick_check: ok\nintegrity_check: ok\nbackup: "), "{}", run.stdout);
    assert!(run.stdout.trim_end().ends_with("the ledger is sound; nothing was changed"), "{}", run.stdout);
    let backup = cli.data_dir.path().join("ledger.sqlite3.backup-20260302T120000Z");
    let rows: i64 =
        rusqlite::Connection::open(&backup).unwrap().query_row("SELECT count(*) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(rows as usize, DAYS * KEYS, "the backup holds the whole ledger");
}

#[test]
fn a_damaged_ledger_is_salvaged_keeping_sources_budgets_and_the_readable_spend() {
    let cli = ledger();
    let leaves = damage_a_middle_leaf(&cli.db_path(), "spend");

    let run = cli.run(&["doctor", "--json"]);
    assert_eq!(run.code, 1, "damage found\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["damaged"], true);
    assert_ne!(report["integrity_check"][0], "ok");
    assert!(report["backup"].as_str().unwrap().ends_with("ledger.sqlite3.backup-20260302T120000Z"));
    let tables = report["salvage"]["tables"].as_array().unwrap();
    let table = |name: &str| tables.iter().find(|t| t["table"] == name).unwrap_or_else(|| panic!("{report}"));
    assert_eq!((&table("sources")["kept"], &table("sources")["complete"]), (&3.into(), &true.into()));
    assert_eq!(table("budgets")["kept"], 1);
    let spend = table("spend");
    let kept = spend["kept"].as_u64().unwrap() as usize;
    assert_eq!(spend["complete"], false);
    assert!(kept < DAYS * KEYS && kept > DAYS * KEYS * 3 / 4, "one leaf of {leaves} lost: {spend}");
    eprintln!("doctor salvage: spend {kept} of {} rows kept (one of {leaves} pages damaged), {}", DAYS * KEYS, {
        let parts: Vec<String> = tables
            .iter()
            .filter(|t| t["kept"].as_u64() > Some(0))
            .map(|t| format!("{} {}", t["table"].as_str().unwrap(), t["kept"]))
            .collect();
        parts.join(", ")
    });
    let aside = report["salvage"]["damaged_ledger"].as_str().unwrap();
    assert!(aside.ends_with("ledger.sqlite3.damaged-20260302T120000Z") && Path::new(aside).exists(), "{aside}");

    // The fresh ledger is sound and serves every command.
    let integrity: String = cli.db().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let sources = cli.run(&["source", "list", "--json"]).ok().json();
    let names: Vec<&str> = sources.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["home", "lab", "work"]);
    assert_eq!(cli.run(&["budget", "list", "--json"]).ok().json().as_array().unwrap().len(), 1);
    let report = cli.run(&["report", "daily", "--from", "2026-01-01", "--to", "2026-03-01", "--json"]).ok().json();
    let total: i64 =
        report.as_array().unwrap().iter().map(|r| common::signed_micros(r["amount"].as_str().unwrap())).sum();
    let stored: i64 = cli.db().query_row("SELECT sum(amount_micros) FROM spend", [], |r| r.get(0)).unwrap();
    assert_eq!(total, stored, "reports add up to the spend kept (the roll-ups were rebuilt)");

    // Run again: the fresh ledger is sound.
    let again = cli.run(&["doctor"]).ok();
    assert!(again.stdout.contains("integrity_check: ok"), "{}", again.stdout);
}

#[test]
fn the_text_report_says_what_was_kept_and_lost() {
    let cli = ledger();
    damage_a_middle_leaf(&cli.db_path(), "spend");
    let run = cli.run(&["doctor"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let out = &run.stdout;
    assert!(out.contains("integrity_check: "), "{out}");
    assert!(out.contains("the ledger was damaged; what could be read is now in a fresh ledger in its place:"), "{out}");
    assert!(out.contains("\n  sources: 3 kept, nothing lost\n"), "{out}");
    assert!(out.contains("\n  budgets: 1 kept, nothing lost\n"), "{out}");
    assert!(out.contains("\n  empty before and after: api_keys, balance_snapshots, sync_runs, "), "{out}");
    assert!(out.contains("\n  spend_daily: "), "{out}");
    assert!(out.contains("rebuilt from the spend kept"), "{out}");
    assert!(out.contains("the damaged ledger is kept at "), "{out}");
    let spend_line = out.lines().find(|l| l.starts_with("  spend: ")).unwrap();
    assert!(spend_line.ends_with(" kept, some lost (how many could not be read)"), "{spend_line}");
}
