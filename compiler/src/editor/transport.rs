//! The language server's wire: the LSP base protocol (`Content-Length`
//! framed JSON-RPC) over a byte stream, made safe against any client.
//!
//! `lsp-server`'s own stdio transport trusts its peer: it allocates whatever
//! `Content-Length` says before the body arrives (a zero-filled 3.9 GB for
//! 4,000,000,000, a panic for 2^64 − 1) and stops the server on the first
//! malformed header or body. Here every message is bounded and every bad
//! one is answered, as JSON-RPC 2.0 asks, and then forgotten:
//!
//! - a header line is at most [`MAX_HEADER_LINE`] bytes and a header at
//!   most [`MAX_HEADER_LINES`] lines; a body at most [`MAX_MESSAGE_BYTES`]
//!   (a larger one is read and discarded in small pieces, never stored);
//! - a malformed header or a body that is not JSON gets a Parse error
//!   (−32700), JSON that is not a request, response or notification an
//!   Invalid Request error (−32600), with the request's `id` when it has a
//!   usable one and `null` otherwise;
//! - after a header without a usable length the stream is resynchronised at
//!   the next `Content-Length:` (looked for only in the first line of a
//!   header, where such a body runs into the next message);
//! - a body holds at most [`MAX_JSON_VALUES`] JSON values: a parsed value
//!   takes tens of bytes per byte of `[0,0,…]`, so the byte limit alone let
//!   one 60 MiB message take 2.5 GB;
//! - a stream that is not the base protocol at all (a line of more than
//!   [`MAX_GARBAGE_LINE`] bytes without a line break, as `/dev/zero` is)
//!   ends the server with an error instead of being read forever.

use std::io::{self, BufRead, Read, Write};

use lsp_server::Message;
use serde_json::{Value, json};

/// The largest message body accepted: 64 MiB (a 16 MiB document, the
/// largest the server checks, escaped as JSON, fits).
pub const MAX_MESSAGE_BYTES: u64 = 64 << 20;
/// The longest header line accepted, in bytes.
pub const MAX_HEADER_LINE: usize = 8 << 10;
/// The most header lines one message may have.
pub const MAX_HEADER_LINES: usize = 32;
/// The longest line the reader skips before it decides that the stream is
/// not the base protocol: 1 MiB.
pub const MAX_GARBAGE_LINE: usize = 1 << 20;
/// The most JSON values (each number, string, literal, array or object
/// counts one) a message may hold. Protocol messages hold few: a document
/// travels as one string, and an edit is nine values.
pub const MAX_JSON_VALUES: usize = 1 << 18;

/// JSON-RPC 2.0 error codes.
pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;

/// One thing read from the client.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// A response of the client's that `lsp_server` cannot represent (an
    /// error response whose id is `null`): nothing to do, and above all
    /// nothing to answer.
    Ignored,
    /// Something that is not a message; the error response it deserves.
    Invalid {
        id: Value,
        code: i32,
        message: String,
    },
}

/// An error response to anything (the id may be `null`, which
/// `lsp_server::Response` cannot express).
pub fn error_response(id: Value, code: i32, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Reads one line of at most `MAX_HEADER_LINE` bytes (the rest of a longer
/// line is consumed and dropped); `None` at the end of the input; an error
/// past [`MAX_GARBAGE_LINE`] bytes without a line break.
fn read_line(r: &mut impl BufRead) -> io::Result<Option<(Vec<u8>, bool)>> {
    let mut line = Vec::new();
    let mut too_long = false;
    let mut any = false;
    let mut consumed = 0usize;
    loop {
        if consumed > MAX_GARBAGE_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a line of more than {} MiB without a line break: the input is not the LSP base protocol",
                    MAX_GARBAGE_LINE >> 20
                ),
            ));
        }
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some((line, too_long)));
        }
        any = true;
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let room = MAX_HEADER_LINE.saturating_sub(line.len());
        too_long |= chunk.len() > room;
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        consumed += n;
        r.consume(n);
        if done {
            return Ok(Some((line, too_long)));
        }
    }
}

/// What a header said.
enum Length {
    Missing,
    Bad(String),
    Bytes(u64),
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.to_ascii_lowercase().find(needle)
}

