//! List prices per token, to *estimate* cost from token counts where a provider reports tokens
//! before (or instead of) billed cost. Estimates are always stored with kind `estimated`.
//!
//! The table ships with the binary (`data/model-prices.json`, derived from LiteLLM's price list,
//! MIT; see `data/NOTICE`) and can be replaced by a newer file in the data directory.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;

use crate::error::{Error, ErrorCode, Result};

const BUNDLED: &str = include_str!("../data/model-prices.json");
/// The user's prices in the data directory, laid over the bundled table.
pub const LOCAL_FILE: &str = "model-prices.json";

/// Model ids no rule of [`canonical`] maps to the table's name: a provider's alias -> the
/// table's name of the same model.
const ALIASES: &[(&str, &str)] = &[
    ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"),
    ("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"),
    ("claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"),
    ("claude-3-opus-latest", "claude-3-opus-20240229"),
];

/// USD per token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPrice {
    pub input: Decimal,
    pub output: Decimal,
    pub cache_read: Option<Decimal>,
    pub cache_write: Option<Decimal>,
    /// The Batch API / flex / priority prices where the table lists them (standard otherwise).
    pub tiers: Vec<(ServiceTier, Box<ModelPrice>)>,
}

/// How a request was processed, which changes its list price: Batch API and flex processing
/// are discounted (typically half), priority processing costs more.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceTier {
    #[default]
    Standard,
    Batch,
    Flex,
    Priority,
}

impl ServiceTier {
    /// A provider's `service_tier` text (OpenAI: `default`, `flex`, `priority`, `scale`;
    /// Anthropic: `standard`, `batch`, `flex`, `flex_discount`, `priority`,
    /// `priority_on_demand`); anything else is priced as standard.
    pub fn from_provider(text: &str) -> Self {
        match text {
            "batch" => ServiceTier::Batch,
            "flex" | "flex_discount" => ServiceTier::Flex,
            "priority" | "priority_on_demand" => ServiceTier::Priority,
            _ => ServiceTier::Standard,
        }
    }

    /// The suffix LiteLLM's table gives this tier's price fields (`input_cost_per_token_batches`).
    fn table_name(self) -> &'static str {
        match self {
            ServiceTier::Standard => "standard",
            ServiceTier::Batch => "batch",
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
        }
    }
}

/// Token counts of one usage bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Input tokens billed at the full input price (excluding cache reads and writes).
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
}

#[derive(Debug, Clone)]
pub struct PriceTable {
    models: HashMap<String, ModelPrice>,
    /// [`canonical`] form of each model name -> the name whose price stands for it.
    by_canonical: HashMap<String, String>,
}

#[derive(Deserialize)]
struct File {
    models: HashMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    input: String,
    #[serde(default)]
    output: Option<String>,
    cache_read: Option<String>,
    cache_write: Option<String>,
    /// `batch` / `flex` / `priority` -> that tier's prices (same fields; missing ones are the
    /// standard price).
    #[serde(default)]
    tiers: HashMap<String, TierEntry>,
}

#[derive(Deserialize)]
struct TierEntry {
    input: Option<String>,
    output: Option<String>,
    cache_read: Option<String>,
    cache_write: Option<String>,
}

fn dec(text: &str) -> Option<Decimal> {
    Decimal::from_str(text).or_else(|_| Decimal::from_scientific(text)).ok()
}

impl PriceTable {
    /// The table compiled into this build.
    pub fn bundled() -> Self {
        Self::parse(BUNDLED).expect("the bundled price table parses")
    }

    /// The bundled table with a `model-prices.json` in the data directory (same format) laid
    /// over it: a model the file names takes the file's price, every other model keeps the
    /// bundled one (so a newer table that drops a retired model leaves its history priced). A
    /// file that does not parse is an error, never silently ignored.
    pub fn load(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(LOCAL_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(Self::bundled()) };
        let local = Self::parse(&text).map_err(|e| {
            Error::new(
                ErrorCode::InvalidInput,
                format!(
                    "{} is not a price table ({}); fix or delete it to use the bundled prices",
                    path.display(),
                    e.message()
                ),
            )
        })?;
        let mut models = Self::bundled().models;
        models.extend(local.models);
        Ok(PriceTable { by_canonical: canonical_index(models.keys()), models })
    }

    /// Whether the table prices `model` under any of its forms.
    pub fn prices(&self, model: &str) -> bool {
        self.get(model).is_some()
    }

