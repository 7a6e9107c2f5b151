//! A YAML/JSON value tree in which every node and every mapping key keeps
//! its 1-based line and column in the source file.
//!
//! Scalars keep their source text and the type a plain scalar resolves to
//! under the YAML 1.1 rules that Kubernetes' decoder (go-yaml v2 behind
//! `sigs.k8s.io/yaml`) applies, so `hostNetwork: yes` is `true` while a string
//! field written `version: 1.10` still reads back as `"1.10"`.

use std::fmt;

use compact_str::CompactString;

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: CompactString,
    pub key_pos: Pos,
    pub value: Node,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub text: CompactString,
    pub kind: ScalarKind,
}

/// What a scalar resolves to. Quoted and block scalars are always strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarKind {
    Null,
    Bool(bool),
    Int,
    Float,
    Str,
}

impl Scalar {
    /// Resolve a plain (unquoted) scalar the way go-yaml v2 does.
    pub fn plain(text: &str) -> Scalar {
        Scalar {
            kind: resolve_plain(text),
            text: text.into(),
        }
    }

    /// The key this scalar is once `sigs.k8s.io/yaml` has written it as
    /// JSON: a boolean is `true` or `false` (`on: x` is the label `true`),
    /// an integer (or a float with no fraction) its decimal digits; any
    /// other scalar its text.
    pub fn as_key(&self) -> CompactString {
        match self.kind {
            ScalarKind::Bool(true) => "true".into(),
            ScalarKind::Bool(false) => "false".into(),
            ScalarKind::Int | ScalarKind::Float => match self.as_i64() {
                Some(n) => n.to_string().into(),
                None => self.text.clone(),
            },
            ScalarKind::Null | ScalarKind::Str => self.text.clone(),
        }
    }

    pub fn string(text: &str) -> Scalar {
        Scalar {
            kind: ScalarKind::Str,
            text: text.into(),
        }
    }

    /// The integer an integer field reads from this scalar, as kubectl
    /// decodes it: an integer, or a float with no fraction (`0.0`, `1e3`),
    /// which `sigs.k8s.io/yaml` writes as a JSON integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self.kind {
            ScalarKind::Int => parse_int(&self.text),
            ScalarKind::Float => parse_float(&self.text).and_then(json_integer),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.kind {
            ScalarKind::Int => parse_int(&self.text).map(|i| i as f64),
            ScalarKind::Float => parse_float(&self.text),
            _ => None,
        }
    }
}

/// The integer a float becomes on its way to a typed field: `sigs.k8s.io/yaml`
/// turns YAML into JSON with Go's `json.Marshal`, which writes a float64
/// with no fraction below 1e21 without a fraction or exponent (`0.0` is
/// `0`, `1e3` is `1000`), and Go's JSON decoder then reads that into an
/// integer field. `None` for a fraction, infinities and NaN (which are
/// errors in an integer field), or past `i64` (which no field holds).
pub fn json_integer(f: f64) -> Option<i64> {
    // 2^63: i64::MAX as f64 rounds up to it, so it is the bound, excluded.
    const I64_END: f64 = 9_223_372_036_854_775_808.0;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 && (-I64_END..I64_END).contains(&f))
        .then_some(f as i64)
}

fn resolve_plain(text: &str) -> ScalarKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarKind::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return ScalarKind::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return ScalarKind::Bool(false)
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return ScalarKind::Str;
    }
    if parse_int(text).is_some() {
        ScalarKind::Int
    } else if parse_float(text).is_some() {
        ScalarKind::Float
    } else {
        ScalarKind::Str
    }
}

