//! One error type at the HTTP edge: our JSON shape, the right status, causes logged once
//! and never sent to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sentinel_store::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("method {method} is not allowed here")]
    MethodNotAllowed { method: String },
    /// A bug on our side (e.g. a route and its extractor disagree). Logged; the client
    /// only learns that something went wrong.
    #[error("internal error: {0}")]
    Internal(String),
    /// Not signed in, or the credentials are bad/expired (401).
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    /// Signed in but not allowed (403), incl. a missing CSRF token.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Unique rule broken, e.g. email taken (409).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// Field-level validation failures (400 `invalid_input`); every field is listed.
    #[error("{0}")]
    Validation(sentinel_core::ValidationErrors),
    /// Rate limited (429 with `Retry-After`).
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// Something this deployment does not have or cannot do right now (503), e.g.
    /// no ECS collector is configured.
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound {
            message: format!("{what} not found"),
        }
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(sentinel_core::ValidationErrors {
            errors: vec![sentinel_core::FieldError {
                field: field.to_owned(),
                message: message.into(),
            }],
        })
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code: "unauthorized",
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }

    pub fn invalid_query(field: &str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: "invalid_query",
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut extra_fields = None;
        let mut retry_after = None;
        let (status, code, message, field) = match self {
            Self::Unauthorized { code, message } => (StatusCode::UNAUTHORIZED, code, message, None),
            Self::Forbidden { code, message } => (StatusCode::FORBIDDEN, code, message, None),
            Self::Conflict {
                code,
                message,
                field,
            } => (StatusCode::CONFLICT, code, message, field),
            Self::Validation(errors) => {
                let field = errors.errors.first().map(|e| e.field.clone());
                let message = errors.summary();
                extra_fields = Some(errors.errors);
                (StatusCode::BAD_REQUEST, "invalid_input", message, field)
            }
            Self::TooManyRequests { retry_after_secs } => {
                retry_after = Some(retry_after_secs.max(1));
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many requests; retry in {}s", retry_after_secs.max(1)),
                    None,
                )
            }
            Self::Store(StoreError::Conflict(what)) => (
                StatusCode::CONFLICT,
                "conflict",
                format!("already exists: {what}"),
                None,
            ),
            Self::NotFound { message } => (StatusCode::NOT_FOUND, "not_found", message, None),
            Self::BadRequest {
                code,
                message,
                field,
            } => (StatusCode::BAD_REQUEST, code, message, field),
            Self::MethodNotAllowed { method } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("method {method} is not allowed here"),
                None,
            ),
            Self::Unavailable { code, message } => {
                (StatusCode::SERVICE_UNAVAILABLE, code, message, None)
            }
            Self::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error".to_owned(),
                    None,
                )
            }
            Self::Store(e) => {
                tracing::error!(error = &e as &dyn std::error::Error, "storage error");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "storage is unavailable; try again".to_owned(),
                    None,
                )
            }
        };
        let mut error = json!({ "code": code, "message": message });
        if let Some(field) = field {
            error["field"] = json!(field);
        }
        if let Some(fields) = extra_fields {
            error["fields"] = json!(fields);
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        if let Some(secs) = retry_after
            && let Ok(value) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}