    pub fn parse(text: &str) -> Result<Self> {
        let file: File = serde_json::from_str(text).map_err(|e| Error::invalid_input(format!("price table: {e}")))?;
        let mut models = HashMap::with_capacity(file.models.len());
        for (name, e) in file.models {
            let (Some(input), Some(output)) = (dec(&e.input), dec(e.output.as_deref().unwrap_or("0"))) else {
                continue;
            };
            let standard = ModelPrice {
                input,
                output,
                cache_read: e.cache_read.as_deref().and_then(dec),
                cache_write: e.cache_write.as_deref().and_then(dec),
                tiers: Vec::new(),
            };
            let mut tiers = Vec::new();
            for tier in [ServiceTier::Batch, ServiceTier::Flex, ServiceTier::Priority] {
                let Some(t) = e.tiers.get(tier.table_name()) else { continue };
                let price = ModelPrice {
                    input: t.input.as_deref().and_then(dec).unwrap_or(standard.input),
                    output: t.output.as_deref().and_then(dec).unwrap_or(standard.output),
                    cache_read: t.cache_read.as_deref().and_then(dec).or(standard.cache_read),
                    cache_write: t.cache_write.as_deref().and_then(dec).or(standard.cache_write),
                    tiers: Vec::new(),
                };
                tiers.push((tier, Box::new(price)));
            }
            models.insert(name, ModelPrice { tiers, ..standard });
        }
        Ok(PriceTable { by_canonical: canonical_index(models.keys()), models })
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Finds a model's price: the name as given, else an [`ALIASES`] entry, else the price of the
    /// same model under the other forms the table uses (see [`canonical`]), else the same
    /// without a trailing date.
    /// A provider's `claude-sonnet-4-20250514` thus finds the table's
    /// `anthropic.claude-sonnet-4-20250514-v1:0`, and `openai/gpt-4o-2024-08-06` finds `gpt-4o`.
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        let model = model.trim();
        if let Some(price) = self.models.get(model) {
            return Some(price);
        }
        let form = canonical(model);
        // An alias is chosen by hand: it wins over a cloud's form of the same id.
        let alias = ALIASES.iter().find(|(a, _)| *a == form).map(|(_, name)| canonical(name));
        let undated = strip_date_suffix(&form).map(str::to_owned);
        [alias, Some(form), undated]
            .into_iter()
            .flatten()
            .find_map(|c| self.by_canonical.get(&c).and_then(|name| self.models.get(name)))
    }

    /// Estimated cost in micro-USD at the standard price, or None when the model has no list price.
    pub fn estimate_micros(&self, model: &str, tokens: Tokens) -> Option<i64> {
        self.estimate_tier_micros(model, tokens, ServiceTier::Standard)
    }

    /// [`Self::estimate_micros`] at the price of `tier` where the table lists one, else at the
    /// standard price (an over-estimate for discounted tiers, said in the provider docs).
    pub fn estimate_tier_micros(&self, model: &str, tokens: Tokens, tier: ServiceTier) -> Option<i64> {
        let standard = self.get(model)?;
        let p = standard.tiers.iter().find(|(t, _)| *t == tier).map_or(standard, |(_, p)| p.as_ref());
        let cost = p.input * Decimal::from(tokens.input)
            + p.output * Decimal::from(tokens.output)
            + p.cache_read.unwrap_or(p.input) * Decimal::from(tokens.cache_read)
            + p.cache_write.unwrap_or(p.input) * Decimal::from(tokens.cache_write);
        let micros =
            (cost * Decimal::from(1_000_000)).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        i64::try_from(micros).ok()
    }
}

