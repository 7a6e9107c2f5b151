//! IAM policy conditions (`Condition` blocks), evaluated for a request
//! Corral pictures: every operator AWS documents (`String*`, `Numeric*`,
//! `Date*`, `Bool`, `BinaryEquals`, `IpAddress`/`NotIpAddress`, `Arn*`,
//! `Null`), with the `...IfExists` suffix and the `ForAnyValue:` and
//! `ForAllValues:` prefixes. A condition Corral cannot decide (a key whose
//! value the cluster's side does not know, an operator it does not know, a
//! value of the wrong type, a policy variable) *may* hold: it never hides a
//! grant, and the reason is kept for the report.
//!
//! Reference: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>

use std::cmp::Ordering;
use std::net::IpAddr;

use base64::Engine;
use corral_core::model::selector::cidr_contains;
use serde_json::Value;

use super::like;

/// What a condition comes to for the pictured request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    /// Not decidable from the cluster's side; why.
    May(String),
    Never,
}

/// Reasons are joined up to this length (a hostile policy may hold
/// thousands of undecidable conditions).
const MAX_REASON: usize = 400;

fn join(a: String, b: String) -> String {
    if a.len() >= MAX_REASON || a == b {
        a
    } else {
        let mut joined = format!("{a}; {b}");
        if joined.len() > MAX_REASON {
            let mut end = MAX_REASON;
            while !joined.is_char_boundary(end) {
                end -= 1;
            }
            joined.truncate(end);
            joined.push('…');
        }
        joined
    }
}

impl Verdict {
    /// Both must hold.
    pub fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Never, _) | (_, Verdict::Never) => Verdict::Never,
            (Verdict::May(a), Verdict::May(b)) => Verdict::May(join(a, b)),
            (Verdict::May(a), Verdict::Holds) | (Verdict::Holds, Verdict::May(a)) => {
                Verdict::May(a)
            }
            (Verdict::Holds, Verdict::Holds) => Verdict::Holds,
        }
    }

    /// Either holds.
    pub fn or(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Holds, _) | (_, Verdict::Holds) => Verdict::Holds,
            (Verdict::May(a), Verdict::May(b)) => Verdict::May(join(a, b)),
            (Verdict::May(a), Verdict::Never) | (Verdict::Never, Verdict::May(a)) => {
                Verdict::May(a)
            }
            (Verdict::Never, Verdict::Never) => Verdict::Never,
        }
    }

    fn not(self) -> Verdict {
        match self {
            Verdict::Holds => Verdict::Never,
            Verdict::Never => Verdict::Holds,
            may => may,
        }
    }

    pub fn is_never(&self) -> bool {
        *self == Verdict::Never
    }
}

/// The condition keys whose values Corral knows for the pictured request
/// (compared without regard to case, as IAM does); `None` for a key known
/// to be absent. Every other key is unknown.
#[derive(Clone, Debug, Default)]
pub struct Request {
    known: Vec<(String, Option<String>)>,
    /// The identity provider whose token the request carries: keys of any
    /// other provider (`HOST/PATH:claim`) are absent from it.
    provider: Option<String>,
}

impl Request {
    pub fn new() -> Request {
        Request::default()
    }

    /// `key` has `value` (`None`: the request has no such key).
    pub fn with(mut self, key: &str, value: Option<&str>) -> Request {
        self.known
            .push((key.to_string(), value.map(str::to_string)));
        self
    }

    /// The request carries a token of the OIDC provider `provider` (its
    /// URL without `https://`): the claims of other providers, keys
    /// `HOST/PATH:claim` (a host has a dot; service and global key
    /// prefixes such as `aws` and `sts` do not), are absent.
    pub fn from_provider(mut self, provider: &str) -> Request {
        self.provider = Some(provider.to_string());
        self
    }

    /// `None`: not known; `Some(None)`: known to be absent.
    fn value(&self, key: &str) -> Option<Option<&str>> {
        if let Some((_, v)) = self.known.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Some(v.as_deref());
        }
        let provider = self.provider.as_deref()?;
        let (prefix, _) = key.split_once(':')?;
        (prefix.contains('.') && !prefix.eq_ignore_ascii_case(provider)).then_some(None)
    }
}

