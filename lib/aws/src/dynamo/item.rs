//! Reading and writing attribute maps.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::AwsError;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// A 20-digit string whose string order is the numeric order of `value`, for every
/// `i64` (negative ones included): flipping the sign bit maps `i64` order onto `u64`.
pub fn sortable(value: i64) -> String {
    format!("{:020}", (value as u64) ^ (1 << 63))
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The key of an item.
pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Epoch seconds for the TTL attribute: the end of `at_ms`'s second, plus `margin_s`.
pub(crate) fn ttl_seconds(at_ms: i64, margin_s: i64) -> i64 {
    at_ms
        .div_euclid(1000)
        .saturating_add(1)
        .saturating_add(margin_s)
}

fn corrupt(item: &Item, name: &str, what: &str) -> AwsError {
    let pk = match item.get("pk") {
        Some(AttributeValue::S(pk)) => pk.as_str(),
        _ => "?",
    };
    AwsError::Corrupt(format!(
        "{what} {pk}: attribute {name} is missing or malformed"
    ))
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str, what: &str) -> Result<&'a str, AwsError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(item, name, what)),
    }
}

pub(crate) fn opt_s<'a>(
    item: &'a Item,
    name: &str,
    what: &str,
) -> Result<Option<&'a str>, AwsError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        Some(_) => Err(corrupt(item, name, what)),
    }
}

pub(crate) fn get_n<T: FromStr>(item: &Item, name: &str, what: &str) -> Result<T, AwsError> {
    opt_n(item, name, what)?.ok_or_else(|| corrupt(item, name, what))
}

pub(crate) fn opt_n<T: FromStr>(
    item: &Item,
    name: &str,
    what: &str,
) -> Result<Option<T>, AwsError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| corrupt(item, name, what)),
        Some(_) => Err(corrupt(item, name, what)),
    }
}

pub(crate) fn get_n_list(item: &Item, name: &str, what: &str) -> Result<Vec<i64>, AwsError> {
    match item.get(name) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::N(raw) => raw.parse().map_err(|_| corrupt(item, name, what)),
                _ => Err(corrupt(item, name, what)),
            })
            .collect(),
        _ => Err(corrupt(item, name, what)),
    }
}

/// `limit` as the `Limit` of one DynamoDB page.
fn page_limit(limit: usize) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}

/// The items `query` finds, page after page: the first `limit` of them, or all with
/// `None`.
pub(crate) async fn query_pages(
    query: QueryFluentBuilder,
    limit: Option<usize>,
) -> Result<Vec<Item>, AwsError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let left = limit.map(|limit| limit.saturating_sub(items.len()));
        if left == Some(0) {
            break;
        }
        let page = query
            .clone()
            .set_limit(left.map(page_limit))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| AwsError::sdk("DynamoDB Query", e))?;
        items.extend(page.items().iter().cloned());
        match page.last_evaluated_key {
            Some(next) if !next.is_empty() => start = Some(next),
            _ => break,
        }
    }
    if let Some(limit) = limit {
        items.truncate(limit);
    }
    Ok(items)
}

/// Just `pk` and `sk` of an item.
pub(crate) fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| *name == "pk" || *name == "sk")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_strings_order_like_the_numbers() {
        let values = [i64::MIN, -1_000, -1, 0, 1, 999, 1_767_225_600_000, i64::MAX];
        for pair in values.windows(2) {
            let (a, b) = (sortable(pair[0]), sortable(pair[1]));
            assert_eq!(a.len(), 20);
            assert!(
                a < b,
                "{} -> {a} must sort before {} -> {b}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn ttl_is_after_the_instant() {
        assert_eq!(ttl_seconds(60_000, 0), 61);
        assert_eq!(ttl_seconds(60_999, 10), 71);
    }
}
