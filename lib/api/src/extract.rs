//! Extractors that reject in our JSON error shape instead of axum's plain text.
//!
//! Use [`ApiQuery`] and [`ApiPath`] in place of axum's `Query` and `Path`; they behave the
//! same when the request is fine and turn every rejection into an [`ApiError`].

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, path::ErrorKind};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Longest piece of a deserializer's message we echo back to the client.
const MAX_DETAIL_CHARS: usize = 200;

/// axum's `Query`, rejecting with 400 `invalid_query` (and the offending `field` when the
/// deserializer names one).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_error(&rejection)),
        }
    }
}

/// axum's `Path`, rejecting with 400 `invalid_path` when a segment is not valid UTF-8 once
/// percent-decoded, and 404 `not_found` when a segment does not parse as the expected type
/// (no resource can have that name). A route whose parameters do not fit its extractor is
/// our bug and answers 500 `internal`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_error(&rejection)),
        }
    }
}

fn query_error(rejection: &QueryRejection) -> ApiError {
    // The rejection's source is the deserializer's own message, without axum's prefix.
    let detail = match rejection {
        QueryRejection::FailedToDeserializeQueryString(e) => {
            std::error::Error::source(e).map_or_else(|| e.body_text(), ToString::to_string)
        }
        other => other.body_text(),
    };
    let detail: String = detail.chars().take(MAX_DETAIL_CHARS).collect();
    ApiError::BadRequest {
        code: "invalid_query",
        field: query_field(&detail),
        message: format!("invalid query string: {detail}"),
    }
}

/// The field a query deserialization message is about, if it names one: either the
/// `path: ` prefix added by `serde_path_to_error` or serde's "... field `name`".
fn query_field(detail: &str) -> Option<String> {
    if let Some((path, _)) = detail.split_once(": ")
        && !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']'))
    {
        return Some(path.to_owned());
    }
    let (_, rest) = detail.split_once("field `")?;
    let (name, _) = rest.split_once('`')?;
    (!name.is_empty()).then(|| name.to_owned())
}

fn path_error(rejection: &PathRejection) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(e) = rejection else {
        // `MissingPathParams` (extractor used outside a route with parameters) and
        // anything axum adds later: a server-side mistake, not the client's.
        return ApiError::Internal(rejection.body_text());
    };
    match e.kind() {
        ErrorKind::InvalidUtf8InPathParam { key } => ApiError::BadRequest {
            code: "invalid_path",
            message: format!("path parameter `{key}` is not valid UTF-8"),
            field: Some(key.clone()),
        },
        ErrorKind::WrongNumberOfParameters { .. } | ErrorKind::UnsupportedType { .. } => {
            ApiError::Internal(e.body_text())
        }
        // The segment decoded fine but is not a valid name for anything here.
        _ => ApiError::NotFound {
            message: "not found".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::query_field;

    #[test]
    fn query_field_comes_from_the_message() {
        assert_eq!(
            query_field("duplicate field `kind`").as_deref(),
            Some("kind")
        );
        assert_eq!(
            query_field("unknown field `x`, expected one of `a`, `b`").as_deref(),
            Some("x")
        );
        assert_eq!(
            query_field("period: invalid digit found in string").as_deref(),
            Some("period")
        );
        assert_eq!(
            query_field("invalid type: string \"a\", expected u32"),
            None
        );
        assert_eq!(query_field("something went wrong"), None);
    }
}
