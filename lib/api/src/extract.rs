//! Extractors that reject in our JSON error shape instead of axum's plain text.
//!
//! Use [`ApiQuery`] and [`ApiPath`] in place of axum's `Query` and `Path`; they behave the
//! same when the request is fine and turn every rejection into an [`ApiError`]. Use
//! [`ApiJson`] in place of axum's `Json` for request bodies.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, path::ErrorKind};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

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

/// A JSON request body, rejecting in our error shape:
///
/// - no `Content-Type: application/json` (or `application/*+json`): 415
///   `unsupported_media_type`;
/// - a body over the limit (`DefaultBodyLimit`, set from `max_body_bytes` by
///   [`crate::middleware::layers`]): 413 `payload_too_large`;
/// - not JSON (syntax, trailing characters, empty): 400 `invalid_json`;
/// - JSON of the wrong shape (missing or unknown field, wrong type): 400 `invalid_input`
///   with the `field` (its path, e.g. `conditions[2]`). Use
///   `#[serde(deny_unknown_fields)]` on the body type to refuse unknown fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// Why a body was refused: an [`ApiError`] (400) or one of the two statuses
/// `ApiError` has no kind for.
#[derive(Debug)]
pub enum BodyRejection {
    Invalid(ApiError),
    UnsupportedMediaType,
    PayloadTooLarge,
}

impl IntoResponse for BodyRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Invalid(e) => e.into_response(),
            Self::UnsupportedMediaType => error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            Self::PayloadTooLarge => payload_too_large(),
        }
    }
}

/// Our error shape for a status [`ApiError`] has no kind for.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

pub(crate) fn payload_too_large() -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "the request body is too large",
    )
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = BodyRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(req.headers()) {
            return Err(BodyRejection::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                BodyRejection::PayloadTooLarge
            } else {
                BodyRejection::Invalid(ApiError::BadRequest {
                    code: "invalid_body",
                    message: "the request body could not be read".into(),
                    field: None,
                })
            }
        })?;
        parse_json(&bytes).map(Self).map_err(BodyRejection::Invalid)
    }
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body into `T`, with errors that name the offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.inner())
    })?;
    de.end().map_err(|e| json_error(".", &e))?;
    Ok(value)
}

fn json_error(path: &str, e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let full: String = e.to_string().chars().take(MAX_DETAIL_CHARS).collect();
    match e.classify() {
        Category::Data => {
            // Drop serde_json's " at line 1 column 12": the field says where.
            let detail = full
                .rsplit_once(" at line ")
                .map_or(full.as_str(), |(head, _)| head);
            // The path names the offending value (an unknown key included); a missing
            // field is named by the message, under the path of its object.
            let missing = detail
                .starts_with("missing field")
                .then(|| query_field(detail))
                .flatten();
            let field = match (path, missing) {
                (".", Some(name)) => name,
                (".", None) => "body".to_owned(),
                (parent, Some(name)) => format!("{parent}.{name}"),
                (path, None) => path.to_owned(),
            };
            ApiError::invalid_field(&field, detail)
        }
        Category::Syntax | Category::Eof | Category::Io => ApiError::BadRequest {
            code: "invalid_json",
            message: format!("the body is not valid JSON: {full}"),
            field: None,
        },
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
    use super::{ApiError, parse_json, query_field};

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        email: String,
        new_password: Option<String>,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    fn outcome(text: &str) -> (String, Option<String>) {
        match parse_json::<Body>(text.as_bytes()) {
            Ok(_) => ("ok".into(), None),
            Err(ApiError::BadRequest { code, field, .. }) => (code.into(), field),
            Err(ApiError::Validation(v)) => {
                ("invalid_input".into(), Some(v.errors[0].field.clone()))
            }
            Err(other) => (format!("{other:?}"), None),
        }
    }

    #[test]
    fn json_bodies_fail_with_the_field_that_is_wrong() {
        assert_eq!(outcome(r#"{"email":"a@b.c"}"#).0, "ok");
        assert_eq!(outcome(r#"{"email":"#).0, "invalid_json");
        assert_eq!(outcome("").0, "invalid_json");
        assert_eq!(outcome(r#"{"email":"a"} x"#).0, "invalid_json");
        assert_eq!(outcome("{'email':1}").0, "invalid_json");
        assert_eq!(
            outcome(r#"{"email":"a","admin":true}"#),
            ("invalid_input".into(), Some("admin".into()))
        );
        assert_eq!(
            outcome(r#"{"email":5}"#),
            ("invalid_input".into(), Some("email".into()))
        );
        assert_eq!(
            outcome(r#"{"newPassword":"x"}"#),
            ("invalid_input".into(), Some("email".into()))
        );
        assert_eq!(
            outcome(r#"{"email":"a","inner":{"n":-1}}"#),
            ("invalid_input".into(), Some("inner.n".into()))
        );
        assert_eq!(
            outcome(r#"{"email":"a","inner":{"n":1,"m":2}}"#),
            ("invalid_input".into(), Some("inner.m".into()))
        );
        assert_eq!(
            outcome(r#"{"email":"a","inner":{}}"#),
            ("invalid_input".into(), Some("inner.n".into()))
        );
        assert_eq!(outcome("[]").0, "invalid_input");
    }

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