/// A statement's `Condition` element: every operator block, and every key
/// in each, must hold.
pub fn evaluate(condition: &Value, request: &Request) -> Verdict {
    match condition {
        Value::Null => Verdict::Holds,
        Value::Object(operators) => {
            let mut verdict = Verdict::Holds;
            for (operator, keys) in operators {
                verdict = verdict.and(operator_block(operator, keys, request));
                if verdict.is_never() {
                    break;
                }
            }
            verdict
        }
        _ => Verdict::May("its Condition is not an object; IAM would not accept it".into()),
    }
}

fn operator_block(operator: &str, keys: &Value, request: &Request) -> Verdict {
    let Value::Object(keys) = keys else {
        return Verdict::May(format!(
            "condition {operator} holds no keys, as IAM would not accept"
        ));
    };
    let mut verdict = Verdict::Holds;
    for (key, values) in keys {
        verdict = verdict.and(one(operator, key, values, request));
        if verdict.is_never() {
            break;
        }
    }
    verdict
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Set {
    Any,
    All,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    String {
        ignore_case: bool,
    },
    StringLike,
    /// `ArnEquals` and `ArnLike` are one operator.
    Arn,
    Numeric(&'static [Ordering]),
    Date(&'static [Ordering]),
    Bool,
    Binary,
    Ip,
    Null,
}

const EQUAL: &[Ordering] = &[Ordering::Equal];
const LESS: &[Ordering] = &[Ordering::Less];
const LESS_EQUAL: &[Ordering] = &[Ordering::Less, Ordering::Equal];
const GREATER: &[Ordering] = &[Ordering::Greater];
const GREATER_EQUAL: &[Ordering] = &[Ordering::Greater, Ordering::Equal];

/// The operator's kind, and whether it is negated (true when no value
/// matches).
fn kind(operator: &str) -> Option<(Kind, bool)> {
    Some(match operator {
        "StringEquals" => (Kind::String { ignore_case: false }, false),
        "StringNotEquals" => (Kind::String { ignore_case: false }, true),
        "StringEqualsIgnoreCase" => (Kind::String { ignore_case: true }, false),
        "StringNotEqualsIgnoreCase" => (Kind::String { ignore_case: true }, true),
        "StringLike" => (Kind::StringLike, false),
        "StringNotLike" => (Kind::StringLike, true),
        "ArnEquals" | "ArnLike" => (Kind::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Kind::Arn, true),
        "NumericEquals" => (Kind::Numeric(EQUAL), false),
        "NumericNotEquals" => (Kind::Numeric(EQUAL), true),
        "NumericLessThan" => (Kind::Numeric(LESS), false),
        "NumericLessThanEquals" => (Kind::Numeric(LESS_EQUAL), false),
        "NumericGreaterThan" => (Kind::Numeric(GREATER), false),
        "NumericGreaterThanEquals" => (Kind::Numeric(GREATER_EQUAL), false),
        "DateEquals" => (Kind::Date(EQUAL), false),
        "DateNotEquals" => (Kind::Date(EQUAL), true),
        "DateLessThan" => (Kind::Date(LESS), false),
        "DateLessThanEquals" => (Kind::Date(LESS_EQUAL), false),
        "DateGreaterThan" => (Kind::Date(GREATER), false),
        "DateGreaterThanEquals" => (Kind::Date(GREATER_EQUAL), false),
        "Bool" => (Kind::Bool, false),
        "BinaryEquals" => (Kind::Binary, false),
        "IpAddress" => (Kind::Ip, false),
        "NotIpAddress" => (Kind::Ip, true),
        "Null" => (Kind::Null, false),
        _ => return None,
    })
}

/// An operator name taken apart: set prefix, base operator, `IfExists`.
fn parse(operator: &str) -> (Option<Set>, &str, bool) {
    let (set, rest) = if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
        (Some(Set::Any), rest)
    } else if let Some(rest) = operator.strip_prefix("ForAllValues:") {
        (Some(Set::All), rest)
    } else {
        (None, operator)
    };
    match rest.strip_suffix("IfExists") {
        Some(base) => (set, base, true),
        None => (set, rest, false),
    }
}

/// A condition's values as text: strings, numbers and booleans, one or a
/// list; `None` for anything else.
fn scalars(value: &Value) -> Option<Vec<String>> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        one => scalar(one).map(|s| vec![s]),
    }
}

