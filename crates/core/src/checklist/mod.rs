//! The gateway trust checklist: an assessment per gateway (its claim, seven steps of questions,
//! red flags), evidence stored content-addressed with integrity checks, an automated small paid
//! test, a verdict computed from all of it, and a Markdown / HTML report. See docs/checklist.md.

pub mod api;
pub mod content;
pub mod dto;
pub mod evidence;
mod paid_test;
pub mod report;
pub mod smoke;
pub mod verdict;
pub mod watch;