/// Reads the next message; `None` at the end of the input (also in the
/// middle of a message: there is nobody left to answer).
pub fn read(r: &mut impl BufRead) -> io::Result<Option<Incoming>> {
    let mut length = Length::Missing;
    let mut problem: Option<String> = None;
    let mut lines = 0usize;
    loop {
        let Some((bytes, too_long)) = read_line(r)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() && !too_long {
            if lines == 0 {
                // A blank line between messages: tolerated.
                continue;
            }
            break;
        }
        lines += 1;
        if too_long {
            problem.get_or_insert(format!("header line longer than {MAX_HEADER_LINE} bytes"));
            continue;
        }
        if lines > MAX_HEADER_LINES {
            problem.get_or_insert(format!("more than {MAX_HEADER_LINES} header lines"));
            continue;
        }
        // A header line is `Name: value`. After a message whose length was
        // unknown, its body runs into the next header's first line:
        // resynchronise there. (That body was answered already, as a
        // message without a length.) Only there: in any other line a
        // `content-length:` is part of some other header's value.
        let header = match find_ascii_ci(text, "content-length:") {
            Some(at) if lines == 1 => &text[at..],
            _ => text,
        };
        let Some((name, value)) = header.split_once(':') else {
            problem.get_or_insert(format!("malformed header line `{}`", clip(text)));
            continue;
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value = value.trim();
            // Digits only: `u64::from_str` also takes a leading `+`.
            let parsed = match value.bytes().all(|b| b.is_ascii_digit()) {
                true => value.parse::<u64>().ok(),
                false => None,
            };
            length = match (parsed, &length) {
                (None, _) => {
                    Length::Bad(format!("Content-Length `{}` is not a length", clip(value)))
                }
                (Some(n), Length::Bytes(m)) if n != *m => {
                    Length::Bad(format!("two Content-Length headers disagree ({m} and {n})"))
                }
                (_, Length::Bad(why)) => Length::Bad(why.clone()),
                (Some(n), _) => Length::Bytes(n),
            };
        }
    }
    let n = match length {
        Length::Bytes(n) => n,
        Length::Missing => {
            let why = problem.unwrap_or_else(|| "no Content-Length header".to_string());
            return Ok(Some(invalid(Value::Null, PARSE_ERROR, why)));
        }
        Length::Bad(why) => return Ok(Some(invalid(Value::Null, PARSE_ERROR, why))),
    };
    if n > MAX_MESSAGE_BYTES {
        // Read and drop it in pieces: nothing of its size is allocated.
        let skipped = io::copy(&mut r.take(n), &mut io::sink())?;
        if skipped < n {
            return Ok(None);
        }
        return Ok(Some(invalid(
            Value::Null,
            INVALID_REQUEST,
            format!(
                "a message of {n} bytes is larger than the limit of {} MiB",
                MAX_MESSAGE_BYTES >> 20
            ),
        )));
    }
    // Grows as the body arrives, so a length without a body costs nothing.
    let mut body = Vec::new();
    r.take(n).read_to_end(&mut body)?;
    if (body.len() as u64) < n {
        return Ok(None);
    }
    if let Some(why) = problem {
        return Ok(Some(invalid(Value::Null, PARSE_ERROR, why)));
    }
    if json_values_exceed(&body, MAX_JSON_VALUES) {
        return Ok(Some(invalid(
            Value::Null,
            INVALID_REQUEST,
            format!("a message of more than {MAX_JSON_VALUES} JSON values"),
        )));
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return Ok(Some(invalid(
                Value::Null,
                PARSE_ERROR,
                format!("invalid JSON: {e}"),
            )));
        }
    };
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    if !value.is_object() {
        return Ok(Some(invalid(
            id,
            INVALID_REQUEST,
            "not a JSON-RPC message (an object)".to_string(),
        )));
    }
    // A response (no `method`, a `result` or an `error`) is never answered,
    // whatever its id: a client answering an error about its error with
    // another one would loop forever.
    let is_response = value.get("method").is_none()
        && (value.get("result").is_some() || value.get("error").is_some());
    if is_response && value.get("id").is_none_or(Value::is_null) {
        return Ok(Some(Incoming::Ignored));
    }
    if value.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        if is_response {
            return Ok(Some(Incoming::Ignored));
        }
        return Ok(Some(invalid(
            id,
            INVALID_REQUEST,
            "not JSON-RPC 2.0: `\"jsonrpc\": \"2.0\"` is missing".to_string(),
        )));
    }
    // `lsp_server` reads a message whose `id` is not an `i32` or a string
    // (`4294967296`, `1.5`, `null`, `true`, `{}`) as a notification, its id
    // dropped: a request that was never answered, its client waiting on it
    // forever. It is a request with an invalid id; its id is echoed if it is
    // a number, so that a client counting past `i32` can match the error.
    if value.get("method").is_some()
        && let Some(bad) = value.get("id").filter(|id| !valid_id(id))
    {
        return Ok(Some(invalid(
            id,
            INVALID_REQUEST,
            format!(
                "the id {} is not a string or an integer of 32 bits",
                clip(&bad.to_string())
            ),
        )));
    }
    Ok(Some(match serde_json::from_value::<Message>(value) {
        Ok(m) => Incoming::Message(m),
        Err(e) => invalid(
            id,
            INVALID_REQUEST,
            format!("not a request, response or notification: {e}"),
        ),
    }))
}