/// One key of one operator block.
fn one(operator: &str, key: &str, expected: &Value, request: &Request) -> Verdict {
    let (set, base, if_exists) = parse(operator);
    let Some((kind, negated)) = kind(base) else {
        return Verdict::May(format!(
            "condition operator {operator} is not one IAM documents, so Corral cannot evaluate it"
        ));
    };
    let values = match scalars(expected) {
        Some(values) if !values.is_empty() => values,
        _ => {
            return Verdict::May(format!(
                "{operator} on {key} has no string, number or boolean values"
            ))
        }
    };
    let Some(actual) = request.value(key) else {
        return Verdict::May(format!(
            "{operator} on {key}: the request's {key} is not known from the cluster's side"
        ));
    };
    if kind == Kind::Null {
        if set.is_some() || if_exists {
            return Verdict::May(format!(
                "{operator} is not an operator IAM documents, so Corral cannot evaluate it"
            ));
        }
        return values.iter().fold(Verdict::Never, |verdict, v| {
            let one = match v.to_ascii_lowercase().as_str() {
                "true" if actual.is_none() => Verdict::Holds,
                "false" if actual.is_some() => Verdict::Holds,
                "true" | "false" => Verdict::Never,
                _ => Verdict::May(format!("Null on {key} takes true or false, not {v}")),
            };
            verdict.or(one)
        });
    }
    let Some(actual) = actual else {
        // The key is absent: `...IfExists` and `ForAllValues:` hold, as do
        // the negated operators; anything else does not.
        let holds = if_exists || set == Some(Set::All) || (set.is_none() && negated);
        return if holds {
            Verdict::Holds
        } else {
            Verdict::Never
        };
    };
    // A single-valued key: the set prefixes test its one value.
    let matched = values.iter().fold(Verdict::Never, |verdict, e| {
        if verdict == Verdict::Holds {
            return verdict;
        }
        verdict.or(test(kind, e, actual)
            .unwrap_or_else(|why| Verdict::May(format!("{operator} on {key} ({e}): {why}"))))
    });
    if negated {
        matched.not()
    } else {
        matched
    }
}

/// Does `actual` match the policy's value `expected`? `Err` says why it
/// cannot be told.
fn test(kind: Kind, expected: &str, actual: &str) -> Result<Verdict, String> {
    let verdict = |b: bool| if b { Verdict::Holds } else { Verdict::Never };
    Ok(match kind {
        Kind::String { ignore_case } => {
            let expected = variables(expected, false)?;
            verdict(if ignore_case {
                expected.to_lowercase() == actual.to_lowercase()
            } else {
                expected == actual
            })
        }
        Kind::StringLike => verdict(like(&variables(expected, true)?, actual)),
        Kind::Arn => {
            let expected = variables(expected, true)?;
            let parts = |arn: &str| -> Option<Vec<String>> {
                let parts: Vec<String> = arn.splitn(6, ':').map(str::to_string).collect();
                (parts.len() == 6).then_some(parts)
            };
            let (Some(e), Some(a)) = (parts(&expected), parts(actual)) else {
                return Err("not ARNs of six parts; IAM's result is not documented".into());
            };
            verdict(e.iter().zip(&a).all(|(e, a)| like(e, a)))
        }
        Kind::Numeric(orders) => {
            let number = |s: &str| s.trim().parse::<f64>().ok().filter(|n| n.is_finite());
            let (Some(e), Some(a)) = (number(expected), number(actual)) else {
                return Err("not numbers".into());
            };
            verdict(a.partial_cmp(&e).is_some_and(|o| orders.contains(&o)))
        }
        Kind::Date(orders) => {
            let (Some(e), Some(a)) = (date(expected), date(actual)) else {
                return Err("not dates".into());
            };
            verdict(orders.contains(&a.cmp(&e)))
        }
        Kind::Bool => {
            let boolean = |s: &str| match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
            let (Some(e), Some(a)) = (boolean(expected), boolean(actual)) else {
                return Err("not booleans".into());
            };
            verdict(e == a)
        }
        Kind::Binary => {
            let Ok(e) = base64::engine::general_purpose::STANDARD.decode(expected) else {
                return Err("not base64".into());
            };
            verdict(e == actual.as_bytes())
        }
        Kind::Ip => {
            let Ok(address) = actual.trim().parse::<IpAddr>() else {
                return Err("the request's value is not an IP address".into());
            };
            let valid = match expected.split_once('/') {
                Some((network, prefix)) => {
                    network.parse::<IpAddr>().is_ok() && prefix.parse::<u8>().is_ok()
                }
                None => expected.parse::<IpAddr>().is_ok(),
            };
            if !valid {
                return Err("not an IP address or CIDR block".into());
            }
            verdict(cidr_contains(expected, address))
        }
        Kind::Null => unreachable!("Null is evaluated before values are tested"),
    })
}

