//! The CLI's integration tests, as one test binary: each module was a `tests/<name>.rs` binary
//! of its own. They drive the real `burnrate` binary (`common`), so the tests stay black-box.

mod common;

mod alert_delivery_kill;
mod alerts;
mod auto_disable;
mod budget_fx;
mod chart;
mod check;
mod cli_contract;
mod concurrent_writers;
mod doctor;
mod export_focus;
mod hostile_output;
mod hostile_provider;
mod import_csv;
mod incident_export;
mod key_disable;
mod key_table;
mod keyring;
mod kill_nine;
mod metrics;
mod provider_anthropic;
mod provider_deepseek;
mod provider_litellm;
mod provider_openai;
mod provider_openrouter;
mod provider_relays;
mod rates;
mod report_convert;
mod serve;
