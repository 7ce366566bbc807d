//! The YAML config file: `server:`, `smtp:`, `alerting:` and `monitors:` (alias
//! `endpoints:`, as in Gatus). Every error names the file, the line and the field.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use saphyr_parser::{Event, Parser};
use sentinel_core::monitor::DurationInput;
use sentinel_core::{MonitorInput, MonitorSpec};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use sentinel_embedded::mail::{OutboxMailer, SmtpMailer, SmtpSettings};
use sentinel_pipeline::channels::{ChannelConfig, ChannelDeps, is_plausible_address};
use sentinel_probe::load_pem_certificates;
use serde::Deserialize;

/// Channel types that may be used as the entry name without a `type:` (Gatus style).
const CHANNEL_TYPES: [&str; 4] = ["webhook", "slack", "discord", "email"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    smtp: Option<SmtpSettings>,
    #[serde(default)]
    alerting: BTreeMap<String, serde_yaml_ng::Value>,
    #[serde(default, alias = "endpoints")]
    monitors: Vec<MonitorInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawServer {
    listen: Option<String>,
    data: Option<PathBuf>,
    #[serde(alias = "allow_private")]
    allow_private: Option<bool>,
    #[serde(alias = "ca_file")]
    ca_file: Option<PathBuf>,
    #[serde(alias = "reminder_every")]
    reminder_every: Option<DurationInput>,
    #[serde(alias = "ping_retention")]
    ping_retention: Option<DurationInput>,
    #[serde(alias = "max_in_flight")]
    max_in_flight: Option<usize>,
}

/// A validated config.
#[derive(Debug)]
pub struct Config {
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub allow_private: bool,
    /// Extra trusted CAs from `server.ca-file`, already loaded and checked.
    pub extra_root_certs: Vec<CertificateDer<'static>>,
    pub reminder_every: Option<Duration>,
    pub ping_retention: Duration,
    pub max_in_flight: usize,
    pub smtp: Option<SmtpSettings>,
    pub channels: Vec<(String, ChannelConfig)>,
    pub monitors: Vec<MonitorSpec>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: None,
            data: None,
            allow_private: true,
            extra_root_certs: Vec::new(),
            reminder_every: None,
            ping_retention: Duration::from_secs(90 * 86_400),
            max_in_flight: 512,
            smtp: None,
            channels: Vec::new(),
            monitors: Vec::new(),
        }
    }
}

/// A config problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every problem in the file, so a user fixes them in one go.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Maps field paths (`monitors[2].interval`, `alerting.slack.webhook-url`) to the line
/// where they are written.
#[derive(Debug, Default)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

impl LineIndex {
    pub fn build(text: &str) -> Self {
        let mut index = Self::default();
        let mut stack: Vec<Frame> = Vec::new();
        for event in Parser::new_from_str(text) {
            let Ok((event, span)) = event else { break };
            let line = span.start.line();
            // Where a value that starts now lives, and whether it is a mapping key.
            let (value_path, is_key) = match stack.last_mut() {
                None => (String::new(), false),
                Some(Frame::Map { path, key }) => match key.take() {
                    None => (path.clone(), true),
                    Some(k) => (join(path, &k), false),
                },
                Some(Frame::Seq { path, index }) => {
                    let p = format!("{path}[{index}]");
                    *index += 1;
                    (p, false)
                }
            };
            match event {
                Event::Scalar(value, ..) if is_key => {
                    let path = join(&value_path, &value);
                    index.lines.entry(path).or_insert(line);
                    if let Some(Frame::Map { key, .. }) = stack.last_mut() {
                        *key = Some(value.into_owned());
                    }
                }
                Event::Scalar(..) | Event::Alias(..) => {
                    index.lines.entry(value_path).or_insert(line);
                }
                Event::MappingStart(..) => {
                    index.lines.entry(value_path.clone()).or_insert(line);
                    stack.push(Frame::Map {
                        path: value_path,
                        key: None,
                    });
                }
                Event::SequenceStart(..) => {
                    index.lines.entry(value_path.clone()).or_insert(line);
                    stack.push(Frame::Seq {
                        path: value_path,
                        index: 0,
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        index
    }

    /// The line of `path`, or of its nearest written ancestor.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some(*line);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Replaces `${NAME}` with the environment variable, so secrets stay out of the file.
fn expand_env(file: &Path, text: &str, errors: &mut Vec<ConfigError>) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, full_line) in text.split_inclusive('\n').enumerate() {
        // Comments are left alone: `# password: ${SMTP_PASSWORD}` must not need the variable.
        let (line, comment) = full_line.split_at(comment_start(full_line));
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    let name = &after[..end];
                    match std::env::var(name) {
                        // A line break would change the file's structure.
                        Ok(value) if value.contains(['\n', '\r']) => errors.push(ConfigError {
                            file: file.to_owned(),
                            line: Some(n + 1),
                            field: None,
                            message: format!("environment variable {name} contains a line break"),
                        }),
                        Ok(value) => out.push_str(&value),
                        Err(_) => errors.push(ConfigError {
                            file: file.to_owned(),
                            line: Some(n + 1),
                            field: None,
                            message: format!("environment variable {name} is not set"),
                        }),
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out.push_str(comment);
    }
    out
}

/// Byte offset where a YAML comment starts on this line (`#` at the start or after
/// whitespace, outside quotes), or the line's length.
fn comment_start(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return i,
            None => {}
        }
        previous = c;
    }
    line.len()
}

pub fn load(file: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.to_owned(),
            line: None,
            field: None,
            message: format!("cannot read: {e}"),
        }])
    })?;
    parse(file, &text)
}

pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let text = expand_env(file, text, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let at = |field: &str, message: String, index: &LineIndex| ConfigError {
        file: file.to_owned(),
        line: index.line_of(field),
        field: Some(field.to_owned()),
        message,
    };

    let raw: RawConfig = if text.trim().is_empty() {
        RawConfig::default()
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: file.to_owned(),
                line: e.location().map(|l| l.line()),
                field: None,
                message: e.to_string(),
            }])
        })?
    };
    let index = LineIndex::build(&text);

    let mut config = Config::default();
    let server = raw.server;
    if let Some(listen) = &server.listen {
        match listen.parse::<SocketAddr>() {
            Ok(addr) => config.listen = Some(addr),
            Err(_) => errors.push(at(
                "server.listen",
                format!("{listen:?} is not an address like 127.0.0.1:8080"),
                &index,
            )),
        }
    }
    config.data = server.data;
    config.allow_private = server.allow_private.unwrap_or(true);
    if let Some(ca_file) = &server.ca_file {
        // Relative to the config file, like every path a user writes in it.
        let path = file
            .parent()
            .map_or_else(|| ca_file.clone(), |dir| dir.join(ca_file));
        match load_pem_certificates([&path]) {
            Ok(certs) => config.extra_root_certs = certs,
            Err(e) => errors.push(at("server.ca-file", e.to_string(), &index)),
        }
    }
    if let Some(n) = server.max_in_flight {
        if n == 0 || n > 100_000 {
            errors.push(at(
                "server.max-in-flight",
                "must be between 1 and 100000".into(),
                &index,
            ));
        } else {
            config.max_in_flight = n;
        }
    }
    match server
        .reminder_every
        .as_ref()
        .map(DurationInput::to_duration)
    {
        None => {}
        Some(Ok(d)) if d < Duration::from_secs(60) => errors.push(at(
            "server.reminder-every",
            "must be at least 1m".into(),
            &index,
        )),
        Some(Ok(d)) => config.reminder_every = Some(d),
        Some(Err(m)) => errors.push(at("server.reminder-every", m, &index)),
    }
    match server
        .ping_retention
        .as_ref()
        .map(DurationInput::to_duration)
    {
        None => {}
        Some(Ok(d)) if d < Duration::from_secs(86_400) => errors.push(at(
            "server.ping-retention",
            "must be at least 1d".into(),
            &index,
        )),
        Some(Ok(d)) => config.ping_retention = d,
        Some(Err(m)) => errors.push(at("server.ping-retention", m, &index)),
    }
    if let Some(smtp) = &raw.smtp {
        if smtp.host.trim().is_empty() {
            errors.push(at("smtp.host", "is required".into(), &index));
        } else if let Err(e) = SmtpMailer::new(smtp) {
            errors.push(at("smtp", e.message, &index));
        }
        if let Some(from) = &smtp.from
            && !is_plausible_address(from)
        {
            errors.push(at(
                "smtp.from",
                format!("'{from}' is not an email address"),
                &index,
            ));
        }
    }
    config.smtp = raw.smtp;

    // Building a channel validates it; this throwaway set of dependencies never sends.
    let dry_run_deps = ChannelDeps {
        http: reqwest::Client::new(),
        mailer: Arc::new(OutboxMailer::new(
            std::env::temp_dir().join("sentinel-dry-run"),
        )),
        default_from: "sentinel@localhost.localdomain".into(),
        allow_private: config.allow_private,
    };

    for (name, mut value) in raw.alerting {
        let path = format!("alerting.{name}");
        if let serde_yaml_ng::Value::Mapping(map) = &mut value {
            let type_key = serde_yaml_ng::Value::String("type".into());
            if !map.contains_key(&type_key) && CHANNEL_TYPES.contains(&name.as_str()) {
                map.insert(type_key, serde_yaml_ng::Value::String(name.clone()));
            }
        }
        match serde_yaml_ng::from_value::<ChannelConfig>(value) {
            Ok(channel) => match channel.build(&name, &dry_run_deps) {
                Ok(_) => config.channels.push((name, channel)),
                Err(e) => errors.push(at(&format!("{path}.{}", e.field), e.message, &index)),
            },
            Err(e) => errors.push(at(&path, e.to_string(), &index)),
        }
    }

    let channel_names: HashSet<&str> = config.channels.iter().map(|(n, _)| n.as_str()).collect();
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    for (i, input) in raw.monitors.iter().enumerate() {
        let base = format!("monitors[{i}]");
        match input.validate() {
            Ok(spec) => {
                for (j, alert) in spec.alerts.iter().enumerate() {
                    if !channel_names.contains(alert.as_str()) {
                        errors.push(at(
                            &format!("{base}.alerts[{j}]"),
                            format!("no alerting channel named '{alert}'"),
                            &index,
                        ));
                    }
                }
                if let Some(first) = seen_ids.insert(spec.id.to_string(), i) {
                    errors.push(at(
                        &format!("{base}.name"),
                        format!(
                            "id '{}' is already used by monitors[{first}]; set a distinct id",
                            spec.id
                        ),
                        &index,
                    ));
                }
                config.monitors.push(spec);
            }
            Err(invalid) => {
                for e in invalid.errors {
                    errors.push(at(&format!("{base}.{}", e.field), e.message, &index));
                }
            }
        }
    }

    if errors.is_empty() {
        Ok(config)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(ConfigErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(text: &str) -> Vec<ConfigError> {
        parse(Path::new("s.yaml"), text).unwrap_err().0
    }

    #[test]
    fn a_full_config_parses() {
        let text = r#"
server:
  listen: 127.0.0.1:9000
  allow-private: false
  reminder-every: 1h
alerting:
  slack:
    webhook-url: https://hooks.slack.com/services/x
  ops:
    type: webhook
    url: https://example.com/hook
    secret: 0123456789abcdef
monitors:
  - name: API
    url: https://example.com/health
    interval: 30s
    conditions:
      - "[STATUS] == 200"
    alerts: [ops]
"#;
        let config = parse(Path::new("s.yaml"), text).unwrap();
        assert_eq!(config.listen, Some("127.0.0.1:9000".parse().unwrap()));
        assert!(!config.allow_private);
        assert_eq!(config.reminder_every, Some(Duration::from_secs(3600)));
        assert_eq!(config.channels.len(), 2);
        assert_eq!(config.monitors[0].id.as_str(), "api");
        assert_eq!(config.monitors[0].interval, Duration::from_secs(30));
    }

    #[test]
    fn gatus_endpoints_key_is_accepted() {
        let text = "endpoints:\n  - name: web\n    url: http://127.0.0.1/\n";
        let config = parse(Path::new("s.yaml"), text).unwrap();
        assert_eq!(config.monitors.len(), 1);
    }

    #[test]
    fn field_errors_name_the_line_and_the_field() {
        let text = "monitors:\n  - name: a\n    url: http://x/\n  - name: b\n    url: ftp://x/\n    interval: 5s\n";
        let errors = errors_of(text);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].field.as_deref(), Some("monitors[1].url"));
        assert_eq!(errors[0].line, Some(5));
        assert_eq!(errors[1].field.as_deref(), Some("monitors[1].interval"));
        assert_eq!(errors[1].line, Some(6));
        assert!(
            errors[0]
                .to_string()
                .starts_with("s.yaml:5: monitors[1].url: ")
        );
    }

    #[test]
    fn bad_conditions_are_located() {
        let text = "monitors:\n  - name: a\n    url: http://x/\n    conditions:\n      - \"[STATUS] == 200\"\n      - \"[NOPE] == 1\"\n";
        let errors = errors_of(text);
        assert_eq!(
            errors[0].field.as_deref(),
            Some("monitors[0].conditions[1]")
        );
        assert_eq!(errors[0].line, Some(6));
    }

    #[test]
    fn yaml_syntax_and_type_errors_carry_a_line() {
        let errors = errors_of("monitors:\n  - name: a\n    url: [unclosed\n");
        assert!(errors[0].line.is_some(), "{errors:?}");
        let errors = errors_of("monitors:\n  - name: a\n    url: http://x/\n    paused: maybe\n");
        assert_eq!(errors[0].line, Some(4), "{errors:?}");
        let errors = errors_of("monitors:\n  - name: a\n    url: http://x/\n    colour: red\n");
        assert!(errors[0].message.contains("colour"), "{errors:?}");
    }

    #[test]
    fn unknown_alert_channels_and_duplicate_ids_are_errors() {
        let text = "monitors:\n  - name: a\n    url: http://x/\n    alerts: [pager]\n  - name: A\n    url: http://y/\n";
        let errors = errors_of(text);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].message.contains("pager"));
        assert!(errors[1].message.contains("already used"));
    }

    #[test]
    fn bad_channels_are_located() {
        let text = "alerting:\n  ops:\n    type: webhook\n    url: https://x/\nmonitors: []\n";
        let errors = errors_of(text);
        assert_eq!(errors[0].field.as_deref(), Some("alerting.ops"));
        assert_eq!(errors[0].line, Some(2));
        assert!(errors[0].message.contains("secret"), "{errors:?}");
        let text = "alerting:\n  slack:\n    webhook-url: not a url\n";
        let errors = errors_of(text);
        assert_eq!(
            errors[0].field.as_deref(),
            Some("alerting.slack.webhook-url")
        );
        assert_eq!(errors[0].line, Some(3));
    }

    #[test]
    fn environment_variables_are_expanded_and_missing_ones_reported() {
        let errors = errors_of("monitors:\n  - name: a\n    url: ${SENTINEL_TEST_SURELY_UNSET}\n");
        assert_eq!(errors[0].line, Some(3));
        assert!(errors[0].message.contains("SENTINEL_TEST_SURELY_UNSET"));
    }

    #[test]
    fn variables_in_comments_and_quoted_hashes_are_left_alone() {
        let text = "# smtp password: ${NOT_SET_ANYWHERE}\nmonitors:\n  - name: a # ${ALSO_NOT_SET}\n    url: \"http://x/#frag\"\n";
        let config = parse(Path::new("s.yaml"), text).unwrap();
        assert_eq!(config.monitors[0].url.as_str(), "http://x/#frag");
        assert_eq!(comment_start("url: 'a # b' # c"), 13);
        assert_eq!(comment_start("no comment"), 10);
    }

    #[test]
    fn server_settings_are_checked_with_their_line() {
        let text = "server:\n  listen: localhost-ish\n  ca-file: /nonexistent/ca.pem\nsmtp:\n  host: smtp.example.com\n  from: nobody\n";
        let errors = errors_of(text);
        let fields: Vec<_> = errors
            .iter()
            .map(|e| (e.field.clone().unwrap(), e.line))
            .collect();
        assert_eq!(
            fields,
            [
                ("server.listen".to_owned(), Some(2)),
                ("server.ca-file".to_owned(), Some(3)),
                ("smtp.from".to_owned(), Some(6)),
            ]
        );
    }

    #[test]
    fn the_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sentinel.yaml");
        let config = load(&path).unwrap();
        assert!(config.monitors.len() >= 2);
        assert!(config.monitors.iter().any(|m| m.public));
    }

    #[test]
    fn empty_file_is_an_empty_config() {
        let config = parse(Path::new("s.yaml"), "").unwrap();
        assert!(config.monitors.is_empty());
    }
}
