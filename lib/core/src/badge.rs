//! shields.io "flat" badges as SVG.
//!
//! The geometry, colours and text metrics follow shields.io's `badge-maker` (flat style),
//! so a badge rendered here has the same size as the one shields.io would draw: text is
//! measured with Verdana 11px advance widths (from the `anafanafo` package shields uses),
//! floored and rounded up to an odd number of pixels, and padded by 5px on each side.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::stats::Period;
use crate::status::Status;

/// shields.io's named colours, as hex without `#`.
pub mod colors {
    pub const BRIGHTGREEN: &str = "4c1";
    pub const GREEN: &str = "97ca00";
    pub const YELLOWGREEN: &str = "a4a61d";
    pub const YELLOW: &str = "dfb317";
    pub const ORANGE: &str = "fe7d37";
    pub const RED: &str = "e05d44";
    pub const BLUE: &str = "007ec6";
    pub const GREY: &str = "555";
    pub const LIGHTGREY: &str = "9f9f9f";
}

/// Message shown when there is nothing to show.
pub const NO_DATA: &str = "no data";

/// A badge's content; also serialises as shields.io endpoint JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Badge {
    pub schema_version: u8,
    pub label: String,
    pub message: String,
    /// Hex colour without '#', e.g. `4c1`.
    pub color: String,
}

impl Badge {
    /// The monitor's current state: up (bright green), down (red), pending (light grey),
    /// paused (blue).
    pub fn status(label: &str, status: Status) -> Self {
        let color = match status {
            Status::Up => colors::BRIGHTGREEN,
            Status::Down => colors::RED,
            Status::Pending => colors::LIGHTGREY,
            Status::Paused => colors::BLUE,
        };
        Self::new(label, status.as_str(), color)
    }

    /// Uptime over `period`, e.g. `99.95%` (see [`format_uptime`] and [`uptime_color`]),
    /// or `no data` in light grey. The period only names the window; callers choose the
    /// label, usually [`Badge::default_uptime_label`].
    pub fn uptime(label: &str, period: Period, uptime_pct: Option<f64>) -> Self {
        let _ = period;
        match uptime_pct.filter(|p| !p.is_nan()) {
            Some(pct) => Self::new(label, &format_uptime(pct), uptime_color(pct)),
            None => Self::new(label, NO_DATA, colors::LIGHTGREY),
        }
    }

    /// The usual label of an uptime badge: `uptime 24h`, `uptime 7d`, …
    pub fn default_uptime_label(period: Period) -> String {
        format!("uptime {}", period.as_str())
    }

    /// Response time, e.g. `123 ms` or `1.52 s` (see [`format_response_time`] and
    /// [`response_time_color`]), or `no data` in light grey.
    pub fn response_time(label: &str, ms: Option<f64>) -> Self {
        match ms.filter(|m| !m.is_nan()) {
            Some(ms) => Self::new(label, &format_response_time(ms), response_time_color(ms)),
            None => Self::new(label, NO_DATA, colors::LIGHTGREY),
        }
    }

    /// Stores the parts as given; the colour is checked when rendering.
    pub fn new(label: &str, message: &str, color: &str) -> Self {
        Self {
            schema_version: 1,
            label: label.to_owned(),
            message: message.to_owned(),
            color: color.to_owned(),
        }
    }

    /// Renders the badge in shields.io's "flat" style. All text is XML-escaped; a colour
    /// that is neither a shields.io name nor 3/6 hex digits renders light grey.
    pub fn to_svg(&self) -> String {
        let color = svg_color(&self.color).unwrap_or_else(|| format!("#{}", colors::LIGHTGREY));
        render_flat(&self.label, &self.message, &color)
    }
}

// ---- formatting -----------------------------------------------------------------

/// `pct` with exactly two decimals and a `%`, truncated rather than rounded so that
/// anything short of 100 never reads `100.00%` (99.999 → `99.99%`). Values outside
/// `0..=100` are clamped; NaN reads as `0.00%`.
pub fn format_uptime(pct: f64) -> String {
    let pct = if pct.is_nan() {
        0.0
    } else {
        pct.clamp(0.0, 100.0)
    };
    let scaled = pct * 100.0;
    // Undo binary noise (0.29·100 = 28.999999999999996) before flooring.
    let nearest = scaled.round();
    let floored = if (scaled - nearest).abs() < 1e-7 {
        nearest
    } else {
        scaled.floor()
    };
    // In 0..=10_000, so the cast is exact.
    let mut hundredths = floored as u32;
    if pct < 100.0 {
        hundredths = hundredths.min(9_999);
    }
    format!("{}.{:02}%", hundredths / 100, hundredths % 100)
}

/// shields.io's usual uptime scale: ≥ 99.9 bright green, ≥ 99 green, ≥ 97 yellow-green,
/// ≥ 95 yellow, ≥ 90 orange, else red.
pub fn uptime_color(pct: f64) -> &'static str {
    if pct >= 99.9 {
        colors::BRIGHTGREEN
    } else if pct >= 99.0 {
        colors::GREEN
    } else if pct >= 97.0 {
        colors::YELLOWGREEN
    } else if pct >= 95.0 {
        colors::YELLOW
    } else if pct >= 90.0 {
        colors::ORANGE
    } else {
        colors::RED
    }
}

/// Whole milliseconds below a second (`123 ms`), seconds with two decimals from there
/// on (`1.52 s`). Negative values read as `0 ms`.
pub fn format_response_time(ms: f64) -> String {
    let ms = if ms.is_nan() { 0.0 } else { ms.max(0.0) };
    let whole = ms.round();
    if whole < 1000.0 {
        format!("{whole:.0} ms")
    } else {
        // Hundredths of a second, rounded half up on the decimal value (1515 ms → 1.52 s).
        let centis = (ms / 10.0).round() as u64;
        format!("{}.{:02} s", centis / 100, centis % 100)
    }
}

