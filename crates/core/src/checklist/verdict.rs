//! The verdict: a pure function of the answers, the red flags, the claim and which questions
//! have intact evidence. Checked in this order, the first that applies wins:
//!
//! 1. any red flag, or a failed hard check: do not send production traffic;
//! 2. questions unanswered: incomplete;
//! 3. a hard check still unknown: not proven;
//! 4. the OpenAI-compatible behaviour (docs, errors, paid test) not passed: not proven;
//! 5. an authorization claim whose required questions pass, with the provider relationship
//!    evidenced: authorization evidenced;
//! 6. otherwise: usable as an OpenAI-compatible gateway, authorization not proven.

use std::collections::{BTreeMap, BTreeSet};

use super::content::{all_questions, question, red_flag, ClaimKind, CLAIMS};
use super::dto::{Answer, Verdict, VerdictLevel};

/// The questions that show the gateway works as an OpenAI-compatible API.
pub const COMPATIBILITY: &[&str] = &["tech.docs", "tech.errors", "paid.calls"];
/// The question whose evidence proves the provider relationship of an authorization claim.
pub const RELATIONSHIP: &str = "scope.relationship";

fn label(id: &str) -> String {
    match question(id) {
        Some((step, q)) => format!("{} ({id}, step {} {})", q.text, step.number, step.title),
        None => id.to_owned(),
    }
}

pub fn verdict(
    answers: &BTreeMap<String, Answer>,
    flags: &BTreeSet<String>,
    claim: ClaimKind,
    evidenced: &BTreeSet<String>,
) -> Verdict {
    let answer = |id: &str| answers.get(id).copied();
    let info = claim.info();

    // 1. Disqualifying: red flags and failed hard checks.
    let mut reasons = Vec::new();
    for id in flags {
        let text = red_flag(id).map_or_else(|| id.clone(), |f| format!("{} ({})", f.text, f.why));
        reasons.push(format!("Red flag: {text}"));
    }
    for (_, q) in all_questions().filter(|(_, q)| q.hard) {
        if answer(q.id) == Some(Answer::Fail) {
            reasons.push(format!("Failed hard check: {}", label(q.id)));
        }
    }
    if !reasons.is_empty() {
        return Verdict { level: VerdictLevel::DoNotUse, headline: "Do not send production traffic".into(), reasons };
    }

    // 2. Unanswered questions.
    let unanswered: Vec<&str> = all_questions().map(|(_, q)| q.id).filter(|id| answer(id).is_none()).collect();
    if !unanswered.is_empty() {
        let n = unanswered.len();
        let mut reasons = vec![format!("Unanswered: {}", unanswered.join(", "))];
        reasons.extend(caveats(answers));
        return Verdict {
            level: VerdictLevel::Incomplete,
            headline: format!("Incomplete: {n} question{} unanswered", if n == 1 { "" } else { "s" }),
            reasons,
        };
    }

    // 3. Hard checks nobody could confirm.
    let unknown_hard: Vec<String> = all_questions()
        .filter(|(_, q)| q.hard && answer(q.id) == Some(Answer::Unknown))
        .map(|(_, q)| format!("Hard check still unknown: {}", label(q.id)))
        .collect();
    if !unknown_hard.is_empty() {
        return Verdict {
            level: VerdictLevel::NotProven,
            headline: "Not proven: hard checks are still unknown; do not send production traffic yet".into(),
            reasons: unknown_hard,
        };
    }

    // 4. Technical behaviour.
    let not_compatible: Vec<String> = COMPATIBILITY
        .iter()
        .filter(|id| answer(id) != Some(Answer::Pass))
        .map(|id| format!("Not passed: {}", label(id)))
        .collect();
    if !not_compatible.is_empty() {
        let mut reasons = not_compatible;
        reasons.extend(caveats(answers));
        return Verdict {
            level: VerdictLevel::NotProven,
            headline: "Not proven: the API's behaviour is not verified; run the paid test".into(),
            reasons,
        };
    }

    // 5. The claim.
    let missing: Vec<String> = info
        .requires
        .iter()
        .filter(|id| answer(id) != Some(Answer::Pass))
        .map(|id| format!("Claim \"{}\" needs a pass on: {}", info.label, label(id)))
        .collect();
    let relationship_evidenced = evidenced.contains(RELATIONSHIP);
    if info.authorization && missing.is_empty() && relationship_evidenced {
        let mut reasons =
            vec![format!("Every check the claim \"{}\" needs passed: {}", info.label, info.requires.join(", "))];
        reasons.push(format!("The provider relationship has evidence attached ({RELATIONSHIP})"));
        reasons.extend(caveats(answers));
        return Verdict {
            level: VerdictLevel::Authorized,
            headline: format!("Authorization evidenced for the claim \"{}\"", info.label),
            reasons,
        };
    }

    // 6. Works, authorization not shown.
    let mut reasons = vec!["Docs, error behaviour and the paid test passed".to_owned()];
    if info.authorization {
        reasons.extend(missing);
        if !relationship_evidenced {
            reasons.push(format!(
                "The claim \"{}\" is a legal claim: attach proof of the provider relationship to {RELATIONSHIP}",
                info.label
            ));
        }
    } else if missing.is_empty() {
        reasons
            .push(format!("The claim \"{}\" is evidenced; it is a technical claim, not an authorization", info.label));
    } else {
        reasons.extend(missing);
    }
    reasons.extend(caveats(answers));
    Verdict {
        level: VerdictLevel::UsableUnauthorized,
        headline: "Usable as an OpenAI-compatible gateway; authorization not proven".into(),
        reasons,
    }
}

