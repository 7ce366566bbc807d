//! Route group `export`: CSV exports of a monitor's ping log, written to the blob store
//! (a folder self-hosted, S3 on AWS), and signed, expiring download links for them.
//!
//! Keys are `exports/<user id>/<monitor id>-<ms>.csv`: the user segment says whose
//! export it is, and only that user (or a role that reads everything) gets a link.
//! The download route needs no login: the HMAC signature over key and expiry is the
//! authorisation ([`crate::signing`]).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use sentinel_core::{CheckResult, MonitorId, UnixMs};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::extract::parse_json;
use crate::groups::metrics::{TIME_HINT, iso, parse_time_text};
use crate::groups::monitors::load_visible;
use crate::signing::{SignatureError, URL_TTL_MS, UrlSigner};
use crate::{ApiError, ApiPath, ApiQuery, AppState, Principal, now_ms};

const DAY_MS: i64 = 86_400_000;
/// Default range: the last 30 days.
pub const DEFAULT_RANGE_MS: i64 = 30 * DAY_MS;
/// Longest range one export may cover.
pub const MAX_RANGE_MS: i64 = 400 * DAY_MS;
/// Most rows in one export (a year of 30-second checks); past it the export is cut and
/// says so (`truncated`).
pub const MAX_ROWS: usize = 1_100_000;
/// Rows read from the ping log per query.
const PAGE: usize = 5_000;
const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";

pub const CSV_HEADER: [&str; 11] = [
    "checked_at",
    "success",
    "status_code",
    "total_ms",
    "dns_ms",
    "connect_ms",
    "tls_ms",
    "first_byte_ms",
    "ip",
    "error_kind",
    "failure_reason",
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/export/csv/{id}", post(export_csv))
        .route("/api/export/presigned-url/{*key}", get(presigned_url))
        .route("/api/export/download", get(download))
}

fn signer(state: &AppState) -> UrlSigner {
    UrlSigner::from_secret(state.settings.jwt_secret.expose_secret().as_bytes())
}

// ---- CSV -------------------------------------------------------------------------------

/// Spreadsheets run cells that start with `=`, `+`, `-`, `@` (and tab / carriage return)
/// as formulas; a leading `'` makes them text (OWASP "CSV injection").
pub fn safe_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn ms(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => String::new(),
    }
}

fn row(check: &CheckResult) -> [String; 11] {
    [
        iso(check.checked_at),
        check.success.to_string(),
        check.status_code.map(|c| c.to_string()).unwrap_or_default(),
        ms(Some(check.timings.total_ms)),
        ms(check.timings.dns_ms),
        ms(check.timings.connect_ms),
        ms(check.timings.tls_ms),
        ms(check.timings.first_byte_ms),
        check.ip.clone().unwrap_or_default(),
        check
            .error
            .as_ref()
            .map(|e| e.kind.as_str().to_owned())
            .unwrap_or_default(),
        check.failure_reason.clone().unwrap_or_default(),
    ]
}

/// The CSV of `checks` in the given order, every cell made injection-safe.
pub fn to_csv<'a>(checks: impl IntoIterator<Item = &'a CheckResult>) -> Result<Vec<u8>, ApiError> {
    let failed = |e: csv::Error| ApiError::Internal(format!("cannot write CSV: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER).map_err(failed)?;
    for check in checks {
        writer
            .write_record(row(check).iter().map(|cell| safe_cell(cell)))
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("cannot write CSV: {}", e.error())))
}

// ---- create an export ------------------------------------------------------------------

/// Milliseconds since the epoch or an RFC 3339 time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TimeInput {
    Ms(i64),
    Text(String),
}

/// The range of an export, `[from, to)`: at most 400 days.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    /// Default: 30 days before `to`.
    from: Option<TimeInput>,
    /// Default: now.
    to: Option<TimeInput>,
}

fn body_time(field: &str, value: Option<TimeInput>) -> Result<Option<UnixMs>, ApiError> {
    let parsed = match value {
        None => return Ok(None),
        Some(TimeInput::Ms(ms)) => parse_time_text(&ms.to_string()),
        Some(TimeInput::Text(text)) => parse_time_text(&text),
    };
    parsed
        .map(Some)
        .ok_or_else(|| ApiError::invalid_field(field, TIME_HINT))
}

/// `[from, to)` of an export body; empty body: the last 30 days.
fn export_range(body: &[u8], now: UnixMs) -> Result<(UnixMs, UnixMs), ApiError> {
    let parsed: ExportBody = if body.iter().all(u8::is_ascii_whitespace) {
        ExportBody::default()
    } else {
        parse_json(body)?
    };
    let to = body_time("to", parsed.to)?.unwrap_or(now);
    let from = body_time("from", parsed.from)?.unwrap_or(to - DEFAULT_RANGE_MS);
    if from >= to {
        return Err(ApiError::invalid_field("from", "must be before to"));
    }
    if to - from > MAX_RANGE_MS {
        return Err(ApiError::invalid_field(
            "from",
            "an export covers at most 400 days; narrow from/to",
        ));
    }
    Ok((from, to))
}