/// Adds or replaces `model`'s price in the data directory's [`LOCAL_FILE`], given in USD per
/// million tokens as decimal text (the unit price pages use). The file's other models and
/// fields are kept; it is replaced atomically.
pub fn set_price(data_dir: &Path, model: &str, input_per_million: &str, output_per_million: &str) -> Result<()> {
    let model = model.trim();
    if model.is_empty() || model.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            "name the model, e.g. `burnrate prices set claude-opus-5 --input 5 --output 25`",
        ));
    }
    let per_token = |what: &str, text: &str| -> Result<String> {
        let price =
            dec(text.trim()).filter(|p| !p.is_sign_negative() && *p < Decimal::from(100_000)).ok_or_else(|| {
                Error::invalid_input(format!("--{what} {text:?} is not a price in USD per million tokens (e.g. 2.50)"))
            })?;
        Ok((price / Decimal::from(1_000_000)).normalize().to_string())
    };
    let (input, output) = (per_token("input", input_per_million)?, per_token("output", output_per_million)?);
    let path = data_dir.join(LOCAL_FILE);
    let mut file: serde_json::Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Error::invalid_input(format!("{} is not a price table ({e}); fix or delete it first", path.display()))
        })?,
        Err(_) => serde_json::json!({ "models": {} }),
    };
    let models = file.get_mut("models").and_then(|m| m.as_object_mut()).ok_or_else(|| {
        Error::invalid_input(format!("{} has no \"models\" object; fix or delete it first", path.display()))
    })?;
    models.insert(model.to_owned(), serde_json::json!({ "input": input, "output": output }));
    let text = serde_json::to_string_pretty(&file).map_err(|e| Error::internal(e.to_string()))?;
    std::fs::create_dir_all(data_dir).and_then(|()| crate::fs::write_atomic(&path, text.as_bytes())).map_err(|e| {
        Error::new(
            ErrorCode::DataDirUnwritable,
            format!("cannot write {}: {e}; free some disk space or check permissions", path.display()),
        )
    })
}

/// `gpt-4o-2024-08-06` -> `gpt-4o`, `claude-opus-4-1-20250805` -> `claude-opus-4-1`.
/// Regional inference prefixes of cloud model ids (`us.anthropic.claude-…`).
const REGIONS: &[&str] = &["us.", "eu.", "apac.", "au.", "jp.", "ca.", "global.", "us-gov."];
/// Vendor prefixes of cloud model ids (`anthropic.claude-…`, `meta.llama…`).
const VENDORS: &[&str] = &["anthropic.", "amazon.", "meta.", "mistral.", "cohere.", "ai21.", "deepseek.", "openai."];

/// A model id without the decorations clouds and gateways add: a path of provider and region
/// (`bedrock/us-gov-east-1/`, `openrouter/anthropic/`), a regional and a vendor prefix
/// (`us.anthropic.`), a version suffix (`-v1:0`, `-v2`), and `@` before a date (Vertex's
/// `claude-…@20251001`). Lower case. What is left names the model itself.
pub fn canonical(model: &str) -> String {
    let mut name = model.trim().rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
    if let Some(at) = name.find('@') {
        name.replace_range(at..=at, "-");
    }
    if let Some(rest) = REGIONS.iter().find_map(|p| name.strip_prefix(p)) {
        name = rest.to_owned();
    }
    let cloud_id = match VENDORS.iter().find_map(|p| name.strip_prefix(p)) {
        Some(rest) => {
            name = rest.to_owned();
            true
        }
        None => false,
    };
    // A cloud's version suffix: "-v1:0" anywhere, "-v1" only on a cloud id (`deepseek-v3` is a
    // model of its own, not version 3 of `deepseek`).
    if let Some(i) = name.rfind("-v") {
        let version = &name[i + 2..];
        let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
        let strip = match version.split_once(':') {
            Some((major, minor)) => digits(major) && digits(minor),
            None => cloud_id && digits(version),
        };
        if strip {
            name.truncate(i);
        }
    }
    name
}

/// For each canonical form, the table name that stands for it: the first-party name (the form
/// itself) where the table has one, else one without a path or region, else the smallest name,
/// so the choice never depends on the order of the file.
fn canonical_index<'a>(names: impl Iterator<Item = &'a String>) -> HashMap<String, String> {
    let rank = |name: &str, form: &str| -> (u8, String) {
        let plain = !name.contains('/') && !REGIONS.iter().any(|r| name.starts_with(r));
        let tier = match (name == form, plain) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        };
        (tier, name.to_owned())
    };
    let mut index: HashMap<String, String> = HashMap::new();
    for name in names {
        let form = canonical(name);
        let better = index.get(&form).is_none_or(|current| rank(name, &form) < rank(current, &form));
        if better {
            index.insert(form, name.clone());
        }
    }
    index
}

