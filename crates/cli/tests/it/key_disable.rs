//! `burnrate key disable` and `burnrate key actions` end to end: the real binary against
//! loopback mocks of each provider's key endpoint. Each supported provider must receive exactly
//! the documented method, path, body and auth header; the attempt is recorded in `key_actions`
//! and a success marks the key disabled. Refusals (no confirmation, OpenAI without the
//! irreversible acknowledgement, unsupported providers, unknown keys) send nothing and record
//! nothing. The source's key never appears in any output.

use crate::common;

use common::{Cli, Run};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// BURNRATE_NOW of the common harness, 2026-03-02T12:00:00Z.
const NOW: i64 = 1_772_452_800;
const KEY_ENV: &str = "BURNRATE_TEST_MANAGE_KEY";

const OR_KEY: &str = "sk-or-v1-FAKE-test-management-key-0001";
const OR_HASH: &str = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";
const LITELLM_KEY: &str = "sk-FAKE-litellm-master-key-0002";
const LITELLM_HASH: &str = "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b";
const ANTHROPIC_KEY: &str = "sk-ant-admin01-FAKE-test-admin-key-0003";
const ANTHROPIC_KEY_ID: &str = "apikey_01FAKEFAKEFAKEFAKEFAKE";
const OPENAI_KEY: &str = "sk-admin-FAKE-test-admin-key-write-0004";
const OPENAI_KEY_ID: &str = "key_FAKEabc123";
const DEEPSEEK_KEY: &str = "sk-FAKE-deepseek-test-key-0005";

struct Setup {
    cli: Cli,
    server: MockServer,
    key: &'static str,
}

impl Setup {
    /// A data directory with one source named `src` of `provider`, pointed at a fresh mock
    /// (`base_path` appended to its URL), reading `key` from an environment variable.
    async fn new(provider: &str, base_path: &str, key: &'static str) -> Setup {
        let server = MockServer::start().await;
        let mut cli = Cli::new();
        cli.env.push((KEY_ENV.into(), key.into()));
        let base = format!("{}{base_path}", server.uri());
        let setup = Setup { cli, server, key };
        setup.run(&["source", "add", provider, "--name", "src", "--base-url", &base, "--key-env", KEY_ENV]).ok();
        setup
    }