/// Whether the JSON text `body` holds more than `limit` values, counted
/// without parsing it: every value but the first follows a `[`, `,` or `:`
/// outside strings (an empty `[]` or `{}` counts one too many, which only
/// errs towards the limit). Invalid JSON is counted all the same; the
/// parser that runs after this reports it.
fn json_values_exceed(body: &[u8], limit: usize) -> bool {
    let mut values = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b',' | b':' => {
                values += 1;
                if values > limit {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether `id` is one `lsp_server` reads as a request id: a string or an
/// integer that fits `i32`.
fn valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        Value::Number(n) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        _ => false,
    }
}

fn invalid(id: Value, code: i32, message: String) -> Incoming {
    Incoming::Invalid { id, code, message }
}

/// At most 80 chars of `s`, for quoting in an error message.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Writes one message, already JSON text, with its header and flushes.
pub fn write_text(w: &mut impl Write, body: &str) -> io::Result<()> {
    write!(w, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    fn read_all(input: &[u8]) -> Vec<Incoming> {
        let mut r = io::BufReader::new(input);
        let mut out = Vec::new();
        while let Some(m) = read(&mut r).unwrap() {
            out.push(m);
        }
        out
    }

    fn codes(msgs: &[Incoming]) -> Vec<i32> {
        msgs.iter()
            .map(|m| match m {
                Incoming::Message(_) => 0,
                Incoming::Ignored => 1,
                Incoming::Invalid { code, .. } => *code,
            })
            .collect()
    }

    const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    #[test]
    fn hostile_headers_are_answered_and_skipped() {
        let mut input = String::new();
        // A length that would overflow, one that is absurd but honest, and
        // one that is not a number.
        input.push_str("Content-Length: 18446744073709551616\r\n\r\n");
        input.push_str(&frame(PING));
        input.push_str("Content-Length: abc\r\n\r\n");
        input.push_str(&frame(PING));
        input.push_str("no colon here\r\n\r\n");
        input.push_str(&frame(PING));
        input.push_str(&format!("X-Long: {}\r\n", "x".repeat(MAX_HEADER_LINE)));
        input.push_str(&frame(PING));
        let msgs = read_all(input.as_bytes());
        assert_eq!(
            codes(&msgs),
            [PARSE_ERROR, 0, PARSE_ERROR, 0, PARSE_ERROR, 0, PARSE_ERROR]
        );
    }

    #[test]
    fn oversized_bodies_are_skipped_without_being_stored() {
        let big = MAX_MESSAGE_BYTES + 10;
        let mut input = format!("Content-Length: {big}\r\n\r\n").into_bytes();
        input.resize(input.len() + big as usize, b' ');
        input.extend_from_slice(frame(PING).as_bytes());
        let msgs = read_all(&input);
        assert_eq!(codes(&msgs), [INVALID_REQUEST, 0]);
        // A length far beyond the input ends the stream, without allocating it.
        let msgs = read_all(b"Content-Length: 4000000000\r\n\r\n{}");
        assert!(msgs.is_empty());
    }

    #[test]
    fn bad_bodies_get_the_right_error() {
        let mut input = String::new();
        for body in [
            "{not json",
            "[1, 2]",
            r#"{"jsonrpc":"2.0","id":7,"method":5}"#,
            &"[".repeat(10_000),
            PING,
        ] {
            input.push_str(&frame(body));
        }
        let msgs = read_all(input.as_bytes());
        assert_eq!(
            codes(&msgs),
            [
                PARSE_ERROR,
                INVALID_REQUEST,
                INVALID_REQUEST,
                PARSE_ERROR,
                0
            ]
        );
        let Incoming::Invalid { id, .. } = &msgs[2] else {
            panic!()
        };
        assert_eq!(*id, json!(7), "the id of an invalid request is echoed");
    }

    #[test]
    fn a_line_without_end_is_not_the_protocol() {
        let mut r = io::BufReader::new(io::repeat(0));
        let e = read(&mut r).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn json_values_are_counted_outside_strings() {
        assert!(!json_values_exceed(br#"{"a":[1,2,3]}"#, 5));
        assert!(json_values_exceed(br#"{"a":[1,2,3,4]}"#, 5));
        assert!(!json_values_exceed(br#"{"a":"[,,,:,\",,,]"}"#, 2));
        let edits = format!("[{}0]", "0,".repeat(MAX_JSON_VALUES));
        let msgs = read_all(frame(&edits).as_bytes());
        assert_eq!(codes(&msgs), [INVALID_REQUEST]);
    }

    #[test]
    fn lengths_are_digits_and_agree() {
        let body = PING;
        let mut input = format!("Content-Length: +{}\r\n\r\n{body}", body.len());
        input.push_str(&format!(
            "Content-Length: {}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len(),
            body.len()
        ));
        let msgs = read_all(input.as_bytes());
        // `+N` is refused; its body runs into the next header, where the
        // stream resynchronises; two equal lengths are one.
        assert_eq!(codes(&msgs), [PARSE_ERROR, 0]);
    }

    #[test]
    fn a_body_without_length_resynchronises_at_the_next_header() {
        let input = format!("Content-Type: x\r\n\r\n{PING}{}", frame(PING));
        let msgs = read_all(input.as_bytes());
        assert_eq!(codes(&msgs), [PARSE_ERROR, 0]);
    }
}