/// < 300 ms bright green, < 700 green, < 1500 yellow, < 3000 orange, else red.
pub fn response_time_color(ms: f64) -> &'static str {
    if ms < 300.0 {
        colors::BRIGHTGREEN
    } else if ms < 700.0 {
        colors::GREEN
    } else if ms < 1500.0 {
        colors::YELLOW
    } else if ms < 3000.0 {
        colors::ORANGE
    } else {
        colors::RED
    }
}

// ---- colours --------------------------------------------------------------------

/// A colour as SVG `fill`: a shields.io name or alias (`brightgreen`, `success`, …) or 3
/// or 6 hex digits with or without `#`, as `#rrggbb`/`#rgb` in lower case. `None` for
/// anything else, so no caller text ever reaches an attribute unchecked.
pub fn svg_color(color: &str) -> Option<String> {
    let c = color.trim();
    let named = match c.to_ascii_lowercase().as_str() {
        "brightgreen" | "success" => Some(colors::BRIGHTGREEN),
        "green" => Some(colors::GREEN),
        "yellowgreen" => Some(colors::YELLOWGREEN),
        "yellow" => Some(colors::YELLOW),
        "orange" | "important" => Some(colors::ORANGE),
        "red" | "critical" => Some(colors::RED),
        "blue" | "informational" => Some(colors::BLUE),
        "grey" | "gray" => Some(colors::GREY),
        "lightgrey" | "lightgray" | "inactive" => Some(colors::LIGHTGREY),
        _ => None,
    };
    if let Some(hex) = named {
        return Some(format!("#{hex}"));
    }
    let hex = c.strip_prefix('#').unwrap_or(c);
    let valid = matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| format!("#{}", hex.to_ascii_lowercase()))
}

/// Red, green, blue of a `#rgb` / `#rrggbb` colour.
fn rgb(color: &str) -> Option<(u8, u8, u8)> {
    let hex = color.strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |s: &str| u8::from_str_radix(s, 16).ok();
    match hex.len() {
        3 => {
            let digit = |i: usize| byte(&hex[i..=i]).map(|d| d * 17);
            Some((digit(0)?, digit(1)?, digit(2)?))
        }
        6 => Some((byte(&hex[0..2])?, byte(&hex[2..4])?, byte(&hex[4..6])?)),
        _ => None,
    }
}

/// Text and shadow colours readable on `background`, by shields.io's rule: perceived
/// brightness (ITU-R 601 weights, rounded to two decimals) above 0.69 gets dark text.
fn text_colors(background: &str) -> (&'static str, &'static str) {
    let brightness = rgb(background).map_or(0.0, |(r, g, b)| {
        let weighted = u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114;
        (f64::from(weighted) / 2550.0).round() / 100.0
    });
    if brightness <= 0.69 {
        ("#fff", "#010101")
    } else {
        ("#333", "#ccc")
    }
}

// ---- text metrics ---------------------------------------------------------------

/// Advance widths in px of U+0020..=U+007E in 11px Verdana, as measured by shields.io's
/// `anafanafo` (`packages/anafanafo/data/verdana-11px-normal.json`).
const VERDANA_11_ASCII: [f64; 95] = [
    3.87, 4.33, 5.05, 9.0, 6.99, 11.84, 7.99, 2.95, // ' !"#$%&''
    5.0, 5.0, 6.99, 9.0, 4.0, 5.0, 4.0, 5.0, // ()*+,-./
    6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, // 01234567
    6.99, 6.99, 5.0, 5.0, 9.0, 9.0, 9.0, 6.0, // 89:;<=>?
    11.0, 7.52, 7.54, 7.68, 8.48, 6.96, 6.32, 8.53, // @ABCDEFG
    8.27, 4.63, 5.0, 7.62, 6.12, 9.27, 8.23, 8.66, // HIJKLMNO
    6.63, 8.66, 7.65, 7.52, 6.78, 8.05, 7.52, 10.88, // PQRSTUVW
    7.54, 6.77, 7.54, 5.0, 5.0, 5.0, 9.0, 6.99, // XYZ[\]^_
    6.99, 6.61, 6.85, 5.73, 6.85, 6.55, 3.87, 6.85, // `abcdefg
    6.96, 3.02, 3.79, 6.51, 3.02, 10.7, 6.96, 6.68, // hijklmno
    6.85, 6.85, 4.69, 5.73, 4.33, 6.96, 6.51, 9.0, // pqrstuvw
    6.51, 6.51, 5.78, 6.98, 5.0, 6.98, 9.0, // xyz{|}~
];

/// Same for U+00A0..=U+00FF (Latin-1: accented letters, `©`, `°`, …). The table has no
/// entry for `ÿ`; it is given the width of `y`.
const VERDANA_11_LATIN1: [f64; 96] = [
    3.87, 4.33, 6.99, 6.99, 6.99, 6.99, 5.0, 6.99, //
    6.99, 11.0, 6.0, 7.09, 9.0, 0.0, 11.0, 6.99, //
    5.96, 9.0, 5.96, 5.96, 6.99, 7.06, 6.99, 4.0, //
    6.99, 5.96, 6.0, 7.09, 11.0, 11.0, 11.0, 6.0, //
    7.52, 7.52, 7.52, 7.52, 7.52, 7.52, 10.83, 7.68, //
    6.96, 6.96, 6.96, 6.96, 4.63, 4.63, 4.63, 4.63, //
    8.53, 8.23, 8.66, 8.66, 8.66, 8.66, 8.66, 9.0, //
    8.66, 8.05, 8.05, 8.05, 8.05, 6.77, 6.66, 6.82, //
    6.61, 6.61, 6.61, 6.61, 6.61, 6.61, 10.51, 5.73, //
    6.55, 6.55, 6.55, 6.55, 3.02, 3.02, 3.02, 3.02, //
    6.73, 6.96, 6.68, 6.68, 6.68, 6.68, 6.68, 9.0, //
    6.68, 6.96, 6.96, 6.96, 6.96, 6.51, 6.85, 6.51, //
];

