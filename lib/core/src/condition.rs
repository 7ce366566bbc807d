//! The Gatus-compatible condition language.
//!
//! A condition compares two operands with one operator:
//!
//! ```text
//! [STATUS] == 200
//! [RESPONSE_TIME] < 500ms
//! [BODY].data.items[0].id == 42
//! len([BODY].items) >= 1
//! has([BODY].errors) == false
//! [IP] == pat(10.*)
//! [STATUS] == any(200, 201, 204)
//! [CERTIFICATE_EXPIRATION] > 48h
//! ```
//!
//! Operands are placeholders (`[STATUS]`, `[RESPONSE_TIME]`, `[BODY]` with an optional
//! JSON path, `[CERTIFICATE_EXPIRATION]`, `[CONNECTED]`, `[IP]`), `len(..)` / `has(..)`
//! of a placeholder, `pat(..)` / `any(..)` (only with `==` / `!=`), or bare literals.
//! Conditions are parsed once into an AST; [`Condition::evaluate`] is pure and cheap.
//!
//! Comparison rules:
//! - `==` / `!=` compare numerically when both sides are numbers (decimal, float, or
//!   `0x`/`0o`/`0b` integers); a duration literal (`48h`, `1h30m`, `500ms`, `7d`) counts
//!   as milliseconds when the other side is `[RESPONSE_TIME]` or
//!   `[CERTIFICATE_EXPIRATION]`; otherwise they compare text.
//! - `<` `<=` `>` `>=` need both sides numeric (durations count as milliseconds); a
//!   non-numeric side makes the condition fail.
//! - A JSON path that is missing, `null`, or read from a non-JSON body has no value: the
//!   condition fails whatever the operator (`has(..)` reports `false` instead).

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::ConditionResult;

/// Longest condition accepted, in characters.
const MAX_CONDITION_CHARS: usize = 1000;
/// Longest value shown in [`ConditionResult::actual`], per side, in characters.
const MAX_SHOWN_CHARS: usize = 200;

const OPERATORS_HINT: &str = "expected one of == != < <= > >=";
const PLACEHOLDERS_HINT: &str = "expected one of [STATUS], [RESPONSE_TIME], [BODY], [CERTIFICATE_EXPIRATION], [CONNECTED], [IP]";

/// What a condition can read from one check.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    pub status: Option<u16>,
    pub response_time_ms: u64,
    pub body: &'a [u8],
    pub connected: bool,
    pub ip: Option<&'a str>,
    /// Time left until the leaf certificate expires (zero once expired); `None` without TLS.
    pub certificate_expiration: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConditionError {
    pub message: String,
}

impl ConditionError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

fn fail<T>(message: impl Into<String>) -> Result<T, ConditionError> {
    Err(ConditionError::new(message))
}