/// Characters allowed in a key segment (ids are `[a-z0-9_-]`, user ids URL-safe).
fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

pub fn export_key(user: &str, monitor: &MonitorId, at: UnixMs) -> Option<String> {
    safe_segment(user).then(|| format!("exports/{user}/{monitor}-{at}.csv"))
}

/// `(user, file name)` of a well-formed export key.
pub fn parse_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("exports/")?;
    let (user, file) = rest.split_once('/')?;
    let stem = file.strip_suffix(".csv")?;
    (safe_segment(user) && safe_segment(stem)).then_some((user, file))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportCreated {
    pub key: String,
    /// A signed download link, valid for 15 minutes.
    pub url: String,
    pub expires_at: UnixMs,
    pub rows: usize,
    /// The range held more than [`MAX_ROWS`] checks; the newest are in the file.
    pub truncated: bool,
}

/// Write a CSV of a monitor's checks (default: the last 30 days) to the blob store;
/// returns its key and a signed download link.
#[utoipa::path(
    post,
    path = "/api/export/csv/{id}",
    tag = "export",
    operation_id = "export_csv",
    params(("id" = String, Path, description = "Monitor id")),
    request_body(content = Option<ExportBody>, description = "Optional range"),
    responses((status = 201, description = "Written", body = ExportCreated)),
)]
pub(crate) async fn export_csv(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<ExportCreated>), ApiError> {
    let now = now_ms();
    let (from, to) = export_range(&body, now)?;
    let record = load_visible(&state, &principal, &id).await?;
    let monitor = &record.spec.id;

    // Newest first, page by page: each page ends where the last one stopped.
    let mut checks: Vec<CheckResult> = Vec::new();
    let mut before = to;
    let mut truncated = false;
    loop {
        let page = state.stores.history(monitor, from, before, PAGE).await?;
        let full = page.len() == PAGE;
        if let Some(last) = page.last() {
            before = last.checked_at;
        }
        checks.extend(page);
        if checks.len() >= MAX_ROWS {
            truncated = checks.len() > MAX_ROWS || full;
            checks.truncate(MAX_ROWS);
            break;
        }
        if !full {
            break;
        }
    }
    let csv = to_csv(checks.iter().rev())?;

    let key = export_key(&principal.user_id.0, monitor, now).ok_or_else(|| {
        ApiError::Internal(format!(
            "user id {:?} cannot be part of a blob key",
            principal.user_id.0
        ))
    })?;
    state.blobs.put_blob(&key, csv, CSV_CONTENT_TYPE).await?;
    let expires_at = now + URL_TTL_MS;
    let url = download_url(&state, &key, expires_at).await?;
    tracing::info!(monitor_id = %monitor, rows = checks.len(), %key, "CSV export written");
    Ok((
        StatusCode::CREATED,
        Json(ExportCreated {
            url,
            key,
            expires_at,
            rows: checks.len(),
            truncated,
        }),
    ))
}

// ---- links and downloads ---------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedUrl {
    pub url: String,
    pub expires_at: UnixMs,
}

/// A signed download link (15 minutes) for one of the caller's exports.
#[utoipa::path(
    get,
    path = "/api/export/presigned-url/{key}",
    tag = "export",
    operation_id = "export_presigned_url",
    params(("key" = String, Path, description = "Export key, e.g. `exports/u_1/api-1700000000000.csv`")),
    responses((status = 200, description = "The link", body = SignedUrl)),
)]
pub(crate) async fn presigned_url(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
) -> Result<Json<SignedUrl>, ApiError> {
    let Some((user, _)) = parse_key(&key) else {
        return Err(ApiError::not_found("export"));
    };
    if !principal.role.reads_everything() && user != principal.user_id.0 {
        return Err(ApiError::not_found("export"));
    }
    let expires_at = now_ms() + URL_TTL_MS;
    Ok(Json(SignedUrl {
        url: download_url(&state, &key, expires_at).await?,
        expires_at,
    }))
}