/// Width of `m`, which `anafanafo` assumes for characters it has no width for.
const EM_GUESS: f64 = 10.7;
/// Ideographs, kana, Hangul and full-width forms are one em (11px) in the fallback fonts.
const WIDE: f64 = 11.0;
/// Colour emoji fonts draw wider than an em; err on the generous side.
const EMOJI: f64 = 13.75;

/// Advance width in px of one character in 11px Verdana, with generous guesses for
/// characters outside the embedded tables so that text is never clipped.
pub fn char_width(c: char) -> f64 {
    let cp = u32::from(c);
    match cp {
        0x20..=0x7e => VERDANA_11_ASCII[(cp - 0x20) as usize],
        0xa0..=0xff => VERDANA_11_LATIN1[(cp - 0xa0) as usize],
        // C0/C1 controls (dropped from the SVG), combining marks, zero-width spaces and
        // joiners, bidi controls, variation selectors, the BOM.
        0x00..=0x1f
        | 0x7f..=0x9f
        | 0x0300..=0x036f
        | 0x200b..=0x200f
        | 0x202a..=0x202e
        | 0x2060..=0x2064
        | 0xfe00..=0xfe0f
        | 0xfeff
        | 0xe0100..=0xe01ef => 0.0,
        0x1f000..=0x1faff => EMOJI,
        0x1100..=0x115f
        | 0x2e80..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x20000..=0x3fffd => WIDE,
        _ => EM_GUESS,
    }
}

/// Width in px of `text` in 11px Verdana (unrounded).
pub fn text_width(text: &str) -> f64 {
    text.chars().map(char_width).sum()
}

/// Width shields.io reserves for `text`: the measured width floored, then rounded up to
/// an odd number "to increase chances of pixel grid alignment".
pub fn preferred_width(text: &str) -> u64 {
    // Saturating float-to-int cast; widths are never negative. Setting the lowest bit
    // turns an even width into the next odd one and leaves odd ones alone.
    (text_width(text).floor() as u64) | 1
}

// ---- SVG ------------------------------------------------------------------------

/// Escapes the five XML special characters and drops characters XML 1.0 cannot hold
/// (controls other than tab/newline/CR, U+FFFE, U+FFFF).
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {}
            _ => out.push(c),
        }
    }
    out
}

const HEIGHT: u64 = 20;
const HORIZ_PADDING: u64 = 5;
const LABEL_COLOR: &str = "#555";
const FONT_FAMILY: &str = "Verdana,Geneva,DejaVu Sans,sans-serif";

/// shields.io `flat` (no logo, no links). `color` must already be a safe `#hex`.
fn render_flat(label: &str, message: &str, color: &str) -> String {
    let has_label = !label.is_empty();
    let label_color = if has_label { LABEL_COLOR } else { color };

    let label_width = if has_label { preferred_width(label) } else { 0 };
    let left_width = if has_label {
        label_width + 2 * HORIZ_PADDING
    } else {
        0
    };
    let message_width = preferred_width(message);
    let right_width = message_width + 2 * HORIZ_PADDING;
    let width = left_width + right_width;

    // Margins as in badge-maker: the label starts 1px in; the message starts 1px
    // before the split (or 1px in when there is no label).
    let label_margin = 1;
    let message_margin = if has_label {
        left_width - u64::from(!message.is_empty())
    } else {
        left_width + u64::from(message.is_empty())
    };

    let accessible = if has_label {
        escape_xml(&format!("{label}: {message}"))
    } else {
        escape_xml(message)
    };

    let mut svg = String::with_capacity(1024 + 4 * (label.len() + message.len()));
    // `write!` to a String cannot fail.
    let _ = write!(
        svg,
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}" role="img" aria-label="{a}">"##,
            r##"<title>{a}</title>"##,
            r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
            r##"<clipPath id="r"><rect width="{w}" height="{h}" rx="3" fill="#fff"/></clipPath>"##,
            r##"<g clip-path="url(#r)"><rect width="{lw}" height="{h}" fill="{lc}"/><rect x="{lw}" width="{rw}" height="{h}" fill="{c}"/><rect width="{w}" height="{h}" fill="url(#s)"/></g>"##,
            r##"<g fill="#fff" text-anchor="middle" font-family="{font}" text-rendering="geometricPrecision" font-size="110">"##,
        ),
        w = width,
        h = HEIGHT,
        a = accessible,
        lw = left_width,
        rw = right_width,
        lc = label_color,
        c = color,
        font = FONT_FAMILY,
    );
    if has_label {
        push_text(&mut svg, label, label_margin, label_width, label_color);
    }
    push_text(&mut svg, message, message_margin, message_width, color);
    svg.push_str("</g></svg>");
    svg
}