/// A parsed condition such as `[STATUS] == 200`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Condition {
    raw: String,
    left: Operand,
    op: Operator,
    right: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Operator {
    fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// The operator starting at `s`, longest match first.
    fn at(s: &[u8]) -> Option<Self> {
        match s {
            [b'=', b'=', ..] => Some(Self::Eq),
            [b'!', b'=', ..] => Some(Self::Ne),
            [b'<', b'=', ..] => Some(Self::Le),
            [b'>', b'=', ..] => Some(Self::Ge),
            [b'<', ..] => Some(Self::Lt),
            [b'>', ..] => Some(Self::Gt),
            _ => None,
        }
    }

    fn is_ordering(self) -> bool {
        !matches!(self, Self::Eq | Self::Ne)
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering == Ordering::Equal,
            Self::Ne => ordering != Ordering::Equal,
            Self::Lt => ordering == Ordering::Less,
            Self::Le => ordering != Ordering::Greater,
            Self::Gt => ordering == Ordering::Greater,
            Self::Ge => ordering != Ordering::Less,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// A placeholder, possibly wrapped in `len(..)` or `has(..)`.
    Read(Read),
    Literal(Literal),
    /// `pat(..)`: a wildcard pattern.
    Pattern(String),
    /// `any(a, b, c)`.
    Any(Vec<Literal>),
}

impl Operand {
    fn is_read(&self) -> bool {
        matches!(self, Self::Read(_))
    }

    fn is_matcher(&self) -> bool {
        matches!(self, Self::Pattern(_) | Self::Any(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Read {
    func: Func,
    source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Plain,
    Len,
    Has,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Status,
    ResponseTime,
    Body,
    BodyPath(Vec<Step>),
    CertificateExpiration,
    Connected,
    Ip,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A bare value, with its numeric readings worked out at parse time.
#[derive(Debug, Clone, PartialEq)]
struct Literal {
    text: String,
    number: Option<Num>,
    duration_ms: Option<f64>,
}

impl Literal {
    fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            number: parse_number(text),
            duration_ms: parse_duration_ms(text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Self::Int(i) => i as f64,
            Self::Float(f) => f,
        }
    }

    fn compare(self, other: Self) -> Option<Ordering> {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

impl Condition {
    /// Parses a condition such as `[BODY].status == UP`.
    pub fn parse(raw: &str) -> Result<Self, ConditionError> {
        let text = raw.trim();
        if text.is_empty() {
            return fail("empty condition");
        }
        if text.chars().count() > MAX_CONDITION_CHARS {
            return fail(format!(
                "condition is too long: at most {MAX_CONDITION_CHARS} characters"
            ));
        }
        let (at, op) = find_operator(text)?;
        let left_raw = &text[..at];
        let right_raw = &text[at + op.symbol().len()..];
        if left_raw.ends_with(['=', '!', '<', '>']) || right_raw.starts_with(['=', '!', '<', '>']) {
            return fail(format!("unknown operator: {OPERATORS_HINT}"));
        }
        let (left_src, right_src) = (left_raw.trim(), right_raw.trim());
        if left_src.is_empty() {
            return fail("empty left-hand side");
        }
        if right_src.is_empty() {
            return fail("empty right-hand side");
        }
        let left = parse_operand(left_src)?;
        let right = parse_operand(right_src)?;
        if left.is_matcher() && right.is_matcher() {
            return fail("pat() and any() compare a value: only one side can use them");
        }
        if op.is_ordering() && (left.is_matcher() || right.is_matcher()) {
            return fail(format!(
                "pat() and any() only work with == and !=, not {}",
                op.symbol()
            ));
        }
        Ok(Self {
            raw: text.to_owned(),
            left,
            op,
            right,
        })
    }

    /// The condition as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether evaluating needs the response body (any `[BODY]` placeholder).
    pub fn reads_body(&self) -> bool {
        [&self.left, &self.right].into_iter().any(|operand| {
            matches!(
                operand,
                Operand::Read(Read {
                    source: Source::Body | Source::BodyPath(_),
                    ..
                })
            )
        })
    }

    /// Judges one check. `actual` holds the resolved placeholder value(s), e.g. `503`
    /// for `[STATUS] == 200`, or `503 == 200` for `[STATUS] == [BODY].code`.
    ///
    /// To judge several conditions against one check, use [`evaluate_all`]: it parses
    /// the body once for all of them instead of once per condition.
    pub fn evaluate(&self, ctx: &EvalContext<'_>) -> ConditionResult {
        self.evaluate_with(ctx, &BodyCache::new(ctx.body))
    }

    /// Judges one check, reading the body through `body`, which may already hold the
    /// decoded text and parsed JSON from earlier conditions of the same check.
    fn evaluate_with(&self, ctx: &EvalContext<'_>, body: &BodyCache<'_>) -> ConditionResult {
        let left = resolve(&self.left, ctx, body);
        let right = resolve(&self.right, ctx, body);
        let success = compare(&left, self.op, &right);
        let actual = match (self.left.is_read(), self.right.is_read()) {
            (true, true) => format!("{} {} {}", left.shown(), self.op.symbol(), right.shown()),
            (false, true) => right.shown(),
            _ => left.shown(),
        };
        ConditionResult {
            condition: self.raw.clone(),
            success,
            actual,
        }
    }
}

/// Judges one check against every condition, in order: the same results as calling
/// [`Condition::evaluate`] on each, but the body is decoded and parsed as JSON at most
/// once, shared by all the conditions that read it.
pub fn evaluate_all(conditions: &[Condition], ctx: &EvalContext<'_>) -> Vec<ConditionResult> {
    let body = BodyCache::new(ctx.body);
    conditions
        .iter()
        .map(|condition| condition.evaluate_with(ctx, &body))
        .collect()
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl TryFrom<String> for Condition {
    type Error = ConditionError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Condition> for String {
    fn from(value: Condition) -> Self {
        value.raw
    }
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

/// Finds the single comparison operator outside brackets and parentheses. When several
/// are found, the one with whitespace on both sides wins if it is the only such one
/// (so `[BODY] == <b>` works).
fn find_operator(text: &str) -> Result<(usize, Operator), ConditionError> {
    let bytes = text.as_bytes();
    let mut open: Vec<u8> = Vec::new();
    let mut found: Vec<(usize, Operator)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b @ (b'[' | b'(') => open.push(b),
            b @ (b']' | b')') => {
                let expected = if b == b']' { b'[' } else { b'(' };
                if open.pop() != Some(expected) {
                    return fail(unbalanced());
                }
            }
            _ if open.is_empty() => {
                if let Some(op) = Operator::at(&bytes[i..]) {
                    found.push((i, op));
                    i += op.symbol().len();
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if !open.is_empty() {
        return fail(unbalanced());
    }
    match found.as_slice() {
        [] => fail(format!("missing operator: {OPERATORS_HINT}")),
        [single] => Ok(*single),
        many => {
            let spaced: Vec<_> = many
                .iter()
                .filter(|(at, op)| {
                    let before = text[..*at].chars().next_back();
                    let after = text[at + op.symbol().len()..].chars().next();
                    before.is_some_and(char::is_whitespace)
                        && after.is_some_and(char::is_whitespace)
                })
                .collect();
            match spaced.as_slice() {
                [single] => Ok(**single),
                _ => {
                    let ops: Vec<&str> = many.iter().map(|(_, op)| op.symbol()).collect();
                    fail(format!(
                        "more than one operator ({}): a condition compares exactly two values",
                        ops.join(" ")
                    ))
                }
            }
        }
    }
}

fn unbalanced() -> String {
    "unbalanced brackets: every [ and ( needs a matching ] or )".to_owned()
}

fn parse_operand(s: &str) -> Result<Operand, ConditionError> {
    if let Some((name, inner)) = split_call(s)? {
        return match name {
            "len" => parse_read_argument(name, inner, Func::Len),
            "has" => parse_read_argument(name, inner, Func::Has),
            "pat" => Ok(Operand::Pattern(inner.trim().to_owned())),
            "any" => {
                if inner.trim().is_empty() {
                    return fail("any() needs at least one value, e.g. any(200, 201)");
                }
                Ok(Operand::Any(
                    inner.split(',').map(|v| Literal::new(v.trim())).collect(),
                ))
            }
            other => fail(format!(
                "unknown function {other}(): expected len(), has(), pat() or any()"
            )),
        };
    }
    if let Some(source) = parse_placeholder(s)? {
        return Ok(Operand::Read(Read {
            func: Func::Plain,
            source,
        }));
    }
    Ok(Operand::Literal(Literal::new(s)))
}

const FUNCTIONS: [&str; 4] = ["len", "has", "pat", "any"];

/// Splits `name(inner)` when `s` is a call to a lowercase-named function. Text that only
/// looks a bit like one (`Error(x)`, `v1(beta)`, `foo(x) bar`) stays a literal.
fn split_call(s: &str) -> Result<Option<(&str, &str)>, ConditionError> {
    let Some(paren) = s.find('(') else {
        return Ok(None);
    };
    let name = s[..paren].trim_end();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Ok(None);
    }
    let close = matching_paren(s, paren);
    if close == Some(s.len() - 1) {
        return Ok(Some((name, &s[paren + 1..s.len() - 1])));
    }
    if FUNCTIONS.contains(&name) {
        return fail(format!("unexpected text after {name}(...)"));
    }
    Ok(None)
}

/// Byte index of the `)` closing the `(` at `open`, tracking nested brackets.
fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate().skip(open) {
        match b {
            b'(' | b'[' => depth += 1,
            b')' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (b == b')').then_some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_read_argument(name: &str, inner: &str, func: Func) -> Result<Operand, ConditionError> {
    let arg = inner.trim();
    if arg.is_empty() || has_top_level_comma(arg) {
        return fail(format!(
            "{name}() takes one argument, e.g. {name}([BODY].items)"
        ));
    }
    match parse_placeholder(arg)? {
        Some(source) => Ok(Operand::Read(Read { func, source })),
        None => fail(format!(
            "{name}() expects a placeholder such as [BODY].items, got `{arg}`"
        )),
    }
}

fn has_top_level_comma(s: &str) -> bool {
    let mut depth = 0i32;
    s.bytes().any(|b| {
        match b {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            _ => {}
        }
        b == b',' && depth == 0
    })
}

/// `Ok(None)` when `s` does not start with `[NAME]` (e.g. the literal `[1,2]`).
fn parse_placeholder(s: &str) -> Result<Option<Source>, ConditionError> {
    let Some(rest) = s.strip_prefix('[') else {
        return Ok(None);
    };
    let Some(end) = rest.find(']') else {
        return Ok(None);
    };
    let (name, tail) = (&rest[..end], &rest[end + 1..]);
    let is_name = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !is_name {
        return Ok(None);
    }
    let source = match name {
        "STATUS" => Source::Status,
        "RESPONSE_TIME" => Source::ResponseTime,
        "CERTIFICATE_EXPIRATION" => Source::CertificateExpiration,
        "CONNECTED" => Source::Connected,
        "IP" => Source::Ip,
        "BODY" => return parse_body_path(tail).map(Some),
        "DNS_RCODE" | "DOMAIN_EXPIRATION" | "CONTEXT" => {
            return fail(format!("placeholder [{name}] is not supported"));
        }
        _ => {
            let upper = name.to_ascii_uppercase();
            let known = [
                "STATUS",
                "RESPONSE_TIME",
                "BODY",
                "CERTIFICATE_EXPIRATION",
                "CONNECTED",
                "IP",
            ];
            return if known.contains(&upper.as_str()) {
                fail(format!(
                    "unknown placeholder [{name}]: placeholder names are case-sensitive, did you mean [{upper}]?"
                ))
            } else {
                fail(format!("unknown placeholder [{name}]: {PLACEHOLDERS_HINT}"))
            };
        }
    };
    if !tail.is_empty() {
        return fail(format!("unexpected text after [{name}]: `{tail}`"));
    }
    Ok(Some(source))
}

/// Parses what follows `[BODY]`: `.key` and `[index]` steps.
fn parse_body_path(tail: &str) -> Result<Source, ConditionError> {
    if tail.is_empty() {
        return Ok(Source::Body);
    }
    let mut steps = Vec::new();
    let mut rest = tail;
    while let Some(c) = rest.chars().next() {
        match c {
            '.' => {
                let after = &rest[1..];
                let end = after.find(['.', '[', ']']).unwrap_or(after.len());
                let key = &after[..end];
                if key.is_empty() {
                    return fail(format!("empty key in JSON path [BODY]{tail}"));
                }
                steps.push(Step::Key(key.to_owned()));
                rest = &after[end..];
            }
            '[' => {
                let after = &rest[1..];
                let Some(end) = after.find(']') else {
                    return fail(unbalanced());
                };
                let index = &after[..end];
                let parsed = index
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| index.parse::<usize>().ok())
                    .flatten();
                let Some(i) = parsed else {
                    return fail(format!(
                        "JSON path index must be a non-negative integer, got [{index}]"
                    ));
                };
                steps.push(Step::Index(i));
                rest = &after[end + 1..];
            }
            _ => {
                return fail(format!(
                    "unexpected `{rest}` in JSON path: use [BODY].key or [BODY][0]"
                ));
            }
        }
    }
    Ok(Source::BodyPath(steps))
}

/// Decimal integers, floats, and Go-style `0x` / `0o` / `0b` integers.
fn parse_number(s: &str) -> Option<Num> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let radix = match digits.get(..2) {
        Some("0x" | "0X") => Some(16),
        Some("0o" | "0O") => Some(8),
        Some("0b" | "0B") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        let body = &digits[2..];
        if body.is_empty() || body.starts_with(['+', '-']) {
            return None;
        }
        let value = i128::from_str_radix(body, radix).ok()?;
        return Some(Num::Int(if negative { -value } else { value }));
    }
    let numeric_chars = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !numeric_chars || !s.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Ok(i) = s.parse::<i128>() {
        return Some(Num::Int(i));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Num::Float)
}

/// Go duration syntax (`1h30m`, `500ms`, `1.5s`, `-2m`) plus `d` for days, in ms.
fn parse_duration_ms(s: &str) -> Option<f64> {
    let (sign, mut rest) = match s.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_end];
        if !number.bytes().any(|b| b.is_ascii_digit()) || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3_600e3,
            "d" => 86_400e3,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    let ms = sign * total;
    ms.is_finite().then_some(ms)
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

/// The body as text and as JSON, each worked out at most once per check: one cache is
/// shared by all the conditions [`evaluate_all`] judges.
struct BodyCache<'a> {
    bytes: &'a [u8],
    text: OnceCell<String>,
    json: OnceCell<Result<Value, &'static str>>,
}

impl<'a> BodyCache<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            text: OnceCell::new(),
            json: OnceCell::new(),
        }
    }

    /// The body decoded as UTF-8 (lossily) and trimmed, as Gatus does.
    fn text(&self) -> &str {
        self.text
            .get_or_init(|| String::from_utf8_lossy(self.bytes).trim().to_owned())
    }

    fn json(&self) -> Result<&Value, &'static str> {
        self.json
            .get_or_init(|| {
                if self.text().is_empty() {
                    Err("<empty body>")
                } else {
                    serde_json::from_slice(self.bytes).map_err(|_| "<invalid json>")
                }
            })
            .as_ref()
            .map_err(|e| *e)
    }

    /// Follows a JSON path. `null` counts as missing, like Gatus.
    fn lookup(&self, steps: &[Step]) -> Result<&Value, &'static str> {
        let mut value = self.json()?;
        for step in steps {
            let next = match step {
                Step::Key(key) => value.as_object().and_then(|o| o.get(key)),
                Step::Index(i) => value.as_array().and_then(|a| a.get(*i)),
            };
            value = next.ok_or("<missing>")?;
        }
        if value.is_null() {
            return Err("<null>");
        }
        Ok(value)
    }
}

/// One side of a condition, resolved.
enum Side<'x> {
    Scalar(Scalar<'x>),
    /// A placeholder with no value; the text says why (`<missing>`, `<invalid json>`).
    Missing(&'static str),
    Pattern(&'x str),
    Any(&'x [Literal]),
}

struct Scalar<'x> {
    text: Cow<'x, str>,
    number: Option<Num>,
    duration_ms: Option<f64>,
    /// `[RESPONSE_TIME]` / `[CERTIFICATE_EXPIRATION]`: duration literals compare as ms.
    is_duration: bool,
    /// What to show instead of `text`, if anything.
    shown: Option<String>,
}

impl<'x> Scalar<'x> {
    fn literal(literal: &'x Literal) -> Self {
        Self {
            text: Cow::Borrowed(&literal.text),
            number: literal.number,
            duration_ms: literal.duration_ms,
            is_duration: false,
            shown: None,
        }
    }

    fn text(text: impl Into<Cow<'x, str>>) -> Self {
        let text = text.into();
        Self {
            number: parse_number(&text),
            duration_ms: parse_duration_ms(&text),
            text,
            is_duration: false,
            shown: None,
        }
    }

    fn int(value: i128) -> Self {
        Self {
            text: Cow::Owned(value.to_string()),
            number: Some(Num::Int(value)),
            duration_ms: None,
            is_duration: false,
            shown: None,
        }
    }

    fn bool(value: bool) -> Self {
        Self::text(if value { "true" } else { "false" })
    }

    /// Numeric reading for `==` / `!=`.
    fn equality_number(&self, other: &Self) -> Option<Num> {
        self.number.or_else(|| {
            other
                .is_duration
                .then_some(self.duration_ms)
                .flatten()
                .map(Num::Float)
        })
    }

    /// Numeric reading for `<`, `<=`, `>`, `>=`.
    fn ordering_number(&self) -> Option<Num> {
        self.number.or(self.duration_ms.map(Num::Float))
    }
}

impl Side<'_> {
    fn shown(&self) -> String {
        match self {
            Self::Scalar(s) => truncate(s.shown.as_deref().unwrap_or(&s.text)),
            Self::Missing(why) => (*why).to_owned(),
            Self::Pattern(p) => truncate(&format!("pat({p})")),
            Self::Any(values) => {
                let texts: Vec<&str> = values.iter().map(|v| v.text.as_str()).collect();
                truncate(&format!("any({})", texts.join(", ")))
            }
        }
    }
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

fn resolve<'x>(operand: &'x Operand, ctx: &EvalContext<'x>, body: &'x BodyCache<'x>) -> Side<'x> {
    match operand {
        Operand::Literal(literal) => Side::Scalar(Scalar::literal(literal)),
        Operand::Pattern(pattern) => Side::Pattern(pattern),
        Operand::Any(values) => Side::Any(values),
        Operand::Read(read) => resolve_read(read, ctx, body),
    }
}

fn resolve_read<'x>(read: &'x Read, ctx: &EvalContext<'x>, body: &'x BodyCache<'x>) -> Side<'x> {
    let scalar = match &read.source {
        Source::Status => Scalar::int(i128::from(ctx.status.unwrap_or(0))),
        Source::ResponseTime => Scalar {
            is_duration: true,
            ..Scalar::int(i128::from(ctx.response_time_ms))
        },
        Source::CertificateExpiration => {
            // Gatus: no certificate reads as zero.
            let left = ctx.certificate_expiration.unwrap_or_default();
            let shown = match ctx.certificate_expiration {
                Some(d) => format_duration(d),
                None => "0s (no certificate)".to_owned(),
            };
            Scalar {
                is_duration: true,
                shown: Some(shown),
                ..Scalar::int(i128::try_from(left.as_millis()).unwrap_or(i128::MAX))
            }
        }
        Source::Connected => Scalar::bool(ctx.connected),
        Source::Ip => Scalar::text(ctx.ip.unwrap_or("")),
        Source::Body => {
            let text = body.text();
            return Side::Scalar(match read.func {
                Func::Plain => Scalar::text(text),
                Func::Has => Scalar::bool(!text.is_empty()),
                // Gatus: a JSON array body counts elements, anything else characters.
                Func::Len => match text.starts_with('[').then(|| body.json()) {
                    Some(Ok(Value::Array(items))) => Scalar::int(len_i128(items.len())),
                    _ => Scalar::int(len_i128(text.chars().count())),
                },
            });
        }
        Source::BodyPath(steps) => {
            let found = body.lookup(steps);
            return match (read.func, found) {
                (Func::Has, found) => Side::Scalar(Scalar::bool(found.is_ok())),
                (_, Err(why)) => Side::Missing(why),
                (Func::Len, Ok(value)) => Side::Scalar(Scalar::int(len_i128(json_len(value)))),
                (Func::Plain, Ok(value)) => Side::Scalar(json_scalar(value)),
            };
        }
    };
    Side::Scalar(match read.func {
        Func::Plain => scalar,
        Func::Len => Scalar::int(len_i128(scalar.text.chars().count())),
        Func::Has => Scalar::bool(!scalar.text.is_empty()),
    })
}

fn len_i128(len: usize) -> i128 {
    i128::try_from(len).unwrap_or(i128::MAX)
}

/// Strings count characters, arrays elements, objects keys; other values their text.
fn json_len(value: &Value) -> usize {
    match value {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        other => other.to_string().chars().count(),
    }
}

fn json_scalar(value: &Value) -> Scalar<'_> {
    match value {
        Value::String(s) => Scalar::text(s.as_str()),
        Value::Bool(b) => Scalar::bool(*b),
        // Numbers, arrays and objects: their compact JSON text.
        other => Scalar::text(other.to_string()),
    }
}

/// Gatus-style: whole seconds, hours as the largest unit, zero tails dropped
/// (`336h`, `1h30m`, `1h0m15s`, `45s`).
fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, 0) => format!("{h}h{m}m"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

fn compare(left: &Side<'_>, op: Operator, right: &Side<'_>) -> bool {
    match (left, right) {
        (Side::Missing(_), _) | (_, Side::Missing(_)) => false,
        (Side::Pattern(pattern), Side::Scalar(value))
        | (Side::Scalar(value), Side::Pattern(pattern)) => {
            equality(op, wildcard_match(pattern, &value.text))
        }
        (Side::Any(options), Side::Scalar(value)) | (Side::Scalar(value), Side::Any(options)) => {
            let hit = options
                .iter()
                .any(|option| scalars_equal(&Scalar::literal(option), value));
            equality(op, hit)
        }
        (Side::Scalar(a), Side::Scalar(b)) => match op {
            Operator::Eq => scalars_equal(a, b),
            Operator::Ne => !scalars_equal(a, b),
            _ => match (a.ordering_number(), b.ordering_number()) {
                (Some(x), Some(y)) => x.compare(y).is_some_and(|o| op.holds(o)),
                _ => false,
            },
        },
        // Two matchers cannot be parsed.
        _ => false,
    }
}

/// The result of `==` / `!=` given whether the sides are equal; ordering operators
/// never reach here (rejected at parse time).
fn equality(op: Operator, equal: bool) -> bool {
    match op {
        Operator::Eq => equal,
        Operator::Ne => !equal,
        _ => false,
    }
}

fn scalars_equal(a: &Scalar<'_>, b: &Scalar<'_>) -> bool {
    match (a.equality_number(b), b.equality_number(a)) {
        (Some(x), Some(y)) => x.compare(y) == Some(Ordering::Equal),
        _ => a.text == b.text,
    }
}

/// `*` matches any run of characters (including none), `?` exactly one; everything
/// else matches itself.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Last `*` seen, and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &str = r#"{
        "status": "UP",
        "code": 200,
        "code_text": "200",
        "float": 1.5,
        "big": 12345678901234567890,
        "ok": true,
        "off": false,
        "hex": "0x1F",
        "timeout": "30s",
        "name": "john.doe",
        "unicode": "héllo",
        "nothing": null,
        "empty_str": "",
        "empty_arr": [],
        "empty_obj": {},
        "data": {"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], "count": 2},
        "matrix": [[1, 2], [3, [4, 5]]],
        "list": ["hello", "world", "Whatever"],
        "nulls": [null],
        "first": "john",
        "last": "doe",
        "key with space": "spaced",
        "html": "<b>bold</b>"
    }"#;

    fn ctx(body: &str) -> EvalContext<'_> {
        EvalContext {
            status: Some(200),
            response_time_ms: 150,
            body: body.as_bytes(),
            connected: true,
            ip: Some("10.0.0.1"),
            certificate_expiration: Some(Duration::from_secs(72 * 3600)),
        }
    }

    fn eval(condition: &str, ctx: &EvalContext<'_>) -> ConditionResult {
        match Condition::parse(condition) {
            Ok(c) => c.evaluate(ctx),
            Err(e) => panic!("`{condition}` should parse: {e}"),
        }
    }

    /// Checks that [`evaluate_all`] (one body cache shared by every condition) gives
    /// exactly what [`Condition::evaluate`] gives one condition at a time, in both
    /// orders, so no condition sees state left behind by another.
    fn assert_evaluate_all_matches(conditions: &[&str], ctx: &EvalContext<'_>) {
        let mut parsed: Vec<Condition> = conditions
            .iter()
            .map(|c| Condition::parse(c).unwrap())
            .collect();
        for _ in 0..2 {
            let one_by_one: Vec<ConditionResult> = parsed.iter().map(|c| c.evaluate(ctx)).collect();
            assert_eq!(
                evaluate_all(&parsed, ctx),
                one_by_one,
                "on body {:?}",
                String::from_utf8_lossy(ctx.body)
            );
            parsed.reverse();
        }
    }

    /// (condition, success, actual) against [`BODY`] and the default context.
    #[test]
    fn evaluates_against_the_default_context() {
        let cases: &[(&str, bool, &str)] = &[
            // [STATUS] and every operator
            ("[STATUS] == 200", true, "200"),
            ("[STATUS] == 201", false, "200"),
            ("[STATUS] != 500", true, "200"),
            ("[STATUS] != 200", false, "200"),
            ("[STATUS] < 300", true, "200"),
            ("[STATUS] < 200", false, "200"),
            ("[STATUS] <= 200", true, "200"),
            ("[STATUS] <= 199", false, "200"),
            ("[STATUS] > 199", true, "200"),
            ("[STATUS] > 200", false, "200"),
            ("[STATUS] >= 200", true, "200"),
            ("[STATUS] >= 201", false, "200"),
            ("[STATUS]==200", true, "200"),
            ("[STATUS]<300", true, "200"),
            ("  [STATUS]   ==   200  ", true, "200"),
            ("[STATUS] == 200.0", true, "200"),
            ("[STATUS] == 0xC8", true, "200"),
            ("[STATUS] == 0o310", true, "200"),
            ("[STATUS] == 0b11001000", true, "200"),
            ("[STATUS] == +200", true, "200"),
            ("[STATUS] == 2e2", true, "200"),
            ("[STATUS] < 1e3", true, "200"),
            ("200 == [STATUS]", true, "200"),
            ("300 > [STATUS]", true, "200"),
            ("[STATUS] == OK", false, "200"),
            ("[STATUS] < potato", false, "200"),
            ("[STATUS] > potato", false, "200"),
            // [RESPONSE_TIME] with numbers and every duration unit
            ("[RESPONSE_TIME] < 500", true, "150"),
            ("[RESPONSE_TIME] > 500", false, "150"),
            ("[RESPONSE_TIME] == 150", true, "150"),
            ("[RESPONSE_TIME] == 150ms", true, "150"),
            ("[RESPONSE_TIME] != 150ms", false, "150"),
            ("[RESPONSE_TIME] < 500ms", true, "150"),
            ("[RESPONSE_TIME] < 1s", true, "150"),
            ("[RESPONSE_TIME] > 0.1s", true, "150"),
            ("[RESPONSE_TIME] < 1.5s", true, "150"),
            ("[RESPONSE_TIME] < 1m", true, "150"),
            ("[RESPONSE_TIME] < 1h", true, "150"),
            ("[RESPONSE_TIME] < 1d", true, "150"),
            ("[RESPONSE_TIME] > 149999us", true, "150"),
            ("[RESPONSE_TIME] > 149999µs", true, "150"),
            ("[RESPONSE_TIME] > 149999999ns", true, "150"),
            ("[RESPONSE_TIME] < 150000001ns", true, "150"),
            ("[RESPONSE_TIME] < 1m30s", true, "150"),
            ("[RESPONSE_TIME] > -1s", true, "150"),
            ("[RESPONSE_TIME] < potato", false, "150"),
            // [CERTIFICATE_EXPIRATION] (72h left)
            ("[CERTIFICATE_EXPIRATION] > 48h", true, "72h"),
            ("[CERTIFICATE_EXPIRATION] > 96h", false, "72h"),
            ("[CERTIFICATE_EXPIRATION] > 2d", true, "72h"),
            ("[CERTIFICATE_EXPIRATION] < 4d", true, "72h"),
            ("[CERTIFICATE_EXPIRATION] == 3d", true, "72h"),
            ("[CERTIFICATE_EXPIRATION] == 72h", true, "72h"),
            ("[CERTIFICATE_EXPIRATION] == 259200000", true, "72h"),
            ("[CERTIFICATE_EXPIRATION] > 1h30m", true, "72h"),
            ("[CERTIFICATE_EXPIRATION] >= 4320m", true, "72h"),
            // [CONNECTED], [IP]
            ("[CONNECTED] == true", true, "true"),
            ("[CONNECTED] == false", false, "true"),
            ("[CONNECTED] != false", true, "true"),
            ("[IP] == 10.0.0.1", true, "10.0.0.1"),
            ("[IP] != 10.0.0.1", false, "10.0.0.1"),
            ("[IP] == pat(10.*)", true, "10.0.0.1"),
            ("[IP] == pat(192.168.*)", false, "10.0.0.1"),
            ("[IP] == any(1.1.1.1, 10.0.0.1)", true, "10.0.0.1"),
            // [BODY] JSON paths
            ("[BODY].status == UP", true, "UP"),
            ("[BODY].status == DOWN", false, "UP"),
            ("[BODY].status != DOWN", true, "UP"),
            ("[BODY].code == 200", true, "200"),
            ("[BODY].code >= 200", true, "200"),
            ("[BODY].code_text == 200", true, "200"),
            ("[BODY].code_text < 300", true, "200"),
            ("[BODY].float == 1.5", true, "1.5"),
            ("[BODY].float > 1", true, "1.5"),
            ("[BODY].float < 2", true, "1.5"),
            (
                "[BODY].big == 12345678901234567890",
                true,
                "12345678901234567890",
            ),
            (
                "[BODY].big > 12345678901234567889",
                true,
                "12345678901234567890",
            ),
            ("[BODY].ok == true", true, "true"),
            ("[BODY].off == false", true, "false"),
            ("[BODY].hex == 31", true, "0x1F"),
            ("[BODY].timeout < 1m", true, "30s"),
            ("[BODY].timeout == 30s", true, "30s"),
            ("[BODY].name == john.doe", true, "john.doe"),
            ("[BODY].data.count == 2", true, "2"),
            ("[BODY].data.items[0].id == 1", true, "1"),
            ("[BODY].data.items[1].name == b", true, "b"),
            (
                "[BODY].data.items[1].id > [BODY].data.items[0].id",
                true,
                "2 > 1",
            ),
            ("[BODY].matrix[0][1] == 2", true, "2"),
            ("[BODY].matrix[1][1][0] == 4", true, "4"),
            ("[BODY].matrix[1][1] == [4,5]", true, "[4,5]"),
            ("[BODY].empty_arr == []", true, "[]"),
            ("[BODY].empty_obj == {}", true, "{}"),
            (
                "[BODY].data.items[0] == pat(*\"id\":1*)",
                true,
                "{\"id\":1,\"name\":\"a\"}",
            ),
            (
                "[BODY].list == pat(*Whatever*)",
                true,
                "[\"hello\",\"world\",\"Whatever\"]",
            ),
            ("[BODY].key with space == spaced", true, "spaced"),
            ("[BODY].html == <b>bold</b>", true, "<b>bold</b>"),
            ("[BODY].first != [BODY].last", true, "john != doe"),
            ("[BODY].first == [BODY].last", false, "john == doe"),
            ("[STATUS] == [BODY].code", true, "200 == 200"),
            ("[BODY].empty_str == pat()", true, ""),
            // missing, null, wrong shape: always fail, whatever the operator
            ("[BODY].missing == x", false, "<missing>"),
            ("[BODY].missing != x", false, "<missing>"),
            ("[BODY].missing < 1", false, "<missing>"),
            ("[BODY].data.items[5].id == 1", false, "<missing>"),
            ("[BODY].data.items.id == 1", false, "<missing>"),
            ("[BODY].data[0] == 1", false, "<missing>"),
            ("[BODY].status.deeper == 1", false, "<missing>"),
            ("[BODY][0] == 1", false, "<missing>"),
            ("[BODY].nothing == null", false, "<null>"),
            ("[BODY].nulls[0] == null", false, "<null>"),
            ("[BODY].missing == pat(*)", false, "<missing>"),
            ("[BODY].missing == any(a, b)", false, "<missing>"),
            ("[STATUS] == [BODY].missing", false, "200 == <missing>"),
            // len()
            ("len([BODY].data.items) == 2", true, "2"),
            ("len([BODY].data) == 2", true, "2"),
            ("len([BODY].empty_arr) == 0", true, "0"),
            ("len([BODY].empty_obj) == 0", true, "0"),
            ("len([BODY].empty_str) == 0", true, "0"),
            ("len([BODY].name) == 8", true, "8"),
            ("len([BODY].name) > 5", true, "8"),
            ("len([BODY].unicode) == 5", true, "5"),
            ("len([BODY].code) == 3", true, "3"),
            ("len([BODY].ok) == 4", true, "4"),
            ("len([BODY].matrix[1]) == 2", true, "2"),
            ("len([BODY].missing) == 0", false, "<missing>"),
            ("len([BODY].nothing) == 0", false, "<null>"),
            ("len([STATUS]) == 3", true, "3"),
            ("len([IP]) == 8", true, "8"),
            ("len([CONNECTED]) == 4", true, "4"),
            ("len( [BODY].name ) == 8", true, "8"),
            // has()
            ("has([BODY].status) == true", true, "true"),
            ("has([BODY].missing) == false", true, "false"),
            ("has([BODY].missing) == true", false, "false"),
            ("has([BODY].nothing) == false", true, "false"),
            ("has([BODY].empty_str) == true", true, "true"),
            ("has([BODY].data.items[1].name) == true", true, "true"),
            ("has([BODY].data.items[2]) == false", true, "false"),
            ("has([BODY]) == true", true, "true"),
            ("has([IP]) == true", true, "true"),
            ("has([STATUS]) == true", true, "true"),
            ("has([BODY].status) != false", true, "true"),
            // pat() and any() on either side
            ("[BODY].name == pat(john*)", true, "john.doe"),
            ("[BODY].name == pat(bob*)", false, "john.doe"),
            ("[BODY].name != pat(bob*)", true, "john.doe"),
            ("[BODY].name == pat(john?doe)", true, "john.doe"),
            ("[BODY].name == pat(john??doe)", false, "john.doe"),
            ("[BODY].name == pat(*)", true, "john.doe"),
            ("[BODY].name == pat(*.*)", true, "john.doe"),
            ("[BODY].name == pat(*doe)", true, "john.doe"),
            ("[BODY].name == pat(*john)", false, "john.doe"),
            ("[BODY].name == pat( john* )", true, "john.doe"),
            ("[BODY].unicode == pat(h?llo)", true, "héllo"),
            ("pat(john*) == [BODY].name", true, "john.doe"),
            ("[STATUS] == pat(2*)", true, "200"),
            ("[STATUS] == pat(4*)", false, "200"),
            ("[STATUS] == pat(2?0)", true, "200"),
            ("[STATUS] == any(200, 201)", true, "200"),
            ("[STATUS] == any(404, 500)", false, "200"),
            ("[STATUS] != any(404, 500)", true, "200"),
            ("[STATUS] == any(200)", true, "200"),
            ("[STATUS] == any(200.0, 0x1)", true, "200"),
            ("any(201, 200) == [STATUS]", true, "200"),
            ("[BODY].name == any(jane.doe, john.doe)", true, "john.doe"),
            ("[RESPONSE_TIME] == any(150ms, 1s)", true, "150"),
            // literals on both sides (Gatus allows them)
            ("1 == 1", true, "1"),
            ("1 == 2", false, "1"),
            ("raw == raw", true, "raw"),
            ("a == pat(a*)", true, "a"),
            ("[1,2] == [1,2]", true, "[1,2]"),
            ("v1(beta) == v1(beta)", true, "v1(beta)"),
        ];
        let body_ctx = ctx(BODY);
        for (condition, success, actual) in cases {
            let result = eval(condition, &body_ctx);
            assert_eq!(result.success, *success, "success of `{condition}`");
            assert_eq!(result.actual, *actual, "actual of `{condition}`");
            assert_eq!(
                result.condition,
                condition.trim(),
                "condition of `{condition}`"
            );
        }
        let conditions: Vec<&str> = cases.iter().map(|case| case.0).collect();
        assert_evaluate_all_matches(&conditions, &body_ctx);
    }

    /// (body, condition, success, actual) for bodies other than [`BODY`].
    #[test]
    fn evaluates_against_other_bodies() {
        let long = "x".repeat(500);
        let truncated = format!("{}…", "x".repeat(MAX_SHOWN_CHARS));
        let cases: &[(&str, &str, bool, &str)] = &[
            // whole [BODY] as text, trimmed
            ("test", "[BODY] == test", true, "test"),
            ("  test\n", "[BODY] == test", true, "test"),
            ("123", "[BODY] == 123", true, "123"),
            ("123", "[BODY] < 124", true, "123"),
            ("100", "[BODY] > 123", false, "100"),
            ("", "[BODY] == pat()", true, ""),
            (
                "<html><div id=\"user\">john.doe</div></html>",
                "[BODY] == pat(*<div id=\"user\">john.doe</div>*)",
                true,
                "<html><div id=\"user\">john.doe</div></html>",
            ),
            (
                "{\"name\": \"john.doe\"}",
                "[BODY] == pat(*john*)",
                true,
                "{\"name\": \"john.doe\"}",
            ),
            (long.as_str(), "[BODY] == y", false, truncated.as_str()),
            (long.as_str(), "[BODY] == pat(x*)", true, truncated.as_str()),
            // JSON paths on arrays at the root
            ("[{\"id\": 1}, {\"id\": 2}]", "[BODY][0].id == 1", true, "1"),
            ("[{\"id\": 1}, {\"id\": 2}]", "[BODY][1].id == 2", true, "2"),
            (
                "[{\"id\": 1}, {\"id\": 2}]",
                "[BODY][2].id == 2",
                false,
                "<missing>",
            ),
            ("[[1, 2], [3]]", "[BODY][0][1] == 2", true, "2"),
            ("[{\"id\": 1}]", "[BODY].id == 1", false, "<missing>"),
            (
                "{\"statusCode\": 500}",
                "[BODY][0].name == test",
                false,
                "<missing>",
            ),
            ("null", "[BODY].data == OK", false, "<missing>"),
            ("{\"data\": null}", "[BODY].data == OK", false, "<null>"),
            ("\"text\"", "[BODY].a == 1", false, "<missing>"),
            (
                "{\"a\":{\"b\":[0,[10,20,30]]}}",
                "[BODY].a.b[1][2] == 30",
                true,
                "30",
            ),
            // non-JSON and empty bodies
            ("not json", "[BODY].status == UP", false, "<invalid json>"),
            ("not json", "[BODY].status != UP", false, "<invalid json>"),
            (
                "{\"unterminated\": ",
                "[BODY].unterminated == 1",
                false,
                "<invalid json>",
            ),
            ("", "[BODY].status == UP", false, "<empty body>"),
            ("not json", "has([BODY].status) == false", true, "false"),
            ("", "has([BODY].status) == false", true, "false"),
            (
                "not json",
                "len([BODY].items) == 0",
                false,
                "<invalid json>",
            ),
            // len([BODY]): array bodies count elements, others characters (Gatus)
            (
                "[{\"id\": 1}, {\"id\": 2}, {\"id\": 3}]",
                "len([BODY]) == 3",
                true,
                "3",
            ),
            ("john.doe", "len([BODY]) == 8", true, "8"),
            ("  john.doe  ", "len([BODY]) == 8", true, "8"),
            ("{\"name\": \"john.doe\"}", "len([BODY]) == 20", true, "20"),
            ("", "len([BODY]) == 0", true, "0"),
            ("[not json", "len([BODY]) == 9", true, "9"),
            (
                "[{\"age\":18,\"adult\":true}]",
                "len([BODY][0]) == 2",
                true,
                "2",
            ),
            (
                "[{\"age\":18,\"adult\":true}]",
                "len([BODY][0].age) == 2",
                true,
                "2",
            ),
            // has([BODY])
            ("", "has([BODY]) == false", true, "false"),
            ("   ", "has([BODY]) == false", true, "false"),
            ("x", "has([BODY]) == true", true, "true"),
            ("café", "[BODY] == café", true, "café"),
        ];
        for (body, condition, success, actual) in cases {
            let result = eval(condition, &ctx(body));
            assert_eq!(
                result.success, *success,
                "success of `{condition}` on {body:?}"
            );
            assert_eq!(
                result.actual, *actual,
                "actual of `{condition}` on {body:?}"
            );
        }
        let invalid_utf8 = EvalContext {
            body: b"ok\xff",
            ..ctx("")
        };
        // Invalid UTF-8 is read lossily.
        assert!(eval("[BODY] == ok\u{fffd}", &invalid_utf8).success);
        // Every condition of the table against every body of the table, at once.
        let conditions: Vec<&str> = cases.iter().map(|case| case.1).collect();
        for body in cases.iter().map(|case| case.0).chain([BODY]) {
            assert_evaluate_all_matches(&conditions, &ctx(body));
        }
        assert_evaluate_all_matches(&conditions, &invalid_utf8);
    }

    #[test]
    fn evaluates_contexts_without_a_response() {
        let down = EvalContext {
            status: None,
            response_time_ms: 0,
            body: b"",
            connected: false,
            ip: None,
            certificate_expiration: None,
        };
        let cases: &[(&str, bool, &str)] = &[
            ("[STATUS] == 0", true, "0"),
            ("[STATUS] == 200", false, "0"),
            ("[CONNECTED] == false", true, "false"),
            ("[CONNECTED] == true", false, "false"),
            ("[IP] == pat(*)", true, ""),
            ("has([IP]) == false", true, "false"),
            ("len([IP]) == 0", true, "0"),
            (
                "[CERTIFICATE_EXPIRATION] > 48h",
                false,
                "0s (no certificate)",
            ),
            ("[CERTIFICATE_EXPIRATION] == 0", true, "0s (no certificate)"),
            ("[RESPONSE_TIME] == 0ms", true, "0"),
            ("[RESPONSE_TIME] == 0", true, "0"),
        ];
        for (condition, success, actual) in cases {
            let result = eval(condition, &down);
            assert_eq!(result.success, *success, "success of `{condition}`");
            assert_eq!(result.actual, *actual, "actual of `{condition}`");
        }
        let conditions: Vec<&str> = cases.iter().map(|case| case.0).collect();
        assert_evaluate_all_matches(&conditions, &down);
    }

    #[test]
    fn evaluate_all_of_nothing_is_nothing() {
        assert!(evaluate_all(&[], &ctx(BODY)).is_empty());
    }

    /// The conditions of one check read the body through the cache they are handed,
    /// not by parsing the bytes again: a cache whose JSON was already worked out (here
    /// deliberately different from the bytes) is what every condition sees.
    #[test]
    fn conditions_share_the_body_cache_they_are_given() {
        let context = ctx(r#"{"a": 1, "items": [1]}"#);
        let body = BodyCache::new(context.body);
        let preset = serde_json::json!({"a": 2, "items": [1, 2, 3]});
        assert!(body.json.set(Ok(preset)).is_ok());
        let conditions = [
            "[BODY].a == 2",
            "len([BODY].items) == 3",
            "has([BODY].items) == true",
            "[BODY].a == [BODY].items[1]",
        ];
        for condition in conditions {
            let result = Condition::parse(condition)
                .unwrap()
                .evaluate_with(&context, &body);
            assert!(result.success, "{condition}: {result:?}");
        }
        // A fresh cache per condition (what `evaluate` does) sees the real bytes.
        let fresh = eval("[BODY].a == 2", &context);
        assert!(!fresh.success);
        assert_eq!(fresh.actual, "1");
        // And the cache filled by one condition serves the next one.
        let body = BodyCache::new(context.body);
        assert!(body.json.get().is_none());
        let first = Condition::parse("[BODY].a == 1").unwrap();
        assert!(first.evaluate_with(&context, &body).success);
        let parsed = body.json.get().expect("parsed by the first condition");
        let parsed_at: *const _ = parsed;
        let second = Condition::parse("len([BODY].items) == 1").unwrap();
        assert!(second.evaluate_with(&context, &body).success);
        assert!(std::ptr::eq(parsed_at, body.json.get().unwrap()));
        // Conditions that do not read the body never parse it.
        let lazy = BodyCache::new(context.body);
        for condition in [
            "[STATUS] == 200",
            "[IP] == pat(10.*)",
            "[CONNECTED] == true",
        ] {
            let _ = Condition::parse(condition)
                .unwrap()
                .evaluate_with(&context, &lazy);
        }
        assert!(lazy.json.get().is_none() && lazy.text.get().is_none());
    }

    #[test]
    fn shows_certificate_expiration_as_a_duration() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (90, "1m30s"),
            (3600, "1h"),
            (5400, "1h30m"),
            (3615, "1h0m15s"),
            (3610, "1h0m10s"),
            (336 * 3600, "336h"),
        ];
        for (secs, shown) in cases {
            let c = EvalContext {
                certificate_expiration: Some(Duration::from_millis(secs * 1000 + 999)),
                ..ctx("")
            };
            assert_eq!(eval("[CERTIFICATE_EXPIRATION] > 0", &c).actual, *shown);
        }
    }

    /// (condition, part of the error message).
    #[test]
    fn rejects_bad_conditions() {
        let too_long = format!("[BODY].a == {}", "x".repeat(MAX_CONDITION_CHARS));
        let cases: &[(&str, &str)] = &[
            ("", "empty condition"),
            ("   ", "empty condition"),
            (too_long.as_str(), "too long"),
            (
                "[STATUS]",
                "missing operator: expected one of == != < <= > >=",
            ),
            ("[STATUS] ? 201", "missing operator"),
            ("[STATUS] = 201", "missing operator"),
            ("[STATUS] = = 201", "missing operator"),
            ("[STATUS] ==", "empty right-hand side"),
            ("== 200", "empty left-hand side"),
            ("  <= 200", "empty left-hand side"),
            ("[STATUS] === 200", "unknown operator"),
            ("[STATUS] !== 200", "unknown operator"),
            ("[STATUS] => 200", "unknown operator"),
            ("[STATUS] =< 200", "unknown operator"),
            ("[STATUS] == 200 == 200", "more than one operator"),
            ("[STATUS] < 200 > 100", "more than one operator"),
            ("[STATUS]<>200", "more than one operator"),
            ("[FOO] == 1", "unknown placeholder [FOO]"),
            ("[status] == 200", "did you mean [STATUS]"),
            ("[Body].a == 1", "did you mean [BODY]"),
            ("[DNS_RCODE] == NOERROR", "not supported"),
            ("[DOMAIN_EXPIRATION] > 720h", "not supported"),
            ("[CONTEXT].user == 1", "not supported"),
            ("1 == [NOPE]", "unknown placeholder [NOPE]"),
            ("[STATUS].code == 1", "unexpected text after [STATUS]"),
            ("[STATUS][0] == 1", "unexpected text after [STATUS]"),
            ("[BODY].data[0 == 1", "unbalanced brackets"),
            ("[BODY.data == 1", "unbalanced brackets"),
            ("[BODY]].data == 1", "unbalanced brackets"),
            ("len([BODY] == 1", "unbalanced brackets"),
            ("len([BODY])) == 1", "unbalanced brackets"),
            ("[BODY].a == (x", "unbalanced brackets"),
            ("[BODY].a == x)", "unbalanced brackets"),
            ("[BODY].a == [(])", "unbalanced brackets"),
            ("[BODY]..a == 1", "empty key in JSON path"),
            ("[BODY]. == 1", "empty key in JSON path"),
            ("[BODY].a. == 1", "empty key in JSON path"),
            ("[BODY][x] == 1", "index must be a non-negative integer"),
            ("[BODY][-1] == 1", "index must be a non-negative integer"),
            ("[BODY][] == 1", "index must be a non-negative integer"),
            (
                "[BODY][99999999999999999999999] == 1",
                "index must be a non-negative integer",
            ),
            ("[BODY]x == 1", "unexpected `x` in JSON path"),
            ("[BODY][0]x == 1", "unexpected `x` in JSON path"),
            ("len() == 1", "len() takes one argument"),
            ("len([BODY].a, [BODY].b) == 1", "len() takes one argument"),
            ("has() == true", "has() takes one argument"),
            ("len(foo) == 1", "len() expects a placeholder"),
            ("len(has([BODY])) == 1", "len() expects a placeholder"),
            ("has(1) == true", "has() expects a placeholder"),
            ("len([FOO]) == 1", "unknown placeholder [FOO]"),
            ("len([BODY]) + 1 == 2", "unexpected text after len(...)"),
            ("foo([BODY]) == 1", "unknown function foo()"),
            ("[STATUS] == size(2)", "unknown function size()"),
            ("[STATUS] == any()", "any() needs at least one value"),
            ("[STATUS] == any(  )", "any() needs at least one value"),
            ("[STATUS] < pat(2*)", "only work with == and !="),
            ("[STATUS] >= any(1, 2)", "only work with == and !="),
            ("pat(a) == any(a)", "only one side"),
            ("pat(a) == pat(a)", "only one side"),
        ];
        for (condition, expected) in cases {
            match Condition::parse(condition) {
                Ok(c) => panic!("`{condition}` should not parse, got {c:?}"),
                Err(e) => assert!(
                    e.message.contains(expected),
                    "`{condition}`: expected an error containing {expected:?}, got {:?}",
                    e.message
                ),
            }
        }
    }

    #[test]
    fn accepts_conditions_up_to_the_length_limit() {
        let prefix = "[BODY] == ";
        let at_limit = format!("{prefix}{}", "x".repeat(MAX_CONDITION_CHARS - prefix.len()));
        assert!(Condition::parse(&at_limit).is_ok());
        let over = format!("{at_limit}x");
        assert!(Condition::parse(&over).is_err());
    }

    #[test]
    fn as_str_is_the_trimmed_text() {
        let c = Condition::parse("  [STATUS] == 200 \n").unwrap();
        assert_eq!(c.as_str(), "[STATUS] == 200");
        assert_eq!(c.to_string(), "[STATUS] == 200");
        assert_eq!(String::from(c), "[STATUS] == 200");
    }

    #[test]
    fn reads_body_only_for_body_placeholders() {
        let cases: &[(&str, bool)] = &[
            ("[BODY] == x", true),
            ("[BODY].a == x", true),
            ("[BODY][0] == x", true),
            ("len([BODY]) > 0", true),
            ("has([BODY].errors) == false", true),
            ("[STATUS] == [BODY].code", true),
            ("[STATUS] == 200", false),
            ("[RESPONSE_TIME] < 1s", false),
            ("[CERTIFICATE_EXPIRATION] > 48h", false),
            ("[CONNECTED] == true", false),
            ("[IP] == pat([BODY]*)", false),
            ("[STATUS] == any([BODY], 1)", false),
        ];
        for (condition, reads) in cases {
            let c = Condition::parse(condition).unwrap();
            assert_eq!(c.reads_body(), *reads, "reads_body of `{condition}`");
        }
    }

    #[test]
    fn serializes_as_a_string() {
        let c: Condition = serde_json::from_str("\" [STATUS] == 200 \"").unwrap();
        assert_eq!(c.as_str(), "[STATUS] == 200");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"[STATUS] == 200\"");
        let bad = serde_json::from_str::<Condition>("\"[FOO] == 1\"").unwrap_err();
        assert!(bad.to_string().contains("unknown placeholder [FOO]"));
        let list: Vec<Condition> =
            serde_json::from_str(r#"["[STATUS] == 200", "len([BODY]) > 0"]"#).unwrap();
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn equal_text_parses_to_equal_conditions() {
        assert_eq!(
            Condition::parse("[STATUS] == 200").unwrap(),
            Condition::parse(" [STATUS] == 200 ").unwrap()
        );
        assert_ne!(
            Condition::parse("[STATUS] == 200").unwrap(),
            Condition::parse("[STATUS] == 201").unwrap()
        );
    }

    #[test]
    fn parses_durations() {
        let cases: &[(&str, Option<f64>)] = &[
            ("0", Some(0.0)),
            ("0s", Some(0.0)),
            ("500ms", Some(500.0)),
            ("1s", Some(1_000.0)),
            ("1.5s", Some(1_500.0)),
            (".5s", Some(500.0)),
            ("30m", Some(1_800_000.0)),
            ("48h", Some(172_800_000.0)),
            ("1h30m", Some(5_400_000.0)),
            ("1h30m15s", Some(5_415_000.0)),
            ("7d", Some(604_800_000.0)),
            ("1d12h", Some(129_600_000.0)),
            ("1000us", Some(1.0)),
            ("1000µs", Some(1.0)),
            ("1000000ns", Some(1.0)),
            ("-1m", Some(-60_000.0)),
            ("+1m", Some(60_000.0)),
            ("", None),
            ("1", None),
            ("h", None),
            ("1x", None),
            ("1.2.3s", None),
            ("1h 30m", None),
            ("ms", None),
            ("-", None),
            ("1hh", None),
        ];
        for (text, ms) in cases {
            assert_eq!(parse_duration_ms(text), *ms, "duration {text:?}");
        }
    }

    #[test]
    fn parses_numbers() {
        let cases: &[(&str, Option<Num>)] = &[
            ("0", Some(Num::Int(0))),
            ("-12", Some(Num::Int(-12))),
            ("+12", Some(Num::Int(12))),
            ("1.5", Some(Num::Float(1.5))),
            ("1e3", Some(Num::Float(1000.0))),
            ("0x1F", Some(Num::Int(31))),
            ("-0x10", Some(Num::Int(-16))),
            ("0o17", Some(Num::Int(15))),
            ("0b101", Some(Num::Int(5))),
            ("010", Some(Num::Int(10))),
            ("", None),
            ("-", None),
            ("e", None),
            ("inf", None),
            ("NaN", None),
            ("1e999", None),
            ("0x", None),
            ("0x-1", None),
            ("0xZZ", None),
            ("12a", None),
            ("1.2.3", None),
        ];
        for (text, number) in cases {
            assert_eq!(parse_number(text), *number, "number {text:?}");
        }
    }

    #[test]
    fn matches_wildcards() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything/at/all", true),
            ("", "", true),
            ("", "a", false),
            ("a", "a", true),
            ("a", "b", false),
            ("?", "a", true),
            ("?", "", false),
            ("?", "ab", false),
            ("a*c", "abc", true),
            ("a*c", "ac", true),
            ("a*c", "abd", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b*", "xxbxxaxx", false),
            ("a**b", "ab", true),
            ("*.example.com", "api.example.com", true),
            ("*.example.com", "example.com", false),
            ("10.*.*.1", "10.0.0.1", true),
            ("h?llo", "héllo", true),
            ("*aab", "aaaab", true),
        ];
        for (pattern, text, matched) in cases {
            assert_eq!(
                wildcard_match(pattern, text),
                *matched,
                "pat({pattern}) vs {text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC{0,200}") {
            let _ = Condition::parse(&raw);
        }

        #[test]
        fn parse_never_panics_on_condition_like_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("[BODY]"), Just("[STATUS]"), Just("[FOO]"), Just("len("), Just("has("),
                    Just("pat("), Just("any("), Just(")"), Just("("), Just("["), Just("]"),
                    Just("."), Just(","), Just(" "), Just("=="), Just("!="), Just("<"),
                    Just("<="), Just(">"), Just(">="), Just("="), Just("!"), Just("0"),
                    Just("1h"), Just("x"), Just("*"), Just("?"), Just("é"),
                ],
                0..20,
            )
        ) {
            let raw = parts.concat();
            if let Ok(c) = Condition::parse(&raw) {
                let _ = c.evaluate(&ctx(BODY));
                prop_assert_eq!(c.as_str(), raw.trim());
            }
        }

        #[test]
        fn evaluate_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let conditions = [
                "[BODY] == x", "[BODY] < 5", "[BODY].a == 1", "[BODY][0] > 1s",
                "[BODY].a.b[1][2] != 3", "len([BODY]) > 0", "len([BODY].a) == 2",
                "has([BODY].a) == true", "[BODY] == pat(*x?*)", "[BODY].a == any(1, 2)",
                "[STATUS] == [BODY].code", "[CERTIFICATE_EXPIRATION] > [BODY]",
            ];
            let c = EvalContext { body: &body, ..ctx("") };
            for condition in conditions {
                let result = Condition::parse(condition).unwrap().evaluate(&c);
                prop_assert!(result.actual.chars().count() <= 2 * MAX_SHOWN_CHARS + 10);
            }
            assert_evaluate_all_matches(&conditions, &c);
        }

        #[test]
        fn evaluate_never_panics_on_json_bodies(body in "[\\[\\]{}\",:0-9a-z. ]{0,200}") {
            let c = EvalContext { body: body.as_bytes(), ..ctx("") };
            for condition in ["[BODY][0][1].a == 1", "len([BODY][0]) > 1", "has([BODY].a[0]) == true"] {
                let _ = Condition::parse(condition).unwrap().evaluate(&c);
            }
        }
    }
}
