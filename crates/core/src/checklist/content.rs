//! What the checklist asks: the claim types a gateway makes (each with the proof it needs), the
//! seven steps and their questions, and the red flags. Static data in Burnrate's own words;
//! the ids are stable (they are stored with every answer), the wording may improve.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a gateway says it is. An authorization claim is legal or commercial and needs proof
/// of the provider relationship; a technical claim needs working behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ClaimKind {
    /// "Official API": the provider's own endpoint.
    OfficialApi,
    /// "Authorized reseller": resale under an agreement with the provider.
    AuthorizedReseller,
    /// "Official model access": a model served through a licensed route.
    OfficialModelAccess,
    /// "OpenAI-compatible API": the request and response shapes match the OpenAI SDK.
    OpenaiCompatible,
    /// "Multi-model gateway": routes to several providers.
    MultiModel,
    /// "Pay without a card" / local payment rails: a payment claim, not an authorization.
    PaymentMethod,
}

pub struct Claim {
    pub kind: ClaimKind,
    pub id: &'static str,
    pub label: &'static str,
    /// What the claim may mean.
    pub meaning: &'static str,
    /// The proof to ask for.
    pub proof: &'static str,
    /// True for legal or commercial claims: passing needs the provider relationship evidenced.
    pub authorization: bool,
    /// The questions that must pass for the claim to count as evidenced.
    pub requires: &'static [&'static str],
}

pub const CLAIMS: &[Claim] = &[
    Claim {
        kind: ClaimKind::OfficialApi,
        id: "official_api",
        label: "Official API",
        meaning: "the provider's own endpoint, reached with an account you hold at the provider",
        proof: "the provider's documentation of the endpoint and an account in your name at the provider",
        authorization: true,
        requires: &["scope.relationship", "scope.providers", "scope.models", "keys.per_account", "payment.identity"],
    },
    Claim {
        kind: ClaimKind::AuthorizedReseller,
        id: "authorized_reseller",
        label: "Authorized reseller",
        meaning: "resale of a provider's API under an agreement with that provider",
        proof: "the resale agreement or the provider's partner listing, and terms that allow resale",
        authorization: true,
        requires: &["scope.relationship", "scope.resale", "scope.models", "payment.identity"],
    },
    Claim {
        kind: ClaimKind::OfficialModelAccess,
        id: "official_model_access",
        label: "Official model access",
        meaning: "a named model served through a licensed route",
        proof: "proof specific to each provider and model: agreement, marketplace listing or provider confirmation",
        authorization: true,
        requires: &["scope.relationship", "scope.providers", "scope.models"],
    },
    Claim {
        kind: ClaimKind::OpenaiCompatible,
        id: "openai_compatible",
        label: "OpenAI-compatible API",
        meaning: "the API accepts OpenAI SDK requests and answers in the same shapes (a technical claim only)",
        proof: "documentation with SDK examples, and a paid test that passes",
        authorization: false,
        requires: &["tech.docs", "tech.errors", "paid.calls"],
    },
    Claim {
        kind: ClaimKind::MultiModel,
        id: "multi_model",
        label: "Multi-model gateway",
        meaning: "one endpoint that routes to models of several providers",
        proof: "a model list, documentation of the routing, and usage logs per request",
        authorization: false,
        requires: &["scope.providers", "scope.models", "tech.usage_logs", "paid.models"],
    },
    Claim {
        kind: ClaimKind::PaymentMethod,
        id: "payment_method",
        label: "Alternative payment (no card, local rails)",
        meaning: "a way to pay; it says nothing about authorization",
        proof: "receipts and a balance ledger that match what you paid",
        authorization: false,
        requires: &["payment.receipts", "payment.ledger", "paid.topup"],
    },
];

impl ClaimKind {
    pub fn info(self) -> &'static Claim {
        CLAIMS.iter().find(|c| c.kind == self).expect("every claim kind has an entry")
    }

    pub fn as_str(self) -> &'static str {
        self.info().id
    }

    pub fn from_id(id: &str) -> Option<Self> {
        CLAIMS.iter().find(|c| c.id == id).map(|c| c.kind)
    }

    /// Reads a claim as a user typed it: a claim id (`openai_compatible`, `openai-compatible`)
    /// or the gateway's own wording ("Official authorized API access"), matched by its words.
    /// Unrecognised wording is treated as the weakest, technical claim.
    pub fn from_text(text: &str) -> Self {
        let t = text.trim().to_lowercase();
        if let Some(k) = Self::from_id(&t.replace(['-', ' '], "_")) {
            return k;
        }
        let has = |w: &str| t.contains(w);
        if has("reseller") || has("resale") || has("partner") {
            ClaimKind::AuthorizedReseller
        } else if has("official") && has("model") {
            ClaimKind::OfficialModelAccess
        } else if has("official") || has("authori") {
            ClaimKind::OfficialApi
        } else if has("multi") || has("all models") || has("many models") {
            ClaimKind::MultiModel
        } else if has("card") || has("pay") || has("alipay") || has("wechat") || has("crypto") {
            ClaimKind::PaymentMethod
        } else {
            ClaimKind::OpenaiCompatible
        }
    }
}

