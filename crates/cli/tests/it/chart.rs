//! `burnrate chart` end to end: the real binary over a real ledger (seeded by `import csv`)
//! writes an SVG or a PNG that shows the imported spend.

use crate::common;

use common::Cli;

fn seeded() -> Cli {
    let cli = Cli::new();
    cli.run(&["source", "add", "openai", "--name", "work", "--key-env", "BURNRATE_TEST_OPENAI_KEY"]).ok();
    let csv = "day,amount,currency,key_id,key_name,model,kind\n\
               2026-03-01,10.5,USD,key_FAKE_a,Alpha,gpt-5,billed\n\
               2026-03-02,4.25,USD,key_FAKE_b,Beta,gpt-5-mini,billed\n\
               2026-03-02,300,CNY,key_FAKE_cn,CN,deepseek-chat,billed\n";
    let path = cli.data_dir.path().join("usage.csv");
    std::fs::write(&path, csv).unwrap();
    cli.run(&["import", "csv", "--source", "work", path.to_str().unwrap(), "--format", "generic"]).ok();
    cli
}

#[test]
fn writes_an_svg_naming_the_keys_and_a_png() {
    let cli = seeded();
    let svg = cli.data_dir.path().join("daily.svg");
    let run = cli
        .run(&[
            "chart",
            "daily",
            "--by",
            "key",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-03",
            "--currency",
            "usd",
            "--out",
            svg.to_str().unwrap(),
        ])
        .ok();
    assert!(run.stdout.contains("(2 series, 2026-03-01 to 2026-03-03, total 14.750000 USD)"), "{}", run.stdout);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("Alpha") && text.contains("Beta"));
    assert!(text.contains("Daily spend by key, USD · UTC days") && !text.contains("CN"));

    // Without --currency the larger figure's currency is drawn, and the other one is named.
    let png = cli.data_dir.path().join("daily.png");
    let run =
        cli.run(&["chart", "daily", "--from", "2026-03-01", "--to", "2026-03-03", "--out", png.to_str().unwrap()]).ok();
    assert!(run.stderr.contains("note: drew CNY only; this range also has USD (use --currency)"), "{}", run.stderr);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: twice the 900 × 360 chart.
    let (w, h) =
        (u32::from_be_bytes(bytes[16..20].try_into().unwrap()), u32::from_be_bytes(bytes[20..24].try_into().unwrap()));
    assert_eq!((w, h), (1800, 720));
}

#[test]
fn an_empty_range_still_draws_and_says_why_and_a_bad_name_is_refused() {
    let cli = seeded();
    let out = cli.data_dir.path().join("empty.svg");
    let run =
        cli.run(&["chart", "daily", "--from", "2026-01-01", "--to", "2026-01-31", "--out", out.to_str().unwrap()]).ok();
    assert!(
        run.stderr.contains("note: No spend from 2026-01-01 to 2026-01-31 — add a source and sync"),
        "{}",
        run.stderr
    );
    assert!(std::fs::read_to_string(&out).unwrap().contains("add a source and sync"));
    let bad = cli.data_dir.path().join("chart.jpg");
    let run = cli.run(&["chart", "daily", "--out", bad.to_str().unwrap()]).failed();
    assert!(run.stderr.contains("must end in .svg or .png"), "{}", run.stderr);
    assert!(!bad.exists());
}

#[test]
fn hourly_names_the_sources_that_report_whole_days() {
    // The CSV import writes whole days: the hourly chart of that day says so instead of
    // inventing hours.
    let cli = seeded();
    let out = cli.data_dir.path().join("hours.svg");
    let run = cli.run(&["chart", "hourly", "--to", "2026-03-02", "--out", out.to_str().unwrap()]).ok();
    assert!(run.stderr.contains("No hourly spend on 2026-03-02; work reported whole days only"), "{}", run.stderr);
    assert!(run.stderr.contains("note: Not split by hour: work"), "{}", run.stderr);
    assert!(std::fs::read_to_string(&out).unwrap().contains("reported whole days only"));
}

#[test]
fn a_chart_replaces_an_old_file_whole_and_a_failed_write_leaves_it() {
    let cli = seeded();
    let dir = cli.data_dir.path().join("charts");
    std::fs::create_dir(&dir).unwrap();
    let out = dir.join("daily.svg");
    std::fs::write(&out, "old chart").unwrap();
    let args = |out: &std::path::Path| {
        ["chart", "daily", "--from", "2026-03-01", "--to", "2026-03-03", "--out"]
            .map(String::from)
            .to_vec()
            .into_iter()
            .chain([out.display().to_string()])
            .collect::<Vec<_>>()
    };
    let run_args = args(&out);
    cli.run(&run_args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("<svg"));
    // A directory where the file should go: refused, the directory and its content untouched,
    // and no temporary file left next to it.
    let taken = dir.join("taken.svg");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep"), "kept").unwrap();
    let run_args = args(&taken);
    let run = cli.run(&run_args.iter().map(String::as_str).collect::<Vec<_>>()).failed();
    assert!(run.stderr.contains("cannot write"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(taken.join("keep")).unwrap(), "kept");
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["daily.svg", "taken.svg"]);
}
