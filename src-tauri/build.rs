/// The app's own commands. Declaring them makes Tauri generate one permission per command
/// (`allow-<name>`), so capabilities/default.json can grant exactly these and nothing else.
const COMMANDS: &[&str] = &[
    "app_info",
    "list_sources",
    "add_source",
    "remove_source",
    "sync_now",
    "poller_status",
    "set_polling_paused",
    "daily_report",
    "reconcile",
    "import_csv",
    "test_connection",
    "test_source",
    "set_key_environment",
    "chart",
    "key_table",
    "export_ledger",
    "save_chart",
    "list_budgets",
    "add_budget",
    "remove_budget",
    "list_alerts",
    "get_settings",
    "set_setting",
    "pause_alerts",
    "disable_key",
    "key_actions",
    "export_incident",
    "tray_status",
    "list_assessments",
    "new_assessment",
    "update_assessment",
    "get_assessment",
    "answer_question",
    "set_red_flag",
    "attach_url",
    "attach_note",
    "attach_file",
    "duplicate_assessment",
    "delete_assessment",
    "smoke_plan",
    "smoke_run",
    "export_assessment_report",
    "recheck_urls",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("failed to run tauri-build");
}