fn strip_date_suffix(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let n = bytes.len();
    if n > 11
        && bytes[n - 11] == b'-'
        && bytes[n - 6] == b'-'
        && bytes[n - 3] == b'-'
        && digits(&bytes[n - 10..n - 6])
        && digits(&bytes[n - 5..n - 3])
        && digits(&bytes[n - 2..])
    {
        return Some(&name[..n - 11]);
    }
    if n > 9 && bytes[n - 9] == b'-' && digits(&bytes[n - 8..]) {
        return Some(&name[..n - 9]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_prices_common_models() {
        let t = PriceTable::bundled();
        assert!(t.len() > 1000, "{}", t.len());
        // gpt-4o: $2.50 / 1M input, $10 / 1M output.
        let tokens = Tokens { input: 1_000_000, output: 100_000, ..Default::default() };
        assert_eq!(t.estimate_micros("gpt-4o", tokens), Some(3_500_000));
        assert_eq!(t.estimate_micros("gpt-4o-2024-08-06", tokens), Some(3_500_000));
        assert_eq!(t.estimate_micros("openai/gpt-4o", tokens), Some(3_500_000));
        assert!(t.get("claude-sonnet-4-5").is_some());
        assert_eq!(t.estimate_micros("no-such-model-fake", tokens), None);
    }

    #[test]
    fn canonical_forms_drop_cloud_decorations_but_keep_the_model() {
        for (given, form) in [
            ("anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4-20250514"),
            ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022"),
            ("bedrock/us-gov-east-1/anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"),
            ("anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
            ("anthropic.claude-haiku-4-5@20251001", "claude-haiku-4-5-20251001"),
            ("openrouter/openai/GPT-4o", "gpt-4o"),
            ("deepseek-v3", "deepseek-v3"),
            ("deepseek/deepseek-v3.1", "deepseek-v3.1"),
            ("claude-sonnet-4-20250514", "claude-sonnet-4-20250514"),
        ] {
            assert_eq!(canonical(given), form, "{given}");
        }
    }

    /// The ids Anthropic's Admin API reports for older models are listed only in their cloud
    /// forms; they must be priced, at Anthropic's list price, not at 0.
    #[test]
    fn provider_ids_find_the_tables_other_forms() {
        let t = PriceTable::bundled();
        let tokens = Tokens { input: 1_000_000, output: 100_000, ..Default::default() };
        // Sonnet 4: $3 / $15 per 1M; Opus 4: $15 / $75; Haiku 3.5: $0.80 / $4.
        assert_eq!(t.estimate_micros("claude-sonnet-4-20250514", tokens), Some(4_500_000));
        assert_eq!(t.estimate_micros("claude-opus-4-20250514", tokens), Some(22_500_000));
        assert_eq!(t.estimate_micros("claude-3-5-haiku-20241022", tokens), Some(1_200_000));
        // The cloud forms themselves, and a gateway's path in front, agree.
        assert_eq!(t.estimate_micros("us.anthropic.claude-sonnet-4-20250514-v1:0", tokens), Some(4_500_000));
        assert_eq!(t.estimate_micros("anthropic/claude-sonnet-4-20250514", tokens), Some(4_500_000));
        // A first-party name wins over a regional one that costs more.
        assert_eq!(t.get("claude-haiku-4-5-20251001"), t.get("claude-haiku-4-5"));
        assert_eq!(t.estimate_micros("deepseek-v3-fake-unknown", tokens), None);
    }

    #[test]
    fn cache_tokens_use_their_own_prices() {
        let t = PriceTable::parse(
            r#"{"models":{"m":{"input":"1e-06","output":"2e-06","cache_read":"1e-07","cache_write":"1.25e-06"}}}"#,
        )
        .unwrap();
        let tokens = Tokens { input: 1000, output: 500, cache_read: 10_000, cache_write: 800 };
        // 1000*1 + 500*2 + 10000*0.1 + 800*1.25 = 4000 micro-USD
        assert_eq!(t.estimate_micros("m", tokens), Some(4_000));
    }

    #[test]
    fn batch_flex_and_priority_use_their_listed_prices() {
        let t = PriceTable::bundled();
        let tokens = Tokens { input: 1_000_000, output: 100_000, cache_read: 1_000_000, ..Default::default() };
        // gpt-5 per 1M: standard 1.25 / 10 / cached 0.125; batch and flex half; priority double.
        assert_eq!(t.estimate_tier_micros("gpt-5", tokens, ServiceTier::Standard), Some(2_375_000));
        assert_eq!(t.estimate_tier_micros("gpt-5", tokens, ServiceTier::Batch), Some(1_187_500));
        assert_eq!(t.estimate_tier_micros("gpt-5", tokens, ServiceTier::Flex), Some(1_187_500));
        assert_eq!(t.estimate_tier_micros("gpt-5-2025-08-07", tokens, ServiceTier::Priority), Some(4_750_000));
        // claude-sonnet-4-5 lists batch prices but no priority ones: priority falls back to standard.
        let plain = Tokens { input: 1_000_000, output: 100_000, ..Default::default() };
        assert_eq!(t.estimate_tier_micros("claude-sonnet-4-5", plain, ServiceTier::Batch), Some(2_250_000));
        assert_eq!(t.estimate_tier_micros("claude-sonnet-4-5", plain, ServiceTier::Priority), Some(4_500_000));
        assert_eq!(ServiceTier::from_provider("priority_on_demand"), ServiceTier::Priority);
        assert_eq!(ServiceTier::from_provider("default"), ServiceTier::Standard);
    }

    #[test]
    fn the_data_dirs_file_lays_its_prices_over_the_bundled_ones_and_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let bundled = PriceTable::load(dir.path()).unwrap();
        assert!(bundled.len() > 1000);
        let tokens = Tokens { input: 1_000_000, output: 1_000_000, ..Default::default() };
        let gpt_4o = bundled.estimate_micros("gpt-4o", tokens).unwrap();
        // A price set from the CLI: per million tokens in, per token in the file.
        set_price(dir.path(), "claude-fake-unlisted", "5", "25").unwrap();
        set_price(dir.path(), "gpt-4o", "1", "2.5").unwrap();
        let text = std::fs::read_to_string(dir.path().join(LOCAL_FILE)).unwrap();
        assert!(text.contains(r#""input": "0.000005""#), "{text}");
        let t = PriceTable::load(dir.path()).unwrap();
        assert_eq!(t.len(), bundled.len() + 1, "one model added, one replaced, none dropped");
        assert_eq!(t.estimate_micros("claude-fake-unlisted", tokens), Some(30_000_000));
        assert_eq!(t.estimate_micros("gpt-4o", tokens), Some(3_500_000));
        assert_ne!(gpt_4o, 3_500_000);
        assert_eq!(t.estimate_micros("gpt-4o-mini", tokens), bundled.estimate_micros("gpt-4o-mini", tokens));
        for bad in ["-1", "abc", "", "1e9"] {
            let e = set_price(dir.path(), "x", bad, "1").unwrap_err();
            assert!(e.message().contains("per million tokens"), "{bad}: {}", e.message());
        }
        assert!(set_price(dir.path(), " ", "1", "1").is_err());
        std::fs::write(dir.path().join(LOCAL_FILE), "{").unwrap();
        let e = PriceTable::load(dir.path()).unwrap_err();
        assert!(e.message().contains("fix or delete it"), "{}", e.message());
        assert!(set_price(dir.path(), "x", "1", "1").is_err(), "a broken file is not overwritten");
    }

    #[test]
    fn aliases_price_the_ids_no_rule_maps() {
        let t = PriceTable::bundled();
        for (alias, name) in ALIASES {
            assert!(t.prices(name), "{name} is not in the table");
            assert_eq!(t.get(alias), t.get(name), "{alias}");
        }
    }

    /// The model ids of the providers' documented examples (../shared/docs/provider-examples)
    /// and the ones the Anthropic Admin API returns for older models: those Burnrate estimates
    /// from tokens all resolve. (LiteLLM's and OpenRouter's figures are billed by the gateway,
    /// so their models need no price; the count is kept honest all the same.)
    #[test]
    fn the_documented_examples_models_resolve() {
        let t = PriceTable::bundled();
        let resolved = |ids: &[&str]| ids.iter().filter(|m| t.prices(m)).count();
        let anthropic =
            ["claude-opus-5", "claude-sonnet-4-20250514", "claude-opus-4-20250514", "claude-3-5-haiku-20241022"];
        assert_eq!(resolved(&anthropic), 4);
        assert_eq!(resolved(&["openai/gpt-4.1", "openai/gpt-4.1-2025-04-14"]), 2, "OpenRouter");
        assert_eq!(resolved(&["gpt-5", "claude-sonnet-4-5", "claude-haiku-4-5"]), 3, "relays");
        assert_eq!(resolved(&["dall-e-3", "llama3-8b-8192"]), 0, "LiteLLM: billed by the proxy, not estimated");
    }
}