/// The blob store's own presigned URL (S3 on AWS), else Sentinel's signed link to
/// `/api/export/download` (self-hosted: the data folder).
async fn download_url(state: &AppState, key: &str, expires_at: UnixMs) -> Result<String, ApiError> {
    let ttl = std::time::Duration::from_millis(u64::try_from(URL_TTL_MS).unwrap_or(0));
    Ok(match state.blobs.presigned_get(key, ttl).await? {
        Some(url) => url,
        None => signer(state).url(key, expires_at),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// The export's key.
    key: Option<String>,
    /// Expiry, ms since the epoch.
    expires: Option<String>,
    /// Hex HMAC-SHA256 signature of key and expiry.
    sig: Option<String>,
}

fn link_refused(e: SignatureError) -> ApiError {
    match e {
        SignatureError::Invalid => ApiError::Forbidden {
            code: "invalid_signature",
            message: "the download link is invalid".into(),
        },
        SignatureError::Expired => ApiError::Forbidden {
            code: "link_expired",
            message: "the download link has expired; ask for a new one".into(),
        },
    }
}

/// Download an export through a signed link. Needs no credentials: the signature is
/// the authorisation.
#[utoipa::path(
    get,
    path = "/api/export/download",
    tag = "export",
    operation_id = "export_download",
    security(()),
    params(DownloadQuery),
    responses(
        (status = 200, description = "The CSV", content_type = "text/csv", body = String),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    ),
)]
pub(crate) async fn download(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DownloadQuery>,
) -> Result<Response, ApiError> {
    let (Some(key), Some(expires), Some(sig)) = (query.key, query.expires, query.sig) else {
        return Err(link_refused(SignatureError::Invalid));
    };
    let expires: UnixMs = expires
        .parse()
        .map_err(|_| link_refused(SignatureError::Invalid))?;
    signer(&state)
        .verify(&key, expires, &sig, now_ms())
        .map_err(link_refused)?;
    let Some((_, file)) = parse_key(&key) else {
        return Err(ApiError::not_found("export"));
    };
    let Some((bytes, content_type)) = state.blobs.get_blob(&key).await? else {
        return Err(ApiError::not_found("export"));
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or_else(|_| HeaderValue::from_static(CSV_CONTENT_TYPE)),
    );
    // `file` is `[A-Za-z0-9_-]+.csv` (checked by `parse_key`), so it needs no quoting.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentinel_core::{ProbeError, ProbeErrorKind, Timings};

    #[test]
    fn formula_looking_cells_are_neutralised() {
        for (raw, safe) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("status 503", "status 503"),
            ("", ""),
        ] {
            assert_eq!(safe_cell(raw), safe, "{raw}");
        }
    }

    #[test]
    fn a_row_holds_every_column() {
        let check = CheckResult {
            monitor_id: MonitorId::parse("api").unwrap(),
            checked_at: 1_700_000_000_500,
            success: false,
            status_code: None,
            timings: Timings {
                dns_ms: Some(1.25),
                connect_ms: None,
                tls_ms: None,
                first_byte_ms: None,
                total_ms: 3.0,
            },
            ip: Some("127.0.0.1".into()),
            cert_expires_at: None,
            error: Some(ProbeError {
                kind: ProbeErrorKind::Refused,
                message: "refused".into(),
            }),
            failure_reason: Some("=cmd|' /C calc'!A0, \"quoted\"".into()),
            conditions: vec![],
        };
        let csv = String::from_utf8(to_csv([&check]).unwrap()).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next().unwrap(), CSV_HEADER.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "2023-11-14T22:13:20.500Z,false,,3.000,1.250,,,,127.0.0.1,refused,\"'=cmd|' /C calc'!A0, \"\"quoted\"\"\""
        );
    }

    #[test]
    fn ranges_default_to_thirty_days_and_are_checked() {
        let now = 1_700_000_000_000;
        assert_eq!(
            export_range(b"", now).unwrap(),
            (now - DEFAULT_RANGE_MS, now)
        );
        assert_eq!(
            export_range(
                br#"{"from": "2023-11-14T00:00:00Z", "to": 1700000000000}"#,
                now
            )
            .unwrap(),
            (1_699_920_000_000, now)
        );
        let bad = [
            &br#"{"from": "yesterday"}"#[..],
            br#"{"from": 5, "to": 4}"#,
            br#"{"from": 0, "to": 1700000000000}"#,
            br#"{"since": 1}"#,
            br#"[1]"#,
            b"{",
        ];
        for body in bad {
            assert!(
                export_range(body, now).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn keys_are_made_and_read_back_strictly() {
        let key = export_key("u_ab12", &MonitorId::parse("api").unwrap(), 17).unwrap();
        assert_eq!(key, "exports/u_ab12/api-17.csv");
        assert_eq!(parse_key(&key), Some(("u_ab12", "api-17.csv")));
        for bad in [
            "exports/../x.csv",
            "exports/u/../../etc/passwd.csv",
            "exports/u/a/b.csv",
            "exports/u/a.txt",
            "other/u/a.csv",
            "exports//a.csv",
            "exports/u/.csv",
            "exports/u/a\"b.csv",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
        assert_eq!(
            export_key("u/../x", &MonitorId::parse("api").unwrap(), 1),
            None
        );
    }
}
