//! The core's integration tests, as one test binary (one link of the core instead of one per
//! file). Each module was a `tests/<name>.rs` binary of its own; `common` is their shared
//! support. Snapshots live in `snapshots/` beside this file, named `it__<module>__<name>.snap`.

mod common;

mod auto_disable;
mod budgets_fx;
mod channels;
mod charts;
mod checklist;
mod checklist_upload;
mod checklist_watch;
mod connection_test;
mod dashboard;
mod focus;
mod fuzz;
mod headline;
mod incident;
mod metrics;
mod notifications;
mod poller;
mod rates;
mod report_convert;
mod resident;
mod serve;
mod smoke;
mod spike_leak;
