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
    #[error("storage failed")]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        Self::NotFound {
            message: format!("{what} not found"),
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
        let (status, code, message, field) = match self {
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
        (status, Json(json!({ "error": error }))).into_response()
    }
}