    /// Runs the binary and checks that the source's key is in neither output stream.
    fn run(&self, args: &[&str]) -> Run {
        let run = self.cli.run(args);
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(self.key), "the key leaked into CLI output:\n{text}");
        }
        run
    }

    fn source_id(&self) -> i64 {
        self.cli.db().query_row("SELECT id FROM sources WHERE name = 'src'", [], |r| r.get(0)).unwrap()
    }

    /// A key as a sync would have recorded it.
    fn insert_key(&self, key_id: &str, name: &str, fingerprint: &str, project: Option<&str>) {
        self.cli
            .db()
            .execute(
                "INSERT INTO api_keys (source_id, provider_key_id, display_name, fingerprint, project) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![self.source_id(), key_id, name, fingerprint, project],
            )
            .unwrap();
    }

    fn disabled(&self, key_id: &str) -> bool {
        self.cli
            .db()
            .query_row(
                "SELECT disabled FROM api_keys WHERE source_id = ?1 AND provider_key_id = ?2",
                rusqlite::params![self.source_id(), key_id],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// (key_id, ok, detail, requested_at, alert_id) of every recorded action, oldest first.
    fn actions(&self) -> Vec<(String, bool, String, i64, Option<i64>)> {
        let db = self.cli.db();
        let mut stmt = db
            .prepare("SELECT key_id, ok, detail, requested_at, alert_id FROM key_actions WHERE action = 'disable' ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap()
    }
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn insert_alert(cli: &Cli, source_id: i64, key_id: &str) -> i64 {
    let db = cli.db();
    db.execute(
        "INSERT INTO alerts (kind, dedupe_key, source_id, key_id, amount_micros, limit_micros, currency, estimated, title, body, fired_at)
         VALUES ('spike', 'spike:test', ?1, ?2, 25000000, 1000000, 'USD', 0, 'Spend spike', 'spike body', ?3)",
        rusqlite::params![source_id, key_id, NOW - 3_600],
    )
    .unwrap();
    db.last_insert_rowid()
}

#[tokio::test(flavor = "multi_thread")]
async fn openrouter_disables_by_hash_with_the_management_key_and_records_it() {
    let s = Setup::new("openrouter", "/api/v1", OR_KEY).await;
    s.insert_key(OR_HASH, "Production", "sk-or-v1-f01...c96", None);
    let alert = insert_alert(&s.cli, s.source_id(), OR_HASH);
    Mock::given(method("PATCH"))
        .and(path(format!("/api/v1/keys/{OR_HASH}")))
        .and(header("authorization", format!("Bearer {OR_KEY}").as_str()))
        .and(body_json(json!({"disabled": true})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "hash": OR_HASH, "name": "Production", "label": "sk-or-v1-f01...c96", "disabled": true,
            "limit": null, "usage": 25.5, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-03-02T12:00:00Z"
        }})))
        .expect(1)
        .mount(&s.server)
        .await;

    let alert_arg = alert.to_string();
    let run = s.run(&["key", "disable", "--source", "src", OR_HASH, "--yes", "--alert", &alert_arg]).ok();
    assert!(run.stdout.contains("OpenRouter disabled the key"), "{}", run.stdout);
    assert!(run.stdout.contains("recorded as key action #1 (Production (sk-or-v1-f01...c96"), "{}", run.stdout);

    let requests = s.requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method.as_str(), "PATCH");
    assert_eq!(body_of(&requests[0]), json!({"disabled": true}));
    assert!(s.disabled(OR_HASH));
    let actions = s.actions();
    assert_eq!(actions.len(), 1);
    let (key_id, ok, detail, at, alert_id) = &actions[0];
    assert_eq!((key_id.as_str(), *ok, *at, *alert_id), (OR_HASH, true, NOW, Some(alert)));
    assert!(detail.contains("PATCH /keys/{hash} answered disabled: true"), "{detail}");

    let listed = s.run(&["key", "actions", "--json"]).ok().json();
    assert_eq!(listed[0]["key_id"], OR_HASH);
    assert_eq!(listed[0]["key_name"], "Production");
    assert_eq!(listed[0]["ok"], true);
    assert_eq!(listed[0]["requested_at"], "2026-03-02T12:00:00Z");
    assert_eq!(listed[0]["alert_id"], alert);
    assert_eq!(listed[0]["provider"], "openrouter");
    let table = s.run(&["key", "actions"]).ok();
    assert!(table.stdout.contains("disabled") && table.stdout.contains("Production"), "{}", table.stdout);
    s.cli.assert_key_in_no_file(OR_KEY);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_yes_nothing_is_sent_and_nothing_recorded() {
    let s = Setup::new("openrouter", "/api/v1", OR_KEY).await;
    s.insert_key(OR_HASH, "Production", "sk-or-v1-f01...c96", None);
    let run = s.run(&["key", "disable", "--source", "src", OR_HASH]).failed();
    assert!(run.stderr.contains("stops every app that uses it"), "{}", run.stderr);
    assert!(run.stderr.contains("re-run with --yes"), "{}", run.stderr);
    assert!(s.requests().await.is_empty());
    assert!(s.actions().is_empty());
    assert!(!s.disabled(OR_HASH));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ordinary_openrouter_key_is_refused_with_the_key_type_needed_and_the_failure_recorded() {
    let s = Setup::new("openrouter", "/api/v1", OR_KEY).await;
    s.insert_key(OR_HASH, "Production", "sk-or-v1-f01...c96", None);
    Mock::given(method("PATCH"))
        .and(path(format!("/api/v1/keys/{OR_HASH}")))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"error": {"code": 403, "message": "Only management keys can perform this operation"}}),
        ))
        .mount(&s.server)
        .await;

    let run = s.run(&["key", "disable", "--source", "src", OR_HASH, "--yes"]).failed();
    assert!(run.stderr.contains("OpenRouter rejected the key (403"), "{}", run.stderr);
    assert!(run.stderr.contains("Only management keys can perform this operation"), "{}", run.stderr);
    assert!(run.stderr.contains("needs: a management key"), "{}", run.stderr);
    assert!(run.stderr.contains("recorded as key action #1"), "{}", run.stderr);
    assert_eq!(s.requests().await.len(), 1, "a refusal is not retried");

    let actions = s.actions();
    assert_eq!(actions.len(), 1);
    assert!(!actions[0].1);
    assert!(actions[0].2.contains("needs: a management key"), "{}", actions[0].2);
    assert!(!s.disabled(OR_HASH), "a refused disable leaves the key enabled in the ledger");
    let listed = s.run(&["key", "actions", "--json"]).ok().json();
    assert_eq!(listed[0]["ok"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_openrouter_key_known_only_by_its_label_is_refused_before_any_request() {
    let s = Setup::new("openrouter", "/api/v1", OR_KEY).await;
    // What a source with an ordinary key records: the key's label, not its hash.
    s.insert_key("sk-or-v1-abc...111", "sk-or-v1-abc...111", "sk-or-v1-abc...111", None);
    let run = s.run(&["key", "disable", "--source", "src", "sk-or-v1-abc...111", "--yes"]).failed();
    assert!(run.stderr.contains("management key"), "{}", run.stderr);
    assert!(s.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn litellm_blocks_the_hashed_token_with_the_master_key() {
    let s = Setup::new("litellm", "", LITELLM_KEY).await;
    s.insert_key(LITELLM_HASH, "ci-pipeline", "sk-...abcd", Some("team-a"));
    Mock::given(method("POST"))
        .and(path("/key/block"))
        .and(header("authorization", format!("Bearer {LITELLM_KEY}").as_str()))
        .and(body_json(json!({"key": LITELLM_HASH})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token": LITELLM_HASH, "key_alias": "ci-pipeline", "blocked": true, "spend": 12.5
        })))
        .expect(1)
        .mount(&s.server)
        .await;

    let run = s.run(&["key", "disable", "--source", "src", LITELLM_HASH, "--yes", "--json"]).ok();
    let view = run.json();
    assert_eq!(view["ok"], true);
    assert_eq!(view["key_name"], "ci-pipeline");
    assert!(view["detail"].as_str().unwrap().contains("LiteLLM blocked the key"), "{view}");
    let requests = s.requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method.as_str(), "POST");
    assert_eq!(body_of(&requests[0]), json!({"key": LITELLM_HASH}));
    assert!(s.disabled(LITELLM_HASH));
    assert_eq!(s.actions().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_sets_the_key_inactive_with_the_admin_key() {
    let s = Setup::new("anthropic", "", ANTHROPIC_KEY).await;
    s.insert_key(ANTHROPIC_KEY_ID, "Developer Key", "sk-…igAA", Some("Default"));
    Mock::given(method("POST"))
        .and(path(format!("/v1/organizations/api_keys/{ANTHROPIC_KEY_ID}")))
        .and(header("x-api-key", ANTHROPIC_KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_json(json!({"status": "inactive"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": ANTHROPIC_KEY_ID, "type": "api_key", "name": "Developer Key", "status": "inactive",
            "partial_key_hint": "sk-ant-api03-R2D...igAA", "workspace_id": null,
            "created_at": "2024-10-30T23:58:27.427722Z", "created_by": {"id": "user_FAKE", "type": "user"}
        })))
        .expect(1)
        .mount(&s.server)
        .await;

    let run = s.run(&["key", "disable", "--source", "src", ANTHROPIC_KEY_ID, "--yes"]).ok();
    assert!(run.stdout.contains("Anthropic set the key inactive"), "{}", run.stdout);
    let requests = s.requests().await;
    assert_eq!(requests.len(), 1);
    assert_eq!(body_of(&requests[0]), json!({"status": "inactive"}));
    assert!(requests[0].headers.get("authorization").is_none(), "Anthropic takes the key in x-api-key only");
    assert!(s.disabled(ANTHROPIC_KEY_ID));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_says_the_key_is_still_active_is_a_recorded_failure() {
    let s = Setup::new("anthropic", "", ANTHROPIC_KEY).await;
    s.insert_key(ANTHROPIC_KEY_ID, "Developer Key", "sk-…igAA", None);
    Mock::given(method("POST"))
        .and(path(format!("/v1/organizations/api_keys/{ANTHROPIC_KEY_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": ANTHROPIC_KEY_ID, "status": "active"})))
        .mount(&s.server)
        .await;
    let run = s.run(&["key", "disable", "--source", "src", ANTHROPIC_KEY_ID, "--yes"]).failed();
    assert!(run.stderr.contains("the key may still work"), "{}", run.stderr);
    assert!(!s.disabled(ANTHROPIC_KEY_ID));
    assert!(!s.actions()[0].1);
}

/// An OpenAI source whose ledger has billed spend of the key in project `proj_FAKE_prod`.
async fn openai_with_spend() -> Setup {
    let s = Setup::new("openai", "/v1", OPENAI_KEY).await;
    s.insert_key(OPENAI_KEY_ID, "My API Key", "sk-abc...def", Some("Production app"));
    s.cli
        .db()
        .execute(
            "INSERT INTO spend (source_id, key_id, model, project, bucket_start, bucket_width, currency, kind, amount_micros, fetched_at)
             VALUES (?1, ?2, '', 'proj_FAKE_prod', ?3, 'day', 'USD', 'billed', 5000000, ?3)",
            rusqlite::params![s.source_id(), OPENAI_KEY_ID, NOW - 43_200],
        )
        .unwrap();
    s
}

fn openai_deleted() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"object": "organization.project.api_key.deleted", "id": OPENAI_KEY_ID, "deleted": true}))
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_refuses_to_delete_without_the_irreversible_acknowledgement() {
    let s = openai_with_spend().await;
    let run = s.run(&["key", "disable", "--source", "src", OPENAI_KEY_ID]).failed();
    assert!(run.stderr.contains("re-run with --yes --i-understand-this-deletes-the-key"), "{}", run.stderr);
    let run = s.run(&["key", "disable", "--source", "src", OPENAI_KEY_ID, "--yes"]).failed();
    assert!(run.stderr.contains("cannot be undone"), "{}", run.stderr);
    assert!(run.stderr.contains("re-run with --i-understand-this-deletes-the-key"), "{}", run.stderr);
    assert!(s.requests().await.is_empty());
    assert!(s.actions().is_empty());
    let providers = s.run(&["source", "list", "--json"]).ok().json();
    assert_eq!(providers[0]["provider"], "openai");
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_deletes_the_key_from_the_project_its_costs_name() {
    let s = openai_with_spend().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/organization/projects/proj_FAKE_prod/api_keys/{OPENAI_KEY_ID}")))
        .and(header("authorization", format!("Bearer {OPENAI_KEY}").as_str()))
        .respond_with(openai_deleted())
        .expect(1)
        .mount(&s.server)
        .await;
    let run = s
        .run(&["key", "disable", "--source", "src", OPENAI_KEY_ID, "--yes", "--i-understand-this-deletes-the-key"])
        .ok();
    assert!(run.stdout.contains("OpenAI deleted the key from project proj_FAKE_prod"), "{}", run.stdout);
    assert!(run.stdout.contains("cannot be undone"), "{}", run.stdout);
    let requests = s.requests().await;
    assert_eq!(requests.len(), 1, "the project came from the ledger: no project listing");
    assert_eq!(requests[0].method.as_str(), "DELETE");
    assert!(requests[0].body.is_empty());
    assert!(s.disabled(OPENAI_KEY_ID));
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_finds_the_project_by_name_when_the_key_has_no_billed_spend() {
    let s = Setup::new("openai", "/v1", OPENAI_KEY).await;
    s.insert_key(OPENAI_KEY_ID, "My API Key", "sk-abc...def", Some("Production app"));
    Mock::given(method("GET"))
        .and(path("/v1/organization/projects"))
        .and(query_param("include_archived", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [
                {"object": "organization.project", "id": "proj_FAKE_other", "name": "Staging", "status": "active"},
                {"object": "organization.project", "id": "proj_FAKE_named", "name": "Production app", "status": "active"}
            ],
            "first_id": "proj_FAKE_other", "last_id": "proj_FAKE_named", "has_more": false
        })))
        .mount(&s.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/v1/organization/projects/proj_FAKE_named/api_keys/{OPENAI_KEY_ID}")))
        .respond_with(openai_deleted())
        .expect(1)
        .mount(&s.server)
        .await;
    s.run(&["key", "disable", "--source", "src", OPENAI_KEY_ID, "--yes", "--i-understand-this-deletes-the-key"]).ok();
    assert!(s.disabled(OPENAI_KEY_ID));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_retried_after_a_server_error_that_finds_the_key_gone_counts_as_done() {
    let s = openai_with_spend().await;
    let key_path = format!("/v1/organization/projects/proj_FAKE_prod/api_keys/{OPENAI_KEY_ID}");
    Mock::given(method("DELETE"))
        .and(path(key_path.as_str()))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&s.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(key_path.as_str()))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"message": "No such API key", "type": "invalid_request_error"}})),
        )
        .mount(&s.server)
        .await;
    let run = s
        .run(&["key", "disable", "--source", "src", OPENAI_KEY_ID, "--yes", "--i-understand-this-deletes-the-key"])
        .ok();
    assert!(run.stdout.contains("the retry found the key gone"), "{}", run.stdout);
    assert_eq!(s.requests().await.len(), 2);
    assert!(s.disabled(OPENAI_KEY_ID));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_404_means_the_provider_does_not_know_the_key() {
    let s = openai_with_spend().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {"message": "No such API key"}})))
        .mount(&s.server)
        .await;
    let run = s
        .run(&["key", "disable", "--source", "src", OPENAI_KEY_ID, "--yes", "--i-understand-this-deletes-the-key"])
        .failed();
    assert!(run.stderr.contains("OpenAI does not know that key (404"), "{}", run.stderr);
    assert!(!s.disabled(OPENAI_KEY_ID));
    assert!(!s.actions()[0].1);
}