/// A date as IAM takes it: ISO 8601 (`2026-01-01T00:00:00Z`, or a day) or
/// seconds since the epoch.
fn date(text: &str) -> Option<jiff::Timestamp> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return jiff::Timestamp::from_second(seconds).ok();
    }
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp);
    }
    let day = text.parse::<jiff::civil::Date>().ok()?;
    day.to_datetime(jiff::civil::Time::midnight())
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// The value with IAM's policy variables replaced: `${*}`, `${?}` and
/// `${$}` stand for those characters; any other variable is the request's
/// and unknown. In a pattern (`like`), a literal `*` or `?` cannot be
/// told from a wildcard, so it is unknown too.
fn variables(value: &str, pattern: bool) -> Result<String, String> {
    if !value.contains("${") {
        return Ok(value.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return Ok(out);
        };
        match &after[..end] {
            "$" => out.push('$'),
            "*" | "?" if !pattern => out.push_str(&after[..end]),
            "*" | "?" => return Err("a literal * or ? in a pattern".into()),
            variable => {
                return Err(format!(
                    "the policy variable ${{{variable}}} is the request's, not known from the cluster's side"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> Request {
        Request::new()
            .with("idp:sub", Some("system:serviceaccount:shop:web"))
            .with("idp:aud", Some("sts.amazonaws.com"))
            .with("idp:absent", None)
    }

    fn eval(condition: Value) -> Verdict {
        evaluate(&condition, &request())
    }

    fn may(condition: Value) -> bool {
        matches!(eval(condition), Verdict::May(_))
    }

    #[test]
    fn string_operators() {
        let sub = "system:serviceaccount:shop:web";
        assert_eq!(
            eval(json!({"StringEquals": {"idp:sub": sub}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"StringEquals": {"IDP:SUB": [sub]}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"StringEquals": {"idp:sub": "x"}})),
            Verdict::Never
        );
        assert_eq!(
            eval(json!({"StringNotEquals": {"idp:sub": ["a", sub]}})),
            Verdict::Never
        );
        assert_eq!(
            eval(json!({"StringNotEquals": {"idp:sub": ["a", "b"]}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"StringEqualsIgnoreCase": {"idp:sub": "SYSTEM:ServiceAccount:SHOP:web"}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(
                json!({"StringNotEqualsIgnoreCase": {"idp:sub": "SYSTEM:ServiceAccount:SHOP:web"}})
            ),
            Verdict::Never
        );
        assert_eq!(
            eval(
                json!({"StringNotEqualsIgnoreCase": {"idp:sub": "system:serviceaccount:shop:api"}})
            ),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"StringLike": {"idp:sub": "*:shop:*"}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"StringLike": {"idp:sub": "*:sho?:w?b"}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"StringLike": {"idp:sub": "*:other:*"}})),
            Verdict::Never
        );
        assert_eq!(
            eval(json!({"StringNotLike": {"idp:sub": "*:other:*"}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"StringNotLike": {"idp:sub": "*:shop:*"}})),
            Verdict::Never
        );
    }

    #[test]
    fn set_prefixes_and_if_exists() {
        let sub = "system:serviceaccount:shop:web";
        for op in [
            "ForAnyValue:StringEquals",
            "ForAllValues:StringEquals",
            "StringEqualsIfExists",
            "ForAnyValue:StringLikeIfExists",
        ] {
            assert_eq!(eval(json!({op: {"idp:sub": sub}})), Verdict::Holds, "{op}");
            assert_eq!(
                eval(json!({op: {"idp:sub": "other"}})),
                Verdict::Never,
                "{op}"
            );
        }
        assert_eq!(
            eval(json!({"ForAllValues:StringNotEquals": {"idp:sub": "x"}})),
            Verdict::Holds
        );
        // A key the request does not have.
        assert_eq!(
            eval(json!({"StringEquals": {"idp:absent": "x"}})),
            Verdict::Never
        );
        assert_eq!(
            eval(json!({"StringEqualsIfExists": {"idp:absent": "x"}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"StringNotEquals": {"idp:absent": "x"}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"ForAllValues:StringEquals": {"idp:absent": "x"}})),
            Verdict::Holds
        );
        assert_eq!(
            eval(json!({"ForAnyValue:StringEquals": {"idp:absent": "x"}})),
            Verdict::Never
        );
        assert_eq!(
            eval(json!({"ForAnyValue:StringNotEquals": {"idp:absent": "x"}})),
            Verdict::Never
        );
    }

    /// A key the request lacks, as AWS documents it: `...IfExists` holds,
    /// `ForAllValues:` holds on the empty set, `ForAnyValue:` does not,
    /// a negated operator holds, any other does not.
    #[test]
    fn absent_keys_under_every_form() {
        for op in [
            "StringLikeIfExists",
            "StringNotEqualsIfExists",
            "NumericLessThanIfExists",
            "DateEqualsIfExists",
            "BoolIfExists",
            "IpAddressIfExists",
            "ArnLikeIfExists",
            "BinaryEqualsIfExists",
            "ForAllValues:StringLike",
            "ForAllValues:StringEqualsIgnoreCase",
            "StringNotLike",
            "ArnNotEquals",
            "NotIpAddress",
        ] {
            assert_eq!(
                eval(json!({op: {"idp:absent": "x"}})),
                Verdict::Holds,
                "{op}"
            );
        }
        for op in [
            "StringLike",
            "NumericEquals",
            "ArnLike",
            "ForAnyValue:StringLike",
            "ForAnyValue:StringNotEquals",
        ] {
            assert_eq!(
                eval(json!({op: {"idp:absent": "x"}})),
                Verdict::Never,
                "{op}"
            );
        }
    }

    #[test]
    fn null_checks() {
        assert_eq!(eval(json!({"Null": {"idp:sub": "false"}})), Verdict::Holds);
        assert_eq!(eval(json!({"Null": {"idp:sub": true}})), Verdict::Never);
        assert_eq!(
            eval(json!({"Null": {"idp:absent": "true"}})),
            Verdict::Holds
        );
        assert_eq!(eval(json!({"Null": {"idp:absent": false}})), Verdict::Never);
        assert!(may(json!({"Null": {"aws:SourceIp": "true"}})));
        assert!(may(json!({"Null": {"idp:sub": "maybe"}})));
        assert!(may(json!({"ForAnyValue:Null": {"idp:sub": "false"}})));
    }

    #[test]
    fn other_types_on_known_keys() {
        let r = Request::new()
            .with("n", Some("42"))
            .with("d", Some("2026-03-01T12:00:00Z"))
            .with("b", Some("true"))
            .with("ip", Some("10.1.2.3"))
            .with("arn", Some("arn:aws:iam::111122223333:role/app/web"))
            .with("arn2", Some("arn:aws:iam::111122223333:role/app:web"));
        let e = |c: Value| evaluate(&c, &r);
        assert_eq!(e(json!({"NumericEquals": {"n": 42}})), Verdict::Holds);
        assert_eq!(e(json!({"NumericNotEquals": {"n": "42"}})), Verdict::Never);
        assert_eq!(e(json!({"NumericLessThan": {"n": "43.5"}})), Verdict::Holds);
        assert_eq!(
            e(json!({"NumericLessThanEquals": {"n": 42}})),
            Verdict::Holds
        );
        assert_eq!(e(json!({"NumericGreaterThan": {"n": 42}})), Verdict::Never);
        assert_eq!(
            e(json!({"NumericGreaterThanEquals": {"n": 42}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"DateLessThan": {"d": "2026-03-02"}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"DateGreaterThan": {"d": "2026-03-02T00:00:00Z"}})),
            Verdict::Never
        );
        assert_eq!(e(json!({"DateEquals": {"d": 1772366400}})), Verdict::Holds);
        assert_eq!(
            e(json!({"DateNotEquals": {"d": 1772366400}})),
            Verdict::Never
        );
        assert_eq!(
            e(json!({"DateGreaterThanEquals": {"d": "2026-03-01T12:00:00Z"}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"DateLessThanEquals": {"d": "2020-01-01"}})),
            Verdict::Never
        );
        assert_eq!(e(json!({"Bool": {"b": true}})), Verdict::Holds);
        assert_eq!(e(json!({"Bool": {"b": "False"}})), Verdict::Never);
        assert_eq!(
            e(json!({"BinaryEquals": {"b": "dHJ1ZQ=="}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"BinaryEquals": {"b": "ZmFsc2U="}})),
            Verdict::Never
        );
        assert_eq!(
            e(json!({"IpAddress": {"ip": "10.0.0.0/8"}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"IpAddress": {"ip": ["192.168.0.0/16", "10.1.2.3"]}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"NotIpAddress": {"ip": "10.0.0.0/8"}})),
            Verdict::Never
        );
        assert_eq!(
            e(json!({"NotIpAddress": {"ip": "192.168.0.0/16"}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"ArnLike": {"arn": "arn:aws:iam::*:role/app/*"}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"ArnEquals": {"arn": "arn:aws:iam::111122223333:role/app/web"}})),
            Verdict::Holds
        );
        // `*` stays within its part of the ARN.
        assert_eq!(
            e(json!({"ArnLike": {"arn2": "arn:aws:*:*:*:web"}})),
            Verdict::Never
        );
        assert_eq!(
            e(json!({"ArnLike": {"arn2": "arn:aws:*:*:*:role/*"}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"ArnNotLike": {"arn": "arn:aws:iam::*:role/other"}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"ArnNotEquals": {"arn": "arn:aws:iam::111122223333:role/app/web"}})),
            Verdict::Never
        );
        // Values of the wrong type cannot be told: they may hold.
        for c in [
            json!({"NumericEquals": {"d": 1}}),
            json!({"DateEquals": {"n": "yesterday"}}),
            json!({"Bool": {"n": true}}),
            json!({"BinaryEquals": {"n": "%%%"}}),
            json!({"IpAddress": {"n": "10.0.0.0/8"}}),
            json!({"IpAddress": {"ip": "ten/8"}}),
            json!({"ArnLike": {"n": "arn:*"}}),
            json!({"NotIpAddress": {"n": "10.0.0.0/8"}}),
        ] {
            assert!(matches!(e(c.clone()), Verdict::May(_)), "{c}");
        }
    }

    #[test]
    fn what_cannot_be_decided_may_hold() {
        // Keys the cluster's side does not know.
        assert!(may(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})));
        assert!(may(
            json!({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
        ));
        assert!(may(json!({"StringEquals": {"aws:RequestTag/team": "x"}})));
        // Operators IAM does not document, malformed blocks.
        assert!(may(json!({"StringEqualz": {"idp:sub": "x"}})));
        assert!(may(json!({"StringEquals": "idp:sub"})));
        assert!(may(json!({"StringEquals": {"idp:sub": []}})));
        assert!(may(json!({"StringEquals": {"idp:sub": {"a": 1}}})));
        assert!(may(json!("StringEquals")));
        // Policy variables.
        assert!(may(
            json!({"StringEquals": {"idp:sub": "system:serviceaccount:${aws:username}"}})
        ));
        assert!(may(json!({"StringLike": {"idp:sub": "system:${*}"}})));
        assert_eq!(
            eval(json!({"StringEquals": {"idp:aud": "sts.amazon${$}aws.com"}})),
            Verdict::Never
        );
        // A known condition that fails still wins over an unknown one.
        assert_eq!(
            eval(
                json!({"StringEquals": {"idp:sub": "x"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
            ),
            Verdict::Never
        );
        // Unknown and holding: may hold, and says why.
        let Verdict::May(why) = eval(json!({
            "StringEquals": {"idp:sub": "system:serviceaccount:shop:web"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}
        })) else {
            panic!("not may");
        };
        assert!(why.contains("aws:SourceIp"), "{why}");
    }

    #[test]
    fn other_providers_claims_are_absent() {
        let r = request().from_provider("idp.example/id/A");
        let e = |c: Value| evaluate(&c, &r);
        assert_eq!(
            e(json!({"StringEquals": {"token.actions.githubusercontent.com:sub": "x"}})),
            Verdict::Never
        );
        assert_eq!(
            e(json!({"StringNotEquals": {"accounts.google.com:aud": "x"}})),
            Verdict::Holds
        );
        assert_eq!(
            e(json!({"StringEqualsIfExists": {"idp.example/id/B:sub": "x"}})),
            Verdict::Holds
        );
        // The provider's own claims other than sub and aud, global and
        // service keys (a tag key with dots too) stay unknown.
        for key in [
            "idp.example/id/A:amr",
            "aws:RequestTag/kubernetes.io:x",
            "sts:RoleSessionName",
        ] {
            assert!(
                matches!(e(json!({"StringEquals": {key: "x"}})), Verdict::May(_)),
                "{key}"
            );
        }
    }

    #[test]
    fn reasons_stay_short() {
        let keys: serde_json::Map<String, Value> = (0..5000)
            .map(|i| (format!("aws:Unknown{i}"), json!("x")))
            .collect();
        let Verdict::May(why) = eval(json!({ "StringEquals": keys })) else {
            panic!("not may");
        };
        assert!(why.len() <= MAX_REASON + '…'.len_utf8(), "{}", why.len());
    }
}