/// A text with its shadow, centred in its half. Coordinates are in tenths of a pixel
/// (the group is drawn at `scale(.1)` with a 110 font size, for sub-pixel placement).
fn push_text(svg: &mut String, text: &str, margin: u64, text_width: u64, background: &str) {
    if text.is_empty() {
        return;
    }
    let (fill, shadow) = text_colors(background);
    // 10 · (margin + width/2 + padding), exact because it is computed in tenths.
    let x = 10 * margin + 5 * text_width + 10 * HORIZ_PADDING;
    let length = 10 * text_width;
    let escaped = escape_xml(text);
    let _ = write!(
        svg,
        concat!(
            r##"<text aria-hidden="true" x="{x}" y="150" fill="{shadow}" fill-opacity=".3" transform="scale(.1)" textLength="{len}">{t}</text>"##,
            r##"<text x="{x}" y="140" transform="scale(.1)" fill="{fill}" textLength="{len}">{t}</text>"##,
        ),
        x = x,
        shadow = shadow,
        len = length,
        t = escaped,
        fill = fill,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- a tiny XML well-formedness checker ------------------------------------

    #[derive(Debug, PartialEq)]
    struct Element {
        name: String,
        attrs: Vec<(String, String)>,
        children: Vec<Node>,
    }

    #[derive(Debug, PartialEq)]
    enum Node {
        Element(Element),
        Text(String),
    }

    impl Element {
        fn attr(&self, name: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
        fn elements(&self) -> impl Iterator<Item = &Element> {
            self.children.iter().filter_map(|n| match n {
                Node::Element(e) => Some(e),
                Node::Text(_) => None,
            })
        }
        fn text(&self) -> String {
            self.children
                .iter()
                .map(|n| match n {
                    Node::Text(t) => t.clone(),
                    Node::Element(e) => e.text(),
                })
                .collect()
        }
        fn descendants<'a>(&'a self, out: &mut Vec<&'a Element>) {
            for e in self.elements() {
                out.push(e);
                e.descendants(out);
            }
        }
        fn find_all(&self, name: &str) -> Vec<&Element> {
            let mut all = Vec::new();
            self.descendants(&mut all);
            all.into_iter().filter(|e| e.name == name).collect()
        }
    }

    /// Parses the subset of XML an SVG badge uses; rejects anything malformed: unbalanced
    /// tags, unquoted or duplicate attributes, raw `<` or `&` outside entities, unknown
    /// entities, characters XML forbids, trailing content.
    fn parse_xml(input: &str) -> Result<Element, String> {
        let mut p = Parser {
            s: input.as_bytes(),
            i: 0,
        };
        let root = p.element()?;
        if p.i != p.s.len() {
            return Err(format!("trailing content at {}", p.i));
        }
        Ok(root)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }
        fn expect(&mut self, b: u8) -> Result<(), String> {
            if self.peek() == Some(b) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected {:?} at {}", b as char, self.i))
            }
        }
        fn skip_ws(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
                self.i += 1;
            }
        }
        fn name(&mut self) -> Result<String, String> {
            let start = self.i;
            while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'-' || b == b':' || b == b'_')
            {
                self.i += 1;
            }
            if start == self.i {
                return Err(format!("expected a name at {start}"));
            }
            Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
        }
        /// Character data up to `stop`, with entities decoded.
        fn chars_until(&mut self, stop: u8) -> Result<String, String> {
            let mut out = Vec::new();
            loop {
                match self.peek() {
                    None => return Err("unexpected end".into()),
                    Some(b) if b == stop => break,
                    Some(b'<') => return Err(format!("raw '<' at {}", self.i)),
                    Some(b'&') => {
                        let end = self.s[self.i..]
                            .iter()
                            .position(|&b| b == b';')
                            .ok_or("unterminated entity")?;
                        let entity = &self.s[self.i + 1..self.i + end];
                        let decoded: &[u8] = match entity {
                            b"amp" => b"&",
                            b"lt" => b"<",
                            b"gt" => b">",
                            b"quot" => b"\"",
                            b"apos" => b"'",
                            _ => return Err(format!("unknown entity at {}", self.i)),
                        };
                        out.extend_from_slice(decoded);
                        self.i += end + 1;
                    }
                    Some(b) => {
                        if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
                            return Err(format!("control character at {}", self.i));
                        }
                        out.push(b);
                        self.i += 1;
                    }
                }
            }
            String::from_utf8(out).map_err(|e| e.to_string())
        }
        fn element(&mut self) -> Result<Element, String> {
            self.expect(b'<')?;
            let name = self.name()?;
            let mut attrs: Vec<(String, String)> = Vec::new();
            loop {
                let before = self.i;
                self.skip_ws();
                match self.peek() {
                    Some(b'/') => {
                        self.i += 1;
                        self.expect(b'>')?;
                        return Ok(Element {
                            name,
                            attrs,
                            children: Vec::new(),
                        });
                    }
                    Some(b'>') => {
                        self.i += 1;
                        break;
                    }
                    _ => {
                        if before == self.i {
                            return Err(format!("attributes need whitespace at {}", self.i));
                        }
                        let key = self.name()?;
                        self.expect(b'=')?;
                        self.expect(b'"')?;
                        let value = self.chars_until(b'"')?;
                        self.expect(b'"')?;
                        if attrs.iter().any(|(k, _)| *k == key) {
                            return Err(format!("duplicate attribute {key}"));
                        }
                        attrs.push((key, value));
                    }
                }
            }
            let mut children = Vec::new();
            loop {
                if self.s[self.i..].starts_with(b"</") {
                    self.i += 2;
                    let close = self.name()?;
                    if close != name {
                        return Err(format!("<{name}> closed by </{close}>"));
                    }
                    self.expect(b'>')?;
                    return Ok(Element {
                        name,
                        attrs,
                        children,
                    });
                }
                match self.peek() {
                    None => return Err(format!("<{name}> not closed")),
                    Some(b'<') => children.push(Node::Element(self.element()?)),
                    Some(_) => children.push(Node::Text(self.chars_until(b'<')?)),
                }
            }
        }
    }

    #[test]
    fn the_checker_rejects_malformed_xml() {
        for bad in [
            "<a>",
            "<a></b>",
            "<a x=1/>",
            "<a x=\"1\" x=\"2\"/>",
            "<a>&bogus;</a>",
            "<a>x < y</a>",
            "<a>a & b</a>",
            "<a x=\"<\"/>",
            "<a/><b/>",
            "<a>\u{1}</a>",
            "<a x=\"1\"y=\"2\"/>",
        ] {
            assert!(parse_xml(bad).is_err(), "accepted {bad:?}");
        }
        let ok = parse_xml(r#"<a x="&quot;1&apos;"><b>t &amp; &lt;u&gt;</b><c/></a>"#)
            .expect("well-formed");
        assert_eq!(ok.attr("x"), Some("\"1'"));
        assert_eq!(ok.text(), "t & <u>");
    }

    fn svg_of(badge: &Badge) -> Element {
        let svg = badge.to_svg();
        parse_xml(&svg).unwrap_or_else(|e| panic!("{e}: {svg}"))
    }

    fn num(e: &Element, attr: &str) -> u64 {
        e.attr(attr)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{attr} of {e:?}"))
    }

    // ---- SVG structure ---------------------------------------------------------

    /// The exact bytes shields.io's badge-maker produces for `cactus | grown` in
    /// brightgreen (from its snapshot tests, whitespace stripped as it does).
    #[test]
    fn renders_the_same_svg_as_shields_io() {
        let expected = concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="90" height="20" role="img" aria-label="cactus: grown">"##,
            r##"<title>cactus: grown</title>"##,
            r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
            r##"<clipPath id="r"><rect width="90" height="20" rx="3" fill="#fff"/></clipPath>"##,
            r##"<g clip-path="url(#r)"><rect width="45" height="20" fill="#555"/><rect x="45" width="45" height="20" fill="#4c1"/><rect width="90" height="20" fill="url(#s)"/></g>"##,
            r##"<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">"##,
            r##"<text aria-hidden="true" x="235" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="350">cactus</text>"##,
            r##"<text x="235" y="140" transform="scale(.1)" fill="#fff" textLength="350">cactus</text>"##,
            r##"<text aria-hidden="true" x="665" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="350">grown</text>"##,
            r##"<text x="665" y="140" transform="scale(.1)" fill="#fff" textLength="350">grown</text>"##,
            r##"</g></svg>"##,
        );
        assert_eq!(
            Badge::new("cactus", "grown", "brightgreen").to_svg(),
            expected
        );
        assert_eq!(Badge::new("cactus", "grown", "4c1").to_svg(), expected);
    }

    #[test]
    fn message_only_badge_matches_shields_io_geometry() {
        // badge-maker snapshot "message only, no logo": width 45, text x 225.
        let svg = svg_of(&Badge::new("", "grown", "b3e"));
        assert_eq!(num(&svg, "width"), 45);
        assert_eq!(svg.attr("aria-label"), Some("grown"));
        let rects = svg.find_all("rect");
        assert_eq!(num(rects[1], "width"), 0);
        assert_eq!(rects[1].attr("fill"), Some("#b3e"));
        let texts = svg.find_all("text");
        assert_eq!(texts.len(), 2);
        assert!(texts.iter().all(|t| num(t, "x") == 225));
    }

    #[test]
    fn light_backgrounds_get_dark_text_as_in_shields_io() {
        // badge-maker snapshot "black text when the message color is light".
        let svg = svg_of(&Badge::new("cactus", "grown", "e2ffe1"));
        let texts = svg.find_all("text");
        assert_eq!(texts[0].attr("fill"), Some("#010101"));
        assert_eq!(texts[1].attr("fill"), Some("#fff"));
        assert_eq!(texts[2].attr("fill"), Some("#ccc"));
        assert_eq!(texts[3].attr("fill"), Some("#333"));
        // shields' named colours are all dark enough for white text.
        for name in [
            "brightgreen",
            "green",
            "yellowgreen",
            "yellow",
            "orange",
            "red",
            "blue",
        ] {
            let hex = svg_color(name).expect("named");
            assert_eq!(text_colors(&hex).0, "#fff", "{name}");
        }
    }

    #[test]
    fn svg_has_accessibility_gradient_clip_and_shadowed_text() {
        let badge = Badge::uptime("uptime 30d", Period::Month, Some(99.95));
        let svg = svg_of(&badge);
        assert_eq!(svg.name, "svg");
        assert_eq!(svg.attr("xmlns"), Some("http://www.w3.org/2000/svg"));
        assert_eq!(svg.attr("role"), Some("img"));
        assert_eq!(svg.attr("aria-label"), Some("uptime 30d: 99.95%"));
        assert_eq!(num(&svg, "height"), 20);
        let title = svg.find_all("title");
        assert_eq!(title.len(), 1);
        assert_eq!(title[0].text(), "uptime 30d: 99.95%");

        let gradient = svg.find_all("linearGradient");
        assert_eq!(gradient.len(), 1);
        assert_eq!(gradient[0].attr("id"), Some("s"));
        assert_eq!(gradient[0].find_all("stop").len(), 2);
        let clip = svg.find_all("clipPath");
        assert_eq!(clip[0].attr("id"), Some("r"));
        let clip_rect = &clip[0].find_all("rect")[0];
        assert_eq!(clip_rect.attr("rx"), Some("3"));
        assert_eq!(num(clip_rect, "width"), num(&svg, "width"));

        let texts = svg.find_all("text");
        assert_eq!(texts.len(), 4, "label and message, each with a shadow");
        assert_eq!(texts[0].attr("aria-hidden"), Some("true"));
        assert_eq!(texts[0].attr("fill-opacity"), Some(".3"));
        assert_eq!(texts[0].text(), "uptime 30d");
        assert_eq!(texts[1].text(), "uptime 30d");
        assert_eq!(texts[3].text(), "99.95%");
        for t in &texts {
            assert_eq!(t.attr("transform"), Some("scale(.1)"));
        }
        // Shadow 1px (10 units) below the text.
        assert_eq!(num(texts[0], "y"), num(texts[1], "y") + 10);
    }

    #[test]
    fn widths_add_up() {
        for (label, message) in [
            ("uptime", "99.95%"),
            ("a", "b"),
            ("response time", "1.52 s"),
        ] {
            let svg = svg_of(&Badge::new(label, message, "red"));
            let rects = svg.find_all("rect");
            // clip rect, left, right, gradient overlay
            let (left, right) = (&rects[1], &rects[2]);
            let lw = num(left, "width");
            let rw = num(right, "width");
            assert_eq!(num(right, "x"), lw);
            assert_eq!(lw + rw, num(&svg, "width"));
            assert_eq!(lw, preferred_width(label) + 10);
            assert_eq!(rw, preferred_width(message) + 10);
            let texts = svg.find_all("text");
            assert_eq!(num(texts[1], "textLength"), 10 * preferred_width(label));
            assert_eq!(num(texts[3], "textLength"), 10 * preferred_width(message));
            // Each text is centred in its half, in tenths of a pixel: 10·(1 + w/2 + 5).
            assert_eq!(
                num(texts[1], "x") * 2,
                10 * (2 * 6) + 10 * preferred_width(label)
            );
            assert_eq!(
                num(texts[3], "x") * 2,
                10 * 2 * (lw - 1 + 5) + 10 * preferred_width(message)
            );
        }
    }

    #[test]
    fn known_widths_match_shields_io() {
        // u 6.96 + p 6.85 + t 4.33 + i 3.02 + m 10.7 + e 6.55 = 38.41 → 38 → odd 39.
        assert!((text_width("uptime") - 38.41).abs() < 1e-9);
        assert_eq!(preferred_width("uptime"), 39);
        let svg = svg_of(&Badge::new("uptime", "up", "brightgreen"));
        let rects = svg.find_all("rect");
        assert_eq!(num(rects[1], "width"), 49);
        assert_eq!(preferred_width("cactus"), 35);
        assert_eq!(preferred_width("grown"), 35);
        assert_eq!(preferred_width("99.95%"), 43);
        assert_eq!(preferred_width("response time"), 79);
        // anafanafo's own test: 'v1.2.511' at 11px Verdana ≈ 49.48.
        assert!((text_width("v1.2.511") - 49.48).abs() < 0.1);
        assert!((text_width("m") - 10.7).abs() < 1e-9);
    }

    #[test]
    fn empty_text_is_one_pixel_wide_like_shields() {
        assert_eq!(text_width(""), 0.0);
        assert_eq!(preferred_width(""), 1);
        let svg = svg_of(&Badge::new("label", "", "red"));
        assert_eq!(
            svg.find_all("text").len(),
            2,
            "no text element for the message"
        );
        assert_eq!(svg.attr("aria-label"), Some("label: "));
    }

    #[test]
    fn widths_are_monotonic_in_text_length() {
        let mut prev = 0;
        let mut text = String::new();
        for c in "uptime 90d: 99.95% — ünïcödé 稼働率 🚀".chars() {
            text.push(c);
            let w = Badge::new(&text, "x", "red").to_svg();
            let width = num(&parse_xml(&w).expect("xml"), "width");
            assert!(width >= prev, "{text:?}: {width} < {prev}");
            prev = width;
        }
    }

    #[test]
    fn every_printable_ascii_character_has_its_table_width() {
        for b in 0x20u8..=0x7e {
            let w = char_width(char::from(b));
            assert!((2.9..=11.9).contains(&w), "{:?}: {w}", char::from(b));
        }
        assert_eq!(char_width(' '), 3.87);
        assert_eq!(char_width('W'), 10.88);
        assert_eq!(char_width('~'), 9.0);
        assert_eq!(char_width('é'), 6.55);
        assert_eq!(char_width('ÿ'), char_width('y'));
    }

    #[test]
    fn non_ascii_text_gets_a_generous_width_and_does_not_panic() {
        assert_eq!(char_width('稼'), 11.0);
        assert_eq!(char_width('한'), 11.0);
        assert_eq!(char_width('🚀'), 13.75);
        assert_eq!(char_width('Ж'), 10.7);
        assert_eq!(char_width('\u{301}'), 0.0);
        assert_eq!(char_width('\u{200d}'), 0.0);
        for text in [
            "稼働率",
            "🚀🔥",
            "Ωmega",
            "e\u{301}",
            "\u{10ffff}",
            "\u{fffd}",
        ] {
            let badge = Badge::new(text, text, "blue");
            let svg = svg_of(&badge);
            assert!(preferred_width(text) >= 1);
            assert_eq!(svg.find_all("text")[1].text(), text);
            assert!(num(&svg, "width") > 20);
        }
        // Three ideographs are wider than three ASCII letters.
        assert!(preferred_width("稼働率") > preferred_width("abc"));
    }

    // ---- escaping --------------------------------------------------------------

    #[test]
    fn user_text_is_escaped_everywhere() {
        let nasty = r#"<script>alert("x" & 'y')</script>"#;
        let badge = Badge::new(nasty, nasty, "red");
        let raw = badge.to_svg();
        assert!(!raw.contains("<script"), "{raw}");
        assert!(
            raw.contains("&lt;script&gt;alert(&quot;x&quot; &amp; &apos;y&apos;)&lt;/script&gt;")
        );
        let svg = parse_xml(&raw).expect("well-formed");
        assert_eq!(
            svg.attr("aria-label"),
            Some(format!("{nasty}: {nasty}").as_str())
        );
        assert_eq!(svg.find_all("title")[0].text(), format!("{nasty}: {nasty}"));
        for t in svg.find_all("text") {
            assert_eq!(t.text(), nasty);
        }
        // No elements beyond the template's.
        assert!(svg.find_all("script").is_empty());
    }

    #[test]
    fn escape_xml_handles_all_five_and_drops_forbidden_characters() {
        assert_eq!(escape_xml(r#"&<>"'"#), "&amp;&lt;&gt;&quot;&apos;");
        assert_eq!(escape_xml("a\u{0}b\u{1b}c\u{fffe}"), "abc");
        assert_eq!(escape_xml("tab\tok"), "tab\tok");
        assert_eq!(escape_xml("&amp;"), "&amp;amp;");
        let svg = svg_of(&Badge::new("bell\u{7}", "nul\u{0}", "red"));
        assert_eq!(svg.attr("aria-label"), Some("bell: nul"));
    }

    #[test]
    fn malicious_colors_cannot_inject_markup() {
        for color in [
            r#"red" onload="alert(1)"#,
            "4c1\"/><script>alert(1)</script>",
            "url(javascript:alert(1))",
            "#12345",
            "#1234567",
            "ggg",
            "",
            "rgb(0,0,0)",
            "red;",
        ] {
            let badge = Badge::new("x", "y", color);
            assert_eq!(badge.color, color, "stored as given");
            let raw = badge.to_svg();
            let svg = parse_xml(&raw).unwrap_or_else(|e| panic!("{color:?}: {e}"));
            assert!(!raw.contains("script") && !raw.contains("onload"), "{raw}");
            let rects = svg.find_all("rect");
            assert_eq!(rects[2].attr("fill"), Some("#9f9f9f"), "{color:?}");
        }
    }

    #[test]
    fn colours_accept_names_aliases_and_hex() {
        assert_eq!(svg_color("brightgreen").as_deref(), Some("#4c1"));
        assert_eq!(svg_color("success").as_deref(), Some("#4c1"));
        assert_eq!(svg_color("green").as_deref(), Some("#97ca00"));
        assert_eq!(svg_color("yellowgreen").as_deref(), Some("#a4a61d"));
        assert_eq!(svg_color("yellow").as_deref(), Some("#dfb317"));
        assert_eq!(svg_color("orange").as_deref(), Some("#fe7d37"));
        assert_eq!(svg_color("important").as_deref(), Some("#fe7d37"));
        assert_eq!(svg_color("red").as_deref(), Some("#e05d44"));
        assert_eq!(svg_color("critical").as_deref(), Some("#e05d44"));
        assert_eq!(svg_color("blue").as_deref(), Some("#007ec6"));
        assert_eq!(svg_color("informational").as_deref(), Some("#007ec6"));
        assert_eq!(svg_color("grey").as_deref(), Some("#555"));
        assert_eq!(svg_color("gray").as_deref(), Some("#555"));
        assert_eq!(svg_color("lightgrey").as_deref(), Some("#9f9f9f"));
        assert_eq!(svg_color("lightgray").as_deref(), Some("#9f9f9f"));
        assert_eq!(svg_color("inactive").as_deref(), Some("#9f9f9f"));
        assert_eq!(svg_color("Red").as_deref(), Some("#e05d44"));
        assert_eq!(svg_color("ABC").as_deref(), Some("#abc"));
        assert_eq!(svg_color("#A1B2C3").as_deref(), Some("#a1b2c3"));
        assert_eq!(svg_color(" 4c1 ").as_deref(), Some("#4c1"));
        assert_eq!(svg_color("##4c1"), None);
        assert_eq!(svg_color("purple"), None);
        assert_eq!(svg_color("4c1f"), None);
    }

    #[test]
    fn rgb_parses_short_and_long_hex() {
        assert_eq!(rgb("#4c1"), Some((0x44, 0xcc, 0x11)));
        assert_eq!(rgb("#e05d44"), Some((0xe0, 0x5d, 0x44)));
        assert_eq!(rgb("#xyz"), None);
        assert_eq!(rgb("4c1"), None);
        assert_eq!(rgb("#é1"), None);
    }

    // ---- constructors ----------------------------------------------------------

    #[test]
    fn status_badges() {
        let cases = [
            (Status::Up, "up", colors::BRIGHTGREEN),
            (Status::Down, "down", colors::RED),
            (Status::Pending, "pending", colors::LIGHTGREY),
            (Status::Paused, "paused", colors::BLUE),
        ];
        for (status, message, color) in cases {
            let b = Badge::status("api", status);
            assert_eq!(
                (b.label.as_str(), b.message.as_str(), b.color.as_str()),
                ("api", message, color)
            );
            svg_of(&b);
        }
    }

    #[test]
    fn uptime_is_floored_to_two_decimals() {
        for (pct, shown) in [
            (100.0, "100.00%"),
            (99.999, "99.99%"),
            (99.99999999999, "99.99%"),
            (99.995, "99.99%"),
            (99.95, "99.95%"),
            (99.949, "99.94%"),
            (99.9, "99.90%"),
            (0.29, "0.29%"),
            (1.13, "1.13%"),
            (57.1, "57.10%"),
            (33.333_333, "33.33%"),
            (66.666_666, "66.66%"),
            (0.0, "0.00%"),
            (0.009, "0.00%"),
            (-3.0, "0.00%"),
            (150.0, "100.00%"),
        ] {
            assert_eq!(format_uptime(pct), shown, "{pct}");
        }
    }

    #[test]
    fn uptime_colours_follow_the_thresholds() {
        for (pct, color) in [
            (100.0, colors::BRIGHTGREEN),
            (99.9, colors::BRIGHTGREEN),
            (99.89, colors::GREEN),
            (99.0, colors::GREEN),
            (98.99, colors::YELLOWGREEN),
            (97.0, colors::YELLOWGREEN),
            (96.99, colors::YELLOW),
            (95.0, colors::YELLOW),
            (94.99, colors::ORANGE),
            (90.0, colors::ORANGE),
            (89.99, colors::RED),
            (0.0, colors::RED),
        ] {
            assert_eq!(uptime_color(pct), color, "{pct}");
        }
    }

    #[test]
    fn uptime_badges() {
        let b = Badge::uptime("uptime 30d", Period::Month, Some(99.999));
        assert_eq!(
            (b.message.as_str(), b.color.as_str()),
            ("99.99%", colors::BRIGHTGREEN)
        );
        let b = Badge::uptime("uptime 7d", Period::Week, Some(92.5));
        assert_eq!(
            (b.message.as_str(), b.color.as_str()),
            ("92.50%", colors::ORANGE)
        );
        let b = Badge::uptime("uptime 24h", Period::Day, None);
        assert_eq!(
            (b.message.as_str(), b.color.as_str()),
            (NO_DATA, colors::LIGHTGREY)
        );
        let b = Badge::uptime("uptime", Period::Day, Some(f64::NAN));
        assert_eq!(b.message, NO_DATA);
        svg_of(&b);
    }

    #[test]
    fn default_uptime_labels_name_the_period() {
        assert_eq!(Badge::default_uptime_label(Period::Day), "uptime 24h");
        assert_eq!(Badge::default_uptime_label(Period::Week), "uptime 7d");
        assert_eq!(Badge::default_uptime_label(Period::Month), "uptime 30d");
        assert_eq!(Badge::default_uptime_label(Period::Quarter), "uptime 90d");
    }

    #[test]
    fn response_times_are_formatted_in_ms_then_seconds() {
        for (ms, shown) in [
            (0.0, "0 ms"),
            (-5.0, "0 ms"),
            (0.4, "0 ms"),
            (123.4, "123 ms"),
            (123.5, "124 ms"),
            (999.4, "999 ms"),
            (999.5, "1.00 s"),
            (1000.0, "1.00 s"),
            (1515.0, "1.52 s"),
            (1524.0, "1.52 s"),
            (12_345.0, "12.35 s"),
            (600_000.0, "600.00 s"),
        ] {
            assert_eq!(format_response_time(ms), shown, "{ms}");
        }
    }

    #[test]
    fn response_time_colours_follow_the_thresholds() {
        for (ms, color) in [
            (0.0, colors::BRIGHTGREEN),
            (299.9, colors::BRIGHTGREEN),
            (300.0, colors::GREEN),
            (699.9, colors::GREEN),
            (700.0, colors::YELLOW),
            (1499.0, colors::YELLOW),
            (1500.0, colors::ORANGE),
            (2999.0, colors::ORANGE),
            (3000.0, colors::RED),
            (1e9, colors::RED),
        ] {
            assert_eq!(response_time_color(ms), color, "{ms}");
        }
    }

    #[test]
    fn response_time_badges() {
        let b = Badge::response_time("response time", Some(123.4));
        assert_eq!(
            (b.message.as_str(), b.color.as_str()),
            ("123 ms", colors::BRIGHTGREEN)
        );
        let b = Badge::response_time("response time", Some(1520.0));
        assert_eq!(
            (b.message.as_str(), b.color.as_str()),
            ("1.52 s", colors::ORANGE)
        );
        let b = Badge::response_time("response time", None);
        assert_eq!(
            (b.message.as_str(), b.color.as_str()),
            (NO_DATA, colors::LIGHTGREY)
        );
        let b = Badge::response_time("response time", Some(f64::NAN));
        assert_eq!(b.message, NO_DATA);
    }

    #[test]
    fn badge_serialises_as_shields_endpoint_json() {
        let b = Badge::status("api", Status::Up);
        let json = serde_json::to_value(&b).expect("serialise");
        assert_eq!(
            json,
            serde_json::json!({"schemaVersion": 1, "label": "api", "message": "up", "color": "4c1"})
        );
        let back: Badge = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, b);
    }

    proptest! {
        #[test]
        fn any_text_and_colour_render_well_formed_svg(
            label in any::<String>(),
            message in any::<String>(),
            color in any::<String>(),
        ) {
            let raw = Badge::new(&label, &message, &color).to_svg();
            let svg = parse_xml(&raw);
            prop_assert!(svg.is_ok(), "{:?}: {}", svg.err(), raw);
        }

        #[test]
        fn appending_text_never_narrows_the_badge(a in ".{0,20}", b in ".{0,20}") {
            let joined = format!("{a}{b}");
            prop_assert!(preferred_width(&joined) >= preferred_width(&a));
            prop_assert!(text_width(&joined) >= text_width(&a));
        }

        #[test]
        fn uptime_text_never_exceeds_the_value(pct in 0.0f64..=100.0) {
            let shown = format_uptime(pct);
            let value: f64 = shown.trim_end_matches('%').parse().unwrap_or(f64::NAN);
            prop_assert!(value <= pct + 1e-8, "{} > {}", shown, pct);
            prop_assert!(pct - value < 0.01 + 1e-9, "{} vs {}", shown, pct);
            if pct < 100.0 {
                prop_assert_ne!(shown, "100.00%");
            }
        }
    }
}