/// Integers as YAML 1.1 writes them: decimal, `0x`, `0o`/leading-zero octal,
/// `0b`, with `_` separators allowed.
pub fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    // go-yaml removes every `_` first (the scalar's first character,
    // which says whether it may be a number, is not one: see
    // `resolve_plain`).
    if digits.is_empty() {
        return None;
    }
    let cleaned: String;
    let digits = if digits.contains('_') {
        cleaned = digits.replace('_', "");
        cleaned.as_str()
    } else {
        digits
    };
    // Go's `strconv.ParseInt(text, 0, 64)`: its prefixes in either case.
    let prefix = digits.get(..2).map(str::to_ascii_lowercase);
    let (radix, body) = if prefix.as_deref() == Some("0x") {
        (16, &digits[2..])
    } else if prefix.as_deref() == Some("0b") {
        (2, &digits[2..])
    } else if prefix.as_deref() == Some("0o") {
        (8, &digits[2..])
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Floats as go-yaml v2 reads them: `.inf`, `.nan` and their spellings;
/// else, for a scalar that starts with `.`, Go's `ParseFloat` of the text
/// as it is (no `_`); else the text without `_` if it matches YAML's float
/// pattern `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
pub fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let cleaned: String;
    let text = if text.starts_with('.') || !text.contains('_') {
        text
    } else {
        cleaned = text.replace('_', "");
        &cleaned
    };
    // Rust's float syntax over these characters is YAML's pattern (Rust
    // also reads "inf", "nan" and "infinity", which YAML does not).
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        || !text.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

impl Node {
    /// A sequence node. Its storage is trimmed to fit: loaded trees are
    /// large and mostly small collections, so slack would cost a third of
    /// their memory.
    pub fn seq(pos: Pos, mut items: Vec<Node>) -> Node {
        items.shrink_to_fit();
        Node {
            pos,
            value: Value::Seq(items),
        }
    }

    /// A mapping node, trimmed to fit like [`Node::seq`].
    pub fn map(pos: Pos, mut entries: Vec<Entry>) -> Node {
        entries.shrink_to_fit();
        Node {
            pos,
            value: Value::Map(entries),
        }
    }

    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar node that resolves to a string, or of any
    /// non-null scalar (Kubernetes reads `name: 123` as the string "123").
    pub fn as_str(&self) -> Option<&str> {
        match self.scalar()? {
            Scalar {
                kind: ScalarKind::Null,
                ..
            } => None,
            s => Some(&s.text),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.scalar()?.kind {
            ScalarKind::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(
            self.value,
            Value::Scalar(Scalar {
                kind: ScalarKind::Null,
                ..
            })
        )
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The entry for `key` in a mapping node.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()?.iter().find(|e| &*e.key == key)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// Follow a dotted path with `[index]` steps, e.g.
    /// `spec.template.spec.containers[1].securityContext`.
    pub fn at(&self, path: &str) -> Option<&Node> {
        let mut node = self;
        for step in steps(path) {
            node = node.step(step?)?;
        }
        Some(node)
    }

    fn step(&self, step: StepRef) -> Option<&Node> {
        match step {
            StepRef::Key(k) => self.get(k),
            StepRef::Index(i) => self.items()?.get(i),
        }
    }

    /// The position a step lands on: a key's, or an item's.
    fn step_pos(&self, step: StepRef) -> Option<(Pos, &Node)> {
        match step {
            StepRef::Key(k) => self.entry(k).map(|e| (e.key_pos, &e.value)),
            StepRef::Index(i) => self.items()?.get(i).map(|n| (n.pos, n)),
        }
    }

    /// Where a finding about the field at `path` should point: the key of the
    /// last mapping step (so `privileged: true` points at `privileged`), or the
    /// item itself for an index step.
    pub fn pos_of(&self, path: &str) -> Option<Pos> {
        let mut node = self;
        let mut last = None;
        for step in steps(path) {
            let step = step?;
            if let Some(parent) = last.replace(step) {
                node = node.step(parent)?;
            }
        }
        node.step_pos(last?).map(|(pos, _)| pos)
    }

    /// The position of the deepest part of `path` that exists: the field
    /// itself when present, else its nearest present parent (so a finding
    /// about a missing field points at what lacks it).
    pub fn pos_nearest(&self, path: &str) -> Pos {
        let mut pos = self.pos;
        if steps(path).any(|step| step.is_none()) {
            return pos;
        }
        let mut node = self;
        for step in steps(path).flatten() {
            match node.step_pos(step) {
                Some((p, n)) => {
                    pos = p;
                    node = n;
                }
                None => break,
            }
        }
        pos
    }
}

/// A parsed field path such as `spec.containers[0].image`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath(Vec<Step>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

impl FieldPath {
    /// Parse `a.b[0].c`; a key holding dots is written `a["b.c"]`.
    pub fn parse(path: &str) -> Option<FieldPath> {
        steps(path)
            .map(|step| {
                step.map(|step| match step {
                    StepRef::Key(key) => Step::Key(key.to_string()),
                    StepRef::Index(index) => Step::Index(index),
                })
            })
            .collect::<Option<Vec<Step>>>()
            .map(FieldPath)
    }

    pub fn steps(&self) -> &[Step] {
        &self.0
    }
}

/// A step of a field path, borrowed from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StepRef<'a> {
    Key(&'a str),
    Index(usize),
}

/// The steps of a field path as [`FieldPath::parse`] reads them, without
/// allocating (paths are walked once per finding and per graph edge):
/// `None` where the path is malformed, and nothing after it.
fn steps(path: &str) -> impl Iterator<Item = Option<StepRef<'_>>> {
    let mut rest = Some(path);
    std::iter::from_fn(move || {
        let text = rest.take().filter(|r| !r.is_empty())?;
        let (step, after) = if let Some(after) = text.strip_prefix("[\"") {
            match after.find("\"]") {
                Some(close) => (Some(StepRef::Key(&after[..close])), &after[close + 2..]),
                None => (None, ""),
            }
        } else if let Some(after) = text.strip_prefix('[') {
            match after.find(']').and_then(|close| {
                let index = after[..close].parse().ok()?;
                Some((index, &after[close + 1..]))
            }) {
                Some((index, after)) => (Some(StepRef::Index(index)), after),
                None => (None, ""),
            }
        } else {
            let key = text.strip_prefix('.').unwrap_or(text);
            match key.find(['.', '[']).unwrap_or(key.len()) {
                0 => (None, ""),
                end => (Some(StepRef::Key(&key[..end])), &key[end..]),
            }
        };
        rest = step.is_some().then_some(after);
        Some(step)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_resolve_like_go_yaml_v2() {
        let kind = |t| Scalar::plain(t).kind;
        assert_eq!(kind("yes"), ScalarKind::Bool(true));
        assert_eq!(kind("Off"), ScalarKind::Bool(false));
        assert_eq!(kind("~"), ScalarKind::Null);
        assert_eq!(kind("0x1F"), ScalarKind::Int);
        assert_eq!(kind("1_000"), ScalarKind::Int);
        assert_eq!(kind("1.10"), ScalarKind::Float);
        assert_eq!(kind("1e3"), ScalarKind::Float);
        assert_eq!(kind(".inf"), ScalarKind::Float);
        assert_eq!(kind("inf"), ScalarKind::Str);
        assert_eq!(kind("100m"), ScalarKind::Str);
        assert_eq!(kind("1.2.3"), ScalarKind::Str);
        assert_eq!(kind("-"), ScalarKind::Str);
        // A scalar led by `.` is Go's ParseFloat of its text, which takes
        // no `_`; others lose their `_` first, and Go's prefixes take
        // either case.
        assert_eq!(kind("._5"), ScalarKind::Str);
        assert_eq!(kind(".5_0"), ScalarKind::Str);
        assert_eq!(kind("1_0.5"), ScalarKind::Float);
        assert_eq!(kind("0X1F"), ScalarKind::Int);
        assert_eq!(kind("-_1"), ScalarKind::Int);
        assert_eq!(kind("1.e3"), ScalarKind::Float);
        assert_eq!(kind("1e"), ScalarKind::Str);
        assert_eq!(kind("+.inf"), ScalarKind::Float);
        assert_eq!(kind("-.nan"), ScalarKind::Str);
        assert_eq!(Scalar::plain("0644").as_i64(), Some(420));
        assert_eq!(Scalar::plain("0.0").as_i64(), Some(0));
        assert_eq!(Scalar::plain("2.5").as_i64(), None);
        assert_eq!(json_integer(-0.0), Some(0));
        assert_eq!(json_integer(i64::MAX as f64), None);
        assert_eq!(json_integer(i64::MIN as f64), Some(i64::MIN));
        assert_eq!(json_integer(f64::INFINITY), None);
        assert_eq!(Scalar::plain("-12").as_i64(), Some(-12));
        assert_eq!(
            Scalar::plain("99999999999999999999").kind,
            ScalarKind::Float
        );
    }

    #[test]
    fn nearest_position_falls_back_to_the_parent() {
        let text = "spec:\n  containers:\n  - name: a\n    securityContext: {}\n";
        let (objects, _) = crate::load_bytes(
            &"t".into(),
            format!("apiVersion: v1\nkind: Pod\n{text}").as_bytes(),
            &crate::Limits::default(),
            &|_| {},
        );
        let root = &objects[0].root;
        let at = |p: &str| root.pos_nearest(p).to_string();
        assert_eq!(at("spec.containers[0].securityContext.runAsNonRoot"), "6:5");
        assert_eq!(at("spec.containers[0].name"), "5:5");
        assert_eq!(at("spec.containers[3]"), "4:3");
        assert_eq!(at("spec.volumes"), "3:1");
        // A malformed path points at the object, however far it would walk.
        assert_eq!(at("spec.containers[0].."), root.pos.to_string());
        assert_eq!(at("spec.containers[x].name"), root.pos.to_string());
        assert!(root.at("spec.containers[0].name").is_some());
        assert!(root.at("spec.containers[0]..name").is_none());
        assert_eq!(
            root.pos_of("spec.containers[0].securityContext")
                .map(|p| p.to_string()),
            Some("6:5".into())
        );
        assert_eq!(root.pos_of(""), None);
        assert_eq!(root.pos_of("spec.containers[0].securityContext["), None);
    }

    #[test]
    fn field_paths_parse_keys_and_indexes() {
        let path = FieldPath::parse("spec.containers[1].ports[0][2].name").unwrap();
        assert_eq!(
            path.steps(),
            &[
                Step::Key("spec".into()),
                Step::Key("containers".into()),
                Step::Index(1),
                Step::Key("ports".into()),
                Step::Index(0),
                Step::Index(2),
                Step::Key("name".into()),
            ]
        );
        assert_eq!(FieldPath::parse("a[x]"), None);
        assert_eq!(FieldPath::parse("a[1"), None);
        assert_eq!(FieldPath::parse("a..b"), None);
        let quoted = FieldPath::parse(r#"metadata.annotations["seccomp.io/pod"].x"#).unwrap();
        assert_eq!(
            quoted.steps(),
            &[
                Step::Key("metadata".into()),
                Step::Key("annotations".into()),
                Step::Key("seccomp.io/pod".into()),
                Step::Key("x".into()),
            ]
        );
    }
}