pub struct Question {
    pub id: &'static str,
    pub text: &'static str,
    /// What a pass looks like.
    pub pass_hint: &'static str,
    /// A failed hard check means: do not send production traffic, whatever the claim.
    pub hard: bool,
}

pub struct Step {
    pub id: &'static str,
    pub number: u8,
    pub title: &'static str,
    pub questions: &'static [Question],
}

const fn q(id: &'static str, text: &'static str, pass_hint: &'static str, hard: bool) -> Question {
    Question { id, text, pass_hint, hard }
}

/// The question the automated paid test attaches its result to.
pub const PAID_TEST_QUESTION: &str = "paid.calls";

pub const STEPS: &[Step] = &[
    Step {
        id: "scope",
        number: 1,
        title: "Provider scope",
        questions: &[
            q(
                "scope.relationship",
                "Which relationship with each model provider does the gateway state, and do you have it in writing?",
                "a direct agreement, cloud marketplace listing, contract or documented integration you can show",
                false,
            ),
            q(
                "scope.providers",
                "Does the gateway name the model providers it routes to?",
                "named providers, not \"all official models\"",
                true,
            ),
            q(
                "scope.models",
                "Is there a model list that names the models you plan to use?",
                "a published list with exact model ids",
                true,
            ),
            q(
                "scope.resale",
                "Do the gateway's terms say whether reselling access is allowed, and on what basis?",
                "terms that explain the basis for resale",
                false,
            ),
        ],
    },
    Step {
        id: "keys",
        number: 2,
        title: "Key management",
        questions: &[
            q(
                "keys.per_account",
                "Is the key issued to your own account, not shared with other buyers?",
                "per-account or per-project keys; never one key for everyone",
                true,
            ),
            q(
                "keys.delivery",
                "Do you create the key yourself in a dashboard you log in to?",
                "self-service keys; not a key sent by chat or e-mail after payment",
                true,
            ),
            q(
                "keys.rotation",
                "Can you rotate and revoke keys yourself, at any time?",
                "create, rotate and revoke without asking anyone",
                false,
            ),
            q(
                "keys.permissions",
                "Can a key be limited (project, allowed models, spend limit)?",
                "per-key limits or permissions",
                false,
            ),
            q(
                "keys.server_side",
                "Do the docs keep keys on the server (environment variables, never in a browser or mobile app)?",
                "server-side use only",
                true,
            ),
        ],
    },
    Step {
        id: "payment",
        number: 3,
        title: "Payment records",
        questions: &[
            q(
                "payment.receipts",
                "Do you get a receipt or invoice for every payment?",
                "a receipt naming the seller, amount and date",
                true,
            ),
            q(
                "payment.ledger",
                "Is there a balance ledger or usage export you can reconcile with?",
                "per-request or per-day charges you can download",
                false,
            ),
            q(
                "payment.identity",
                "Is the company that takes your money identified?",
                "legal name and address on the receipt and in the terms",
                false,
            ),
            q(
                "payment.refunds",
                "Are refunds of unused balance described in writing?",
                "a written refund policy",
                false,
            ),
        ],
    },
    Step {
        id: "region",
        number: 4,
        title: "Region and policy limits",
        questions: &[
            q(
                "region.documented",
                "Are supported countries and territories documented, for the gateway and for each provider behind it?",
                "policy pages for each provider you will use",
                false,
            ),
            q(
                "region.no_bypass",
                "Is the gateway free of region-bypass or \"ban-proof\" marketing?",
                "no promise to get around a provider's regional policy",
                true,
            ),
            q(
                "region.account_accurate",
                "Does your account state your real country and company?",
                "an accurate account profile",
                false,
            ),
        ],
    },
    Step {
        id: "data",
        number: 5,
        title: "Data handling",
        questions: &[
            q(
                "data.policy",
                "Is there a written privacy and data-handling policy?",
                "a published policy that covers API traffic",
                true,
            ),
            q(
                "data.logging",
                "Does it say whether prompts and outputs are logged, for how long, and whether logging can be turned off?",
                "stated retention, and an opt-out where you need one",
                false,
            ),
            q(
                "data.training",
                "Does it say that your prompts are not used for training?",
                "a written no-training commitment or opt-out",
                false,
            ),
            q("data.location", "Does it say where requests are processed?", "named regions", false),
        ],
    },
    Step {
        id: "tech",
        number: 6,
        title: "Technical docs and error behaviour",
        questions: &[
            q(
                "tech.docs",
                "Is the API documented, with SDK examples for the OpenAI-compatible endpoint?",
                "endpoint, SDK examples and model ids in the docs",
                false,
            ),
            q(
                "tech.errors",
                "Are errors documented and returned as JSON with a readable message?",
                "documented error codes; JSON error bodies (the paid test records them)",
                false,
            ),
            q("tech.rate_limits", "Are rate limits documented?", "published limits per key or account", false),
            q(
                "tech.usage_logs",
                "Can you see usage per request (tokens, model, cost)?",
                "a usage log or export per request",
                false,
            ),
            q(
                "tech.support",
                "Did a public support channel answer a test question clearly?",
                "a named channel and a useful answer",
                false,
            ),
        ],
    },
    Step {
        id: "paid",
        number: 7,
        title: "Small paid test",
        questions: &[
            q(
                "paid.topup",
                "Did a small top-up produce a receipt and appear in the balance?",
                "receipt and balance match what you paid",
                false,
            ),
            q(
                "paid.calls",
                "Did the automated paid test pass (model list, calls, streaming, error shapes)?",
                "every call answered with the expected shapes; see the attached result",
                false,
            ),
            q(
                "paid.models",
                "Did each model you tried answer as the model you asked for?",
                "the model field and the behaviour match the request",
                false,
            ),
            q(
                "paid.billing",
                "Did the billed amount match the expected cost at list prices?",
                "a price multiplier you accept, measured by the paid test",
                false,
            ),
        ],
    },
];