#[tokio::test(flavor = "multi_thread")]
async fn deepseek_cannot_disable_keys_and_says_where_to_revoke_them() {
    let s = Setup::new("deepseek", "", DEEPSEEK_KEY).await;
    let run = s.run(&["key", "disable", "--source", "src", "any-key", "--yes"]).failed();
    assert!(run.stderr.contains("DeepSeek has no API for disabling a key"), "{}", run.stderr);
    assert!(run.stderr.contains("https://platform.deepseek.com/api_keys"), "{}", run.stderr);
    assert!(s.requests().await.is_empty());
    assert!(s.actions().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_cannot_disable_keys_and_names_its_own_dashboard() {
    let s = Setup::new("sub2api", "", DEEPSEEK_KEY).await;
    let run = s.run(&["key", "disable", "--source", "src", "k1", "--yes"]).failed();
    assert!(run.stderr.contains("sub2api relay has no API for disabling a key"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("your relay's dashboard ({})", s.server.uri())), "{}", run.stderr);
    assert!(s.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_is_refused_before_any_request() {
    let s = Setup::new("openrouter", "/api/v1", OR_KEY).await;
    let run = s.run(&["key", "disable", "--source", "src", OR_HASH, "--yes"]).failed();
    assert!(run.stderr.contains("has no key"), "{}", run.stderr);
    assert!(run.stderr.contains("burnrate report daily --by key --json"), "{}", run.stderr);
    assert!(s.requests().await.is_empty());
    let run = s.run(&["key", "disable", "--source", "nope", OR_HASH, "--yes"]).failed();
    assert!(run.stderr.contains("no source named"), "{}", run.stderr);
}
