// The gateway checklist's commands for the FakeBackend: assessments built from the real
// questions, red flags and claims (checklist-content.json, extracted from
// crates/core/src/checklist/content.rs), a simplified verdict, evidence with integrity, and a
// paid test that answers a plan and then a result.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const CONTENT = JSON.parse(readFileSync(new URL('./checklist-content.json', import.meta.url), 'utf8'));
export const NOW = '2026-03-02T12:00:00Z';

function reject(code, message) {
  return { __reject: { code, message } };
}

const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The verdict the core computes, in its first rules (enough for the UI's states). */
function verdict(a) {
  const flags = a.flags;
  const questions = CONTENT.steps.flatMap((s) => s.questions);
  const hardFailed = questions.filter((q) => q.hard && a.answers[q.id]?.answer === 'fail');
  if (flags.size > 0 || hardFailed.length > 0) {
    return {
      level: 'do_not_use',
      headline: 'Do not send production traffic',
      reasons: [
        ...[...flags].map((f) => `red flag: ${CONTENT.red_flags.find((r) => r.id === f).text}`),
        ...hardFailed.map((q) => `hard check failed: ${q.id}`),
      ],
    };
  }
  const open = questions.filter((q) => !a.answers[q.id]);
  if (open.length > 0) {
    return { level: 'incomplete', headline: `Incomplete: ${open.length} questions unanswered`, reasons: open.slice(0, 3).map((q) => `unanswered: ${q.id}`) };
  }
  if (a.answers['paid.calls']?.answer !== 'pass') {
    return { level: 'not_proven', headline: "Not proven: the API's behaviour is not verified; run the paid test", reasons: ['paid.calls is not passed'] };
  }
  return { level: 'usable_unauthorized', headline: 'Usable as an OpenAI-compatible gateway; authorization not proven', reasons: [] };
}

export function smokePlanView(id, request, baseUrl) {
  const models = request.models.length > 0 ? request.models : ['fake-mini'];
  const calls = request.calls ?? 20;
  const per = Math.ceil(calls / models.length);
  return {
    base_url: baseUrl,
    models: models.map((m, i) => ({ model: m, calls: i === models.length - 1 ? calls - per * (models.length - 1) : per, worst_case_micros_per_call: 12 })),
    paid_calls: calls + 1,
    free_calls: 3,
    max_tokens: 8,
    worst_case_micros: 12 * (calls + 1),
    cap_micros: Math.round(Number(request.max_usd ?? '1.00') * 1_000_000),
    currency: 'USD',
    timeout_ms: 20000,
    balance_source: request.balance_source ?? null,
    summary: `${calls + 1} paid calls to ${baseUrl} (${models.join(', ')}), at most 0.000252 USD; cap ${request.max_usd ?? '1.00'} USD.`,
  };
}

export function smokeResultView(plan, overrides = {}) {
  const calls = plan.models.flatMap((m) => Array.from({ length: m.calls }, () => m.model));
  return {
    base_url: plan.base_url,
    started_at: NOW,
    finished_at: NOW,
    plan,
    models_listed: plan.models.map((m) => m.model),
    calls: calls.map((model, i) => ({ n: i + 1, kind: 'chat', model, status: 200, latency_ms: 40 + i, prompt_tokens: 12, completion_tokens: 8, cost_micros: 6, outcome: 'ok' })),
    paid_calls_made: calls.length + 1,
    paid_calls_ok: calls.length,
    latency_p50_ms: 48,
    latency_p95_ms: 61,
    prompt_tokens_reported: 12 * calls.length,
    completion_tokens_reported: 8 * calls.length,
    completion_tokens_max_expected: 8 * calls.length,
    calls_without_usage: 0,
    expected_cost_micros: 6 * calls.length,
    currency: 'USD',
    stream: { ok: true, events: 5, done_seen: true, content_chars: 12, problem: null },
    unknown_model: { status: 404, shape: 'json_error_message', message: 'model not found' },
    bad_key: { status: 401, shape: 'json_error_message', message: 'invalid api key' },
    balance_before_micros: null,
    balance_after_micros: null,
    billed_micros: null,
    multiplier_bp: null,
    balance_note: 'no Burnrate source is linked, so no balance was read',
    aborted: null,
    passed: true,
    evidence_id: null,
    ...overrides,
  };
}

export class Checklist {
  constructor() {
    this.items = new Map();
    this.nextId = 1;
    this.nextEvidence = 1;
    /** Evidence ids whose stored file the test "tampered" with: id -> 'changed' | 'missing'. */
    this.tampered = new Map();
    /** What smoke_run answers (overrides of the default passing result). */
    this.smokeOverrides = {};
  }

  create(request, extra = {}) {
    const claimId = /reseller/i.test(request.claim ?? '') ? 'authorized_reseller' : (CONTENT.claims.find((c) => c.kind === request.claim)?.kind ?? 'openai_compatible');
    const a = {
      id: this.nextId++,
      name: request.name,
      base_url: request.base_url,
      claim: claimId,
      claim_text: request.claim && !CONTENT.claims.some((c) => c.kind === request.claim) ? request.claim : null,
      source: request.source ?? null,
      created_at: NOW,
      updated_at: NOW,
      answers: {},
      flags: new Set(),
      evidence: [],
      smoke: null,
      duplicated_from: null,
      ...extra,
    };
    this.items.set(a.id, a);
    return a;
  }

  view(a) {
    const evidence = a.evidence.map((e) => ({ ...e, integrity: e.sha256 ? (this.tampered.get(e.id) ?? 'ok') : null }));
    const claim = CONTENT.claims.find((c) => c.kind === a.claim);
    return {
      id: a.id,
      name: a.name,
      base_url: a.base_url,
      claim: { kind: claim.kind, label: claim.label, meaning: claim.meaning, proof: claim.proof, authorization: claim.authorization, requires: claim.requires },
      claim_text: a.claim_text,
      source: a.source,
      created_at: a.created_at,
      updated_at: a.updated_at,
      recheck_after_days: a.recheck_after_days ?? 90,
      recheck_due: '2026-05-31',
      recheck_overdue: false,
      duplicated_from: a.duplicated_from,
      verdict: verdict(a),
      steps: CONTENT.steps.map((s) => ({
        id: s.id,
        number: s.number,
        title: s.title,
        questions: s.questions.map((q) => ({
          ...q,
          answer: a.answers[q.id]?.answer ?? null,
          note: a.answers[q.id]?.note ?? null,
          answered_at: a.answers[q.id] ? NOW : null,
          evidence_count: evidence.filter((e) => e.question_id === q.id).length,
        })),
      })),
      red_flags: CONTENT.red_flags.map((f) => ({ ...f, checked: a.flags.has(f.id) })),
      evidence,
      integrity_problems: evidence.filter((e) => e.integrity === 'changed' || e.integrity === 'missing').length,
      pages_changed: evidence.filter((e) => e.content_changed_at).length,
      last_smoke: a.smoke,
    };
  }

  summary(a) {
    const v = this.view(a);
    const qs = v.steps.flatMap((s) => s.questions);
    return {
      id: a.id,
      name: a.name,
      base_url: a.base_url,
      claim: a.claim,
      claim_text: a.claim_text,
      created_at: a.created_at,
      updated_at: a.updated_at,
      recheck_due: v.recheck_due,
      recheck_overdue: false,
      verdict: v.verdict,
      answered: qs.filter((q) => q.answer !== null).length,
      questions: qs.length,
      evidence_count: v.evidence.length,
      integrity_problems: v.integrity_problems,
      pages_changed: v.pages_changed,
    };
  }

  addEvidence(a, fields) {
    const e = {
      id: this.nextEvidence++,
      question_id: fields.question_id,
      kind: fields.kind,
      sha256: null,
      name: null,
      size_bytes: null,
      url: null,
      note: null,
      captured_at: NOW,
      integrity: null,
      path: null,
      content_checked_at: null,
      content_changed_at: null,
      ...fields,
    };
    a.evidence.push(e);
    return this.view(a).evidence.find((x) => x.id === e.id);
  }

  handle(cmd, args) {
    const a = args?.id !== undefined ? this.items.get(args.id) : null;
    const missing = () => reject('assessment_not_found', `no gateway assessment has id ${args.id}; \`burnrate check list\` shows the ids`);
    switch (cmd) {
      case 'list_assessments':
        return [...this.items.values()].map((x) => this.summary(x));
      case 'new_assessment': {
        const { request } = args;
        if (!/^https?:\/\/[^/]+/.test(request.base_url)) return reject('invalid_url', `"${request.base_url}" is not an http(s) URL`);
        return this.view(this.create(request));
      }
      case 'update_assessment': {
        if (!a) return missing();
        const { request } = args;
        if (!/^https?:\/\/[^/]+/.test(request.base_url)) return reject('invalid_url', `"${request.base_url}" is not an http(s) URL`);
        const fresh = this.create(request, { id: a.id });
        Object.assign(a, { name: fresh.name, base_url: fresh.base_url, claim: fresh.claim, claim_text: fresh.claim_text, source: fresh.source, recheck_after_days: request.recheck_after_days });
        this.items.set(a.id, a);
        return this.view(a);
      }
      case 'get_assessment':
        return a ? this.view(a) : missing();
      case 'answer_question': {
        if (!a) return missing();
        const prev = a.answers[args.questionId];
        a.answers[args.questionId] = { answer: args.answer, note: args.note ?? prev?.note ?? null };
        return this.view(a);
      }
      case 'set_red_flag':
        if (!a) return missing();
        if (args.checked) a.flags.add(args.flagId);
        else a.flags.delete(args.flagId);
        return this.view(a);
      case 'attach_url':
        if (!a) return missing();
        if (!/^https?:\/\//.test(args.url)) return reject('invalid_url', `"${args.url}" is not an http(s) URL`);
        if (a.evidence.some((e) => e.question_id === args.questionId && e.url === args.url)) {
          return reject('evidence_exists', `this URL is already attached to ${args.questionId}; nothing was added`);
        }
        return this.addEvidence(a, { question_id: args.questionId, kind: 'url', url: args.url, note: args.note });
      case 'remove_evidence': {
        if (!a) return missing();
        const before = a.evidence.length;
        a.evidence = a.evidence.filter((e) => e.id !== args.evidenceId);
        if (a.evidence.length === before) return reject('invalid_input', `assessment ${a.id} has no evidence ${args.evidenceId}`);
        return this.view(a);
      }
      case 'attach_note':
        if (!a) return missing();
        return this.addEvidence(a, { question_id: args.questionId, kind: 'note', note: args.text });
      case 'attach_file': {
        const h = args.__headers ?? {};
        const target = this.items.get(Number(h['x-assessment-id']));
        if (!target) return reject('assessment_not_found', 'no gateway assessment has that id');
        const bytes = Buffer.from(args.__raw ?? []);
        const digest = sha(bytes);
        const question = decodeURIComponent(h['x-question-id']);
        return this.addEvidence(target, {
          question_id: question,
          kind: 'file',
          sha256: digest,
          name: decodeURIComponent(h['x-file-name']),
          size_bytes: bytes.length,
          path: `/home/user/.local/share/burnrate/evidence/${digest.slice(0, 2)}/${digest}`,
        });
      }
      case 'duplicate_assessment': {
        if (!a) return missing();
        const copy = this.create({ name: a.name, base_url: a.base_url, claim: a.claim }, {
          answers: structuredClone(a.answers),
          flags: new Set(a.flags),
          duplicated_from: a.id,
        });
        copy.evidence = a.evidence.map((e) => ({ ...e, id: this.nextEvidence++ }));
        return this.view(copy);
      }
      case 'delete_assessment':
        if (!a) return missing();
        this.items.delete(a.id);
        return null;
      case 'smoke_plan':
        if (!a) return missing();
        return smokePlanView(a.id, { ...args.request, balance_source: a.source }, a.base_url);
      case 'smoke_run': {
        if (!a) return missing();
        const result = smokeResultView(args.plan, this.smokeOverrides);
        const e = this.addEvidence(a, {
          question_id: 'paid.calls',
          kind: 'smoke',
          sha256: sha(JSON.stringify(result)),
          name: 'paid-test-20260302T120000Z.json',
          size_bytes: 2048,
          note: result.passed ? 'Paid test passed' : `Paid test stopped: ${result.aborted}`,
        });
        result.evidence_id = e.id;
        a.smoke = result;
        return result;
      }
      case 'recheck_urls': {
        // Pages listed in `changedPages` (by URL) have changed since the last check.
        const targets = args.id === null ? [...this.items.values()] : [a];
        if (args.id !== null && !a) return missing();
        const checks = [];
        for (const t of targets) {
          for (const e of t.evidence.filter((x) => x.kind === 'url')) {
            const changed = this.changedPages?.has(e.url) ?? false;
            const status = changed ? 'changed' : e.content_checked_at ? 'unchanged' : 'first';
            e.content_checked_at = NOW;
            if (changed) e.content_changed_at = NOW;
            checks.push({ evidence_id: e.id, assessment_id: t.id, assessment: t.name, question_id: e.question_id, url: e.url, status, detail: null, checked_at: NOW });
          }
        }
        return checks;
      }
      case 'export_assessment_report':
        if (!a) return missing();
        return `/home/user/.local/share/burnrate/exports/gateway-check-${a.id}-20260302T120000Z.${args.format}`;
      default:
        return undefined;
    }
  }
}