/// Failed or unknown ordinary checks: not disqualifying, but part of the picture.
fn caveats(answers: &BTreeMap<String, Answer>) -> Vec<String> {
    all_questions()
        .filter(|(_, q)| !q.hard)
        .filter_map(|(_, q)| match answers.get(q.id) {
            Some(Answer::Fail) => Some(format!("Failed: {}", label(q.id))),
            Some(Answer::Unknown) => Some(format!("Unknown: {}", label(q.id))),
            _ => None,
        })
        .collect()
}

/// Every claim id, for help texts.
pub fn claim_ids() -> Vec<&'static str> {
    CLAIMS.iter().map(|c| c.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(answer: Answer) -> BTreeMap<String, Answer> {
        all_questions().map(|(_, q)| (q.id.to_owned(), answer)).collect()
    }
    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_red_flag_alone_means_do_not_use() {
        let v = verdict(&all(Answer::Pass), &set(&["shared_key"]), ClaimKind::OfficialApi, &set(&[RELATIONSHIP]));
        assert_eq!(v.level, VerdictLevel::DoNotUse);
        assert_eq!(v.headline, "Do not send production traffic");
        assert!(v.reasons[0].starts_with("Red flag: One key is shared"), "{:?}", v.reasons);
    }

    #[test]
    fn a_failed_hard_check_means_do_not_use_even_when_incomplete() {
        let mut a = BTreeMap::new();
        a.insert("keys.per_account".to_owned(), Answer::Fail);
        let v = verdict(&a, &set(&[]), ClaimKind::OpenaiCompatible, &set(&[]));
        assert_eq!(v.level, VerdictLevel::DoNotUse);
        assert!(v.reasons[0].contains("keys.per_account"), "{:?}", v.reasons);
    }

    #[test]
    fn a_failed_ordinary_check_does_not_disqualify() {
        let mut a = all(Answer::Pass);
        a.insert("payment.refunds".into(), Answer::Fail);
        let v = verdict(&a, &set(&[]), ClaimKind::OpenaiCompatible, &set(&[]));
        assert_eq!(v.level, VerdictLevel::UsableUnauthorized);
        assert!(v.reasons.iter().any(|r| r.starts_with("Failed:") && r.contains("payment.refunds")), "{:?}", v.reasons);
    }

    #[test]
    fn unanswered_questions_make_it_incomplete_with_a_count() {
        let mut a = all(Answer::Pass);
        a.remove("data.location");
        a.remove("tech.support");
        let v = verdict(&a, &set(&[]), ClaimKind::OpenaiCompatible, &set(&[]));
        assert_eq!(v.level, VerdictLevel::Incomplete);
        assert_eq!(v.headline, "Incomplete: 2 questions unanswered");
        assert!(v.reasons[0].contains("tech.support") && v.reasons[0].contains("data.location"));
        let mut one = all(Answer::Pass);
        one.remove("data.location");
        assert_eq!(
            verdict(&one, &set(&[]), ClaimKind::OpenaiCompatible, &set(&[])).headline,
            "Incomplete: 1 question unanswered"
        );
        let none = verdict(&BTreeMap::new(), &set(&[]), ClaimKind::OpenaiCompatible, &set(&[]));
        assert_eq!(none.headline, format!("Incomplete: {} questions unanswered", all_questions().count()));
    }

    #[test]
    fn an_unknown_hard_check_is_not_proven() {
        let mut a = all(Answer::Pass);
        a.insert("data.policy".into(), Answer::Unknown);
        let v = verdict(&a, &set(&[]), ClaimKind::OfficialApi, &set(&[RELATIONSHIP]));
        assert_eq!(v.level, VerdictLevel::NotProven);
        assert!(v.reasons[0].contains("data.policy"));
    }

    #[test]
    fn without_a_passed_paid_test_the_behaviour_is_not_proven() {
        let mut a = all(Answer::Pass);
        a.insert("paid.calls".into(), Answer::Unknown);
        let v = verdict(&a, &set(&[]), ClaimKind::OpenaiCompatible, &set(&[]));
        assert_eq!(v.level, VerdictLevel::NotProven);
        assert!(v.headline.contains("run the paid test"));
        assert!(v.reasons[0].contains("paid.calls"));
    }

    #[test]
    fn an_authorization_claim_with_evidence_is_authorized() {
        let v = verdict(&all(Answer::Pass), &set(&[]), ClaimKind::AuthorizedReseller, &set(&[RELATIONSHIP]));
        assert_eq!(v.level, VerdictLevel::Authorized);
        assert_eq!(v.headline, "Authorization evidenced for the claim \"Authorized reseller\"");
    }

    #[test]
    fn an_authorization_claim_without_evidence_is_only_usable() {
        let v = verdict(&all(Answer::Pass), &set(&[]), ClaimKind::OfficialApi, &set(&[]));
        assert_eq!(v.level, VerdictLevel::UsableUnauthorized);
        assert_eq!(v.headline, "Usable as an OpenAI-compatible gateway; authorization not proven");
        assert!(v.reasons.iter().any(|r| r.contains("attach proof")), "{:?}", v.reasons);
    }

    #[test]
    fn an_authorization_claim_with_a_requirement_not_passed_is_only_usable() {
        let mut a = all(Answer::Pass);
        a.insert("scope.resale".into(), Answer::Na);
        let v = verdict(&a, &set(&[]), ClaimKind::AuthorizedReseller, &set(&[RELATIONSHIP]));
        assert_eq!(v.level, VerdictLevel::UsableUnauthorized);
        assert!(
            v.reasons.iter().any(|r| r.contains("needs a pass on") && r.contains("scope.resale")),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn a_technical_claim_is_never_an_authorization() {
        let v = verdict(&all(Answer::Pass), &set(&[]), ClaimKind::OpenaiCompatible, &set(&[RELATIONSHIP]));
        assert_eq!(v.level, VerdictLevel::UsableUnauthorized);
        assert!(v.reasons.iter().any(|r| r.contains("technical claim, not an authorization")));
        let mut a = all(Answer::Pass);
        a.insert("paid.topup".into(), Answer::Unknown);
        let v = verdict(&a, &set(&[]), ClaimKind::PaymentMethod, &set(&[]));
        assert_eq!(v.level, VerdictLevel::UsableUnauthorized);
        assert!(v.reasons.iter().any(|r| r.contains("needs a pass on") && r.contains("paid.topup")));
        assert!(v.reasons.iter().any(|r| r.starts_with("Unknown:") && r.contains("paid.topup")));
    }

    #[test]
    fn claim_ids_are_listed() {
        assert!(claim_ids().contains(&"openai_compatible"));
    }
}
