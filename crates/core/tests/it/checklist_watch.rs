//! Re-checking the pages attached as URL evidence over loopback: the first fetch sets the
//! reference, markup-only changes are not changes, a changed sentence is recorded on the item,
//! marks the assessment for a re-check and fires one `terms_changed` alert; an unreachable page
//! is reported and keeps its reference.

use burnrate_core::alerts::AlertKind;
use burnrate_core::checklist::dto::NewAssessmentRequest;
use burnrate_core::checklist::watch::UrlStatus;
use burnrate_core::providers::http::RetryPolicy;
use burnrate_core::Burnrate;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{self, TestCore};

fn at(dir: &std::path::Path, now: &str) -> Burnrate {
    TestCore::builder(dir).now(now).retry(RetryPolicy::default()).build()
}

async fn serve(server: &MockServer, status: u16, html: &str) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/terms"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(html.to_owned(), "text/html; charset=utf-8"))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_terms_page_is_noticed_once_and_marks_the_assessment() {
    let server = MockServer::start().await;
    let c = common::core();
    let id = c
        .core
        .new_assessment(&NewAssessmentRequest {
            name: "Example gateway".into(),
            base_url: "https://gateway.example/v1".into(),
            ..Default::default()
        })
        .unwrap()
        .id;
    let url = format!("{}/terms", server.uri());
    c.core.attach_url(id, "data.policy", &url, Some("retention policy")).unwrap();

    serve(&server, 200, "<html><script>var s='a1';</script><p>We keep prompts for 0 days.</p></html>").await;
    let first = c.core.recheck_urls(Some(id)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].status, first[0].url.as_str()), (UrlStatus::First, url.as_str()));

    // A day later: only the script's token differs. Not a change.
    let day2 = at(c.dir.path(), "2026-03-03T12:00:00Z");
    serve(&server, 200, "<html><script>var s='b2';</script>\n<p>We keep prompts  for 0 days.</p></html>").await;
    assert_eq!(day2.recheck_urls(None).await.unwrap()[0].status, UrlStatus::Unchanged);
    assert_eq!(day2.get_assessment(id).unwrap().pages_changed, 0);

    // Unreachable: reported, the reference kept, nothing fired.
    serve(&server, 503, "busy").await;
    let failed = day2.recheck_urls(Some(id)).await.unwrap();
    assert_eq!(failed[0].status, UrlStatus::Failed);
    assert_eq!(failed[0].detail.as_deref(), Some("it answered HTTP 503"));

    // Two days later the text says something else.
    let day3 = at(c.dir.path(), "2026-03-04T12:00:00Z");
    serve(&server, 200, "<html><p>We keep prompts for 30 days.</p></html>").await;
    assert_eq!(day3.recheck_urls(Some(id)).await.unwrap()[0].status, UrlStatus::Changed);
    let v = day3.get_assessment(id).unwrap();
    assert_eq!(v.pages_changed, 1);
    assert!(v.recheck_overdue, "a changed page calls for a re-check before the 90 days are up");
    let item = v.evidence.iter().find(|e| e.url.as_deref() == Some(url.as_str())).unwrap();
    assert_eq!(item.content_changed_at.as_deref(), Some("2026-03-04T12:00:00Z"));
    let alerts = day3.list_alerts(None).unwrap();
    let changed: Vec<_> = alerts.iter().filter(|a| a.kind == AlertKind::TermsChanged).collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].title, "Example gateway: a page you checked has changed");
    assert!(changed[0].body.contains(&url) && changed[0].body.contains("data.policy"), "{}", changed[0].body);
    assert!(changed[0].notify_error.is_some(), "no notifier here: recorded with the reason");

    // The same changed text again: unchanged now, and no second alert.
    assert_eq!(day3.recheck_urls(Some(id)).await.unwrap()[0].status, UrlStatus::Unchanged);
    assert_eq!(day3.list_alerts(None).unwrap().iter().filter(|a| a.kind == AlertKind::TermsChanged).count(), 1);
    // Working on the assessment again clears the mark.
    let day4 = at(c.dir.path(), "2026-03-05T12:00:00Z");
    day4.answer(id, "data.policy", burnrate_core::checklist::dto::Answer::Pass, Some("30 days is fine")).unwrap();
    assert_eq!(day4.get_assessment(id).unwrap().pages_changed, 0);

    assert_eq!(c.core.recheck_urls(Some(999)).await.unwrap_err().code, burnrate_core::ErrorCode::AssessmentNotFound);
}