pub struct RedFlag {
    pub id: &'static str,
    pub text: &'static str,
    pub why: &'static str,
}

pub const RED_FLAGS: &[RedFlag] = &[
    RedFlag {
        id: "unproven_authorization",
        text: "Claims to be official or authorized and offers no proof",
        why: "a legal claim without evidence",
    },
    RedFlag {
        id: "shared_key",
        text: "One key is shared between buyers",
        why: "no account control, usage tracking or recovery; against providers' key rules",
    },
    RedFlag {
        id: "key_in_chat",
        text: "The key is handed over in a chat or e-mail",
        why: "nobody controls its copies",
    },
    RedFlag {
        id: "unlimited",
        text: "Offers \"unlimited\" use of a per-token API",
        why: "incompatible with how the providers bill",
    },
    RedFlag { id: "no_model_list", text: "No list of models", why: "you cannot know what serves your requests" },
    RedFlag { id: "no_receipts", text: "No receipts", why: "no record for accounting or disputes" },
    RedFlag { id: "no_terms", text: "No terms of service", why: "no legal basis for the service" },
    RedFlag { id: "no_data_policy", text: "No data policy", why: "unknown handling of your prompts and outputs" },
    RedFlag {
        id: "region_bypass",
        text: "Markets a way around regional restrictions",
        why: "the provider may block the accounts behind it",
    },
    RedFlag {
        id: "client_side_keys",
        text: "Tells you to put keys in browser or mobile code",
        why: "anyone can copy the key from the app",
    },
    RedFlag { id: "anonymous_seller", text: "The seller is anonymous", why: "nobody to hold to the terms" },
];

pub fn question(id: &str) -> Option<(&'static Step, &'static Question)> {
    STEPS.iter().find_map(|s| s.questions.iter().find(|q| q.id == id).map(|q| (s, q)))
}

pub fn red_flag(id: &str) -> Option<&'static RedFlag> {
    RED_FLAGS.iter().find(|f| f.id == id)
}

pub fn all_questions() -> impl Iterator<Item = (&'static Step, &'static Question)> {
    STEPS.iter().flat_map(|s| s.questions.iter().map(move |q| (s, q)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_claims_require_existing_questions() {
        let ids: Vec<_> = all_questions().map(|(_, q)| q.id).collect();
        assert_eq!(ids.len(), ids.iter().collect::<BTreeSet<_>>().len());
        assert_eq!(STEPS.len(), 7);
        for (s, q) in all_questions() {
            assert!(q.id.starts_with(&format!("{}.", s.id)), "{}", q.id);
        }
        for c in CLAIMS {
            for r in c.requires {
                assert!(question(r).is_some(), "{} requires unknown {r}", c.id);
            }
        }
        let flags: BTreeSet<_> = RED_FLAGS.iter().map(|f| f.id).collect();
        assert_eq!(flags.len(), RED_FLAGS.len());
        assert!(question(PAID_TEST_QUESTION).is_some());
    }

    #[test]
    fn claims_parse_from_ids_and_wording() {
        assert_eq!(ClaimKind::from_text("openai-compatible"), ClaimKind::OpenaiCompatible);
        assert_eq!(ClaimKind::from_text("Authorized reseller of models"), ClaimKind::AuthorizedReseller);
        assert_eq!(ClaimKind::from_text("Official authorized API access"), ClaimKind::OfficialApi);
        assert_eq!(ClaimKind::from_text("official model access"), ClaimKind::OfficialModelAccess);
        assert_eq!(ClaimKind::from_text("No credit card needed"), ClaimKind::PaymentMethod);
        assert_eq!(ClaimKind::from_text("Multi-model gateway"), ClaimKind::MultiModel);
        assert_eq!(ClaimKind::from_text("fast and cheap"), ClaimKind::OpenaiCompatible);
    }
}
