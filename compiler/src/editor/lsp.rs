//! `kplc lsp`: a Language Server over stdio.
//!
//! Built on `lsp-server` (rust-analyzer's synchronous scaffold: crossbeam
//! channels, no async runtime) because the server is a loop that owns the
//! salsa database: a change is a `&mut` setter, a request a query. An async
//! framework (tower-lsp-server) would force the database behind a lock and
//! pull in tokio for nothing. The protocol types come from `lsp-types` 0.97,
//! used only in this module, so swapping them (e.g. for gen-lsp-types) stays
//! local.
//!
//! Positions are UTF-16 code units, the protocol's default encoding, which
//! the server announces; [`Position16`] converts them to and from byte
//! offsets (lines end at `\n`, `\r\n` or a lone `\r`). Text is synchronised
//! in full on every change; ranged changes are applied too, to a rope
//! ([`super::text`]).
//!
//! The wire is [`super::transport`], not `lsp-server`'s stdio transport:
//! messages are bounded and every malformed one gets a JSON-RPC error while
//! the server carries on. A reader thread parses messages ahead of the main
//! loop, so when edits arrive faster than they can be checked they queue
//! up; the loop applies every queued change before it checks and publishes,
//! and a burst of edits costs about one check. A request the client
//! cancels (`$/cancelRequest`) before the loop takes it is answered with
//! `RequestCancelled` and not computed. After `shutdown` every request is
//! answered with an Invalid Request error until `exit`.
//!
//! Both directions are bounded: the reader waits while the main loop has
//! [`QUEUE_BYTES`] of messages to take, and the main loop waits while the
//! writer has [`OUT_QUEUE_BYTES`] of answers the client has not read (a
//! client that stops reading while it sends requests would otherwise grow
//! the server without end). A failed write to the client ends the server
//! with that error (exit status 2).

use std::collections::HashMap;
use std::error::Error;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use kpl_lang::diag::Applicability;
use kpl_lang::imports::ImportTable;
use kpl_lang::{LineIndex, Severity, Span};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lt;
use serde_json::Value;

use super::ide;
use super::text::{PendingText, Position as TextPosition};
use super::transport::{self, INVALID_REQUEST, Incoming};
use crate::db::{self, Db, SourceFile};
use crate::render;
use kpl_codegen::std_imports::ImportSources;

/// Byte offset ↔ LSP position (0-based line, UTF-16 column) for one text.
pub struct Position16<'a> {
    text: &'a str,
    lines: LineIndex,
}

impl<'a> Position16<'a> {
    pub fn new(text: &'a str) -> Self {
        Position16 {
            text,
            lines: LineIndex::new(text),
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn position(&self, offset: u32) -> lt::Position {
        let (line, col) = self.lines.line_col_utf16(self.text, offset as usize);
        lt::Position::new(line as u32, col as u32)
    }

    pub fn range(&self, span: Span) -> lt::Range {
        lt::Range::new(self.position(span.start), self.position(span.end))
    }

    /// Byte offset of a position; positions past the end of a line or of the
    /// text are clamped, and a column inside a surrogate pair moves to the
    /// character's end (the test below says so).
    pub fn offset(&self, p: lt::Position) -> u32 {
        self.lines
            .offset_utf16(self.text, p.line as usize, p.character as usize) as u32
    }
}

struct Document {
    file: SourceFile,
    version: i32,
    /// The text after changes not yet given to the database.
    pending: Option<PendingText>,
}

struct Server {
    db: Db,
    imports: Arc<ImportTable>,
    sources: ImportSources,
    docs: HashMap<String, Document>,
    /// Documents changed since their diagnostics were last published, in
    /// the order they were first changed.
    dirty: Vec<lt::Uri>,
}

/// Diagnostics published for one document at most, errors first (see
/// [`render::shown`]), and then one more that says how many were left out.
/// A file that is one flood of mistakes gave a 94 MB notification with
/// 208,000 diagnostics, which took the server and its client 11 s.
const EDITOR_SHOWN: usize = 1000;

/// Messages parsed ahead of the main loop: the reader waits while this many
/// wait, or while they came to [`QUEUE_BYTES`] (one message may always wait,
/// and is at most [`transport::MAX_MESSAGE_BYTES`]). Enough for a burst of
/// tens of thousands of small edits to be read while one check runs, so
/// that the next check sees all of them: with a queue of 256 messages, the
/// 20,000 edits of a client typing into a megabyte cost 46 checks.
const QUEUE_MESSAGES: usize = 1 << 16;
const QUEUE_BYTES: usize = 64 << 20;
/// Answers written ahead of the client's reading: the main loop waits
/// while this many wait, or while they came to [`OUT_QUEUE_BYTES`] (one
/// may always wait, however large).
const OUT_QUEUE_MESSAGES: usize = 1 << 12;
const OUT_QUEUE_BYTES: usize = 16 << 20;

/// What one side has queued and the other not yet taken: messages and
/// their bytes, under limits of both.
struct Queued {
    level: std::sync::Mutex<(usize, usize)>,
    taken: std::sync::Condvar,
    max_messages: usize,
    max_bytes: usize,
    /// The taking side is gone (the writer failed): nobody waits for room.
    closed: std::sync::atomic::AtomicBool,
}

impl Queued {
    fn new(max_messages: usize, max_bytes: usize) -> Queued {
        Queued {
            level: std::sync::Mutex::new((0, 0)),
            taken: std::sync::Condvar::new(),
            max_messages,
            max_bytes,
            closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The taking side is gone: every wait for room ends, and none starts.
    fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        // Under the lock, so that a waiter between its test and its wait
        // is not missed.
        let _level = self.level.lock();
        self.taken.notify_all();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits for room for a message of `bytes`, then counts it in.
    fn admit(&self, bytes: usize) {
        let Ok(mut level) = self.level.lock() else {
            return;
        };
        while !self.is_closed()
            && level.0 > 0
            && (level.0 >= self.max_messages || level.1 + bytes > self.max_bytes)
        {
            level = match self.taken.wait(level) {
                Ok(l) => l,
                Err(_) => return,
            };
        }
        level.0 += 1;
        level.1 += bytes;
    }

    /// Counts a message of `bytes` out, and wakes the reader.
    fn release(&self, bytes: usize) {
        if let Ok(mut level) = self.level.lock() {
            level.0 = level.0.saturating_sub(1);
            level.1 = level.1.saturating_sub(bytes);
        }
        self.taken.notify_one();
    }
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    bytes: usize,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n;
        Ok(n)
    }
}

/// Answers on their way to the client, bounded by `queued`: `send` waits
/// for room (see [`OUT_QUEUE_BYTES`]).
struct Outgoing {
    tx: Sender<String>,
    queued: Arc<Queued>,
}

impl Outgoing {
    fn send(&self, msg: String) -> Result<(), &'static str> {
        self.queued.admit(msg.len());
        if self.queued.is_closed() {
            return Err("the output channel closed");
        }
        self.tx.send(msg).map_err(|_| "the output channel closed")
    }
}

/// Requests the client cancelled (`$/cancelRequest`) before the main loop
/// took them: the reader thread, which parses ahead, notes each one here;
/// the loop answers such a request with `RequestCancelled` instead of
/// computing it, and forgets the id when it reaches the cancellation
/// itself. At most [`MAX_CANCELLED`] ids are held (a client cancelling
/// more while the loop is busy just gets those answers computed).
#[derive(Default)]
struct Cancelled(std::sync::Mutex<std::collections::HashSet<RequestId>>);

/// Ids [`Cancelled`] holds at most.
const MAX_CANCELLED: usize = 4096;

impl Cancelled {
    fn note(&self, id: RequestId) {
        if let Ok(mut set) = self.0.lock()
            && set.len() < MAX_CANCELLED
        {
            set.insert(id);
        }
    }

    /// Whether `id` was cancelled; it is forgotten either way.
    fn take(&self, id: &RequestId) -> bool {
        self.0.lock().is_ok_and(|mut set| set.remove(id))
    }
}

/// The id a `$/cancelRequest` names (a number or a string), if it is one.
fn cancelled_id(n: &Notification) -> Option<RequestId> {
    if n.method != "$/cancelRequest" {
        return None;
    }
    match n.params.get("id")? {
        Value::Number(k) => Some(RequestId::from(i32::try_from(k.as_i64()?).ok()?)),
        Value::String(s) => Some(RequestId::from(s.clone())),
        _ => None,
    }
}

/// What the reader thread hands the main loop: a message with its size on
/// the wire, or, as its last item, why the input cannot be read on (it is
/// not the base protocol).
type FromClient = Result<(Incoming, usize), String>;

/// Starts the threads that read stdin and write stdout. Each message comes
/// with its size on the wire, which the main loop hands back to `queued`.
/// The writer ends at the first failed write, with its error. The reader
/// notes every cancellation it parses in `cancelled`.
fn stdio(
    queued: Arc<Queued>,
    cancelled: Arc<Cancelled>,
) -> (
    Receiver<FromClient>,
    Outgoing,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    let (in_tx, in_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = BufReader::new(Counting {
            inner: std::io::stdin().lock(),
            bytes: 0,
        });
        loop {
            // What the buffer holds was counted but not yet parsed.
            let before = stdin.get_ref().bytes - stdin.buffer().len();
            let msg = match transport::read(&mut stdin) {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(e) => {
                    // The last item: the loop ends on it, with its reason.
                    let _ = in_tx.send(Err(e.to_string()));
                    break;
                }
            };
            let size = stdin.get_ref().bytes - stdin.buffer().len() - before;
            if let Incoming::Message(Message::Notification(n)) = &msg
                && let Some(id) = cancelled_id(n)
            {
                cancelled.note(id);
            }
            queued.admit(size);
            if in_tx.send(Ok((msg, size))).is_err() {
                break;
            }
        }
    });
    let (out_tx, out_rx) = std::sync::mpsc::channel::<String>();
    let out_queued = Arc::new(Queued::new(OUT_QUEUE_MESSAGES, OUT_QUEUE_BYTES));
    let written = out_queued.clone();
    let writer = std::thread::spawn(move || {
        let mut stdout = std::io::stdout().lock();
        for msg in out_rx {
            if let Err(e) = transport::write_text(&mut stdout, &msg) {
                // The loop may be waiting for room that will never come.
                written.close();
                return Err(e);
            }
            written.release(msg.len());
        }
        Ok(())
    });
    let out = Outgoing {
        tx: out_tx,
        queued: out_queued,
    };
    (in_rx, out, writer)
}

/// The JSON of a message, `jsonrpc` included, as `lsp-server` writes it.
/// A response's result and a notification's parameters, already JSON, are
/// moved in, not serialized again. (The results of requests, which can be
/// tens of megabytes, do not come this way: see [`ok_text`].)
fn to_value(msg: impl Into<Message>) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("jsonrpc".to_string(), Value::from("2.0"));
    let id = |id: RequestId| serde_json::to_value(id).unwrap_or(Value::Null);
    match msg.into() {
        Message::Response(r) => {
            o.insert("id".to_string(), id(r.id));
            match r.response_result {
                Ok(result) => o.insert("result".to_string(), result),
                Err(e) => o.insert(
                    "error".to_string(),
                    serde_json::to_value(e).unwrap_or(Value::Null),
                ),
            };
        }
        // `params: null` is left out, as `lsp-server` leaves it out.
        Message::Notification(n) => {
            o.insert("method".to_string(), Value::from(n.method));
            if !n.params.is_null() {
                o.insert("params".to_string(), n.params);
            }
        }
        Message::Request(r) => {
            o.insert("id".to_string(), id(r.id));
            o.insert("method".to_string(), Value::from(r.method));
            if !r.params.is_null() {
                o.insert("params".to_string(), r.params);
            }
        }
    }
    Value::Object(o)
}

/// The JSON text of a message (see [`to_value`]).
fn to_text(msg: impl Into<Message>) -> String {
    to_value(msg).to_string()
}

/// The JSON text of a successful response whose result is `result`,
/// serialized straight to text: a document's symbols or code actions can be
/// tens of megabytes of JSON, and building them as a `Value` first took
/// several hundred bytes per object (75,000 symbols: 870 MB at the peak).
/// (The protocol's types always serialize; were one not to, the result
/// would be `null`, as `to_value` makes it.)
fn ok_text(id: &RequestId, result: &impl serde::Serialize) -> String {
    let id = serde_json::to_string(id).unwrap_or_else(|_| "null".to_string());
    let result = serde_json::to_string(result).unwrap_or_else(|_| "null".to_string());
    format!(r#"{{"id":{id},"jsonrpc":"2.0","result":{result}}}"#)
}

fn request_error(id: RequestId, code: i32, message: &str) -> String {
    to_text(Response::new_err(id, code, message.to_string()))
}

/// Runs the server on stdin/stdout until `shutdown` and `exit` (then
/// `Ok(true)`), or until `exit` without `shutdown` or the end of the input
/// (`Ok(false)`: the protocol asks for exit status 1 then).
pub fn run(imports_dir: Option<PathBuf>) -> Result<bool, Box<dyn Error + Send + Sync>> {
    let sources = match &imports_dir {
        Some(dir) => ImportSources::from_dir(dir)?,
        None => ImportSources::embedded(),
    };
    let (table, _problems) = sources.load();
    let queued = Arc::new(Queued::new(QUEUE_MESSAGES, QUEUE_BYTES));
    let cancelled = Arc::new(Cancelled::default());
    let (incoming, out, writer) = stdio(queued.clone(), cancelled.clone());
    let served = serve(sources, table, &incoming, &queued, &cancelled, &out);
    drop(out);
    // A failed write is the reason, whatever the loop saw of it (an output
    // channel that closed, or nothing, when `exit` came first).
    match writer.join() {
        Ok(Err(e)) => Err(format!("cannot write to the client: {e}").into()),
        _ => served,
    }
}

/// The main loop of [`run`].
fn serve(
    sources: ImportSources,
    table: ImportTable,
    incoming: &Receiver<FromClient>,
    queued: &Queued,
    cancelled: &Cancelled,
    out: &Outgoing,
) -> Result<bool, Box<dyn Error + Send + Sync>> {
    let send = |v: String| out.send(v);
    let mut server = Server {
        db: Db::default(),
        imports: Arc::new(table),
        sources,
        docs: HashMap::new(),
        dirty: Vec::new(),
    };
    let mut initialized = false;
    let mut shutting_down = false;
    let clean = loop {
        // Publish only once no more messages wait: a burst of edits is
        // applied in full and checked once.
        let next = if server.dirty.is_empty() {
            incoming.recv().ok()
        } else {
            match incoming.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => {
                    for n in server.publish_dirty() {
                        send(to_text(n))?;
                    }
                    continue;
                }
                Err(TryRecvError::Disconnected) => None,
            }
        };
        let Some(next) = next else {
            break false;
        };
        // Input that is not the protocol ends the server with its reason.
        let (next, size) = next?;
        queued.release(size);
        let msg = match next {
            Incoming::Message(m) => m,
            Incoming::Ignored => continue,
            Incoming::Invalid { id, code, message } => {
                send(transport::error_response(id, code, &message).to_string())?;
                continue;
            }
        };
        match msg {
            Message::Request(req) => {
                let id = req.id.clone();
                if shutting_down {
                    send(request_error(
                        id,
                        INVALID_REQUEST,
                        "the server is shutting down: only `exit` is accepted",
                    ))?;
                } else if req.method == "initialize" {
                    if initialized {
                        send(request_error(id, INVALID_REQUEST, "already initialized"))?;
                    } else if params::<lt::InitializeParams>(req.params).is_none() {
                        send(request_error(
                            id,
                            ErrorCode::InvalidParams as i32,
                            "invalid parameters: `initialize` takes an object with `capabilities`",
                        ))?;
                    } else {
                        initialized = true;
                        send(to_text(Response::new_ok(id, initialize_result())))?;
                    }
                } else if !initialized {
                    send(request_error(
                        id,
                        ErrorCode::ServerNotInitialized as i32,
                        "the server is not initialized",
                    ))?;
                } else if cancelled.take(&id) {
                    send(request_error(
                        id,
                        ErrorCode::RequestCanceled as i32,
                        "cancelled by the client",
                    ))?;
                } else if req.method == "shutdown" {
                    // Edits that came before `shutdown` are published before
                    // its answer: nothing is sent after it.
                    for n in server.publish_dirty() {
                        send(to_text(n))?;
                    }
                    shutting_down = true;
                    send(to_text(Response::new_ok(id, Value::Null)))?;
                } else {
                    let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        server.request(req)
                    }))
                    .unwrap_or_else(|_| {
                        request_error(id, ErrorCode::InternalError as i32, "kplc: internal error")
                    });
                    send(resp)?;
                }
            }
            Message::Notification(n) if n.method == "exit" => break shutting_down,
            Message::Notification(n) if n.method == "$/cancelRequest" => {
                // Its request was answered by now, cancelled or not.
                if let Some(id) = cancelled_id(&n) {
                    cancelled.take(&id);
                }
            }
            Message::Notification(_) if !initialized || shutting_down => {}
            Message::Notification(n) => {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    server.notification(n)
                }))
                .unwrap_or_default();
                for m in out {
                    send(to_text(m))?;
                }
            }
            Message::Response(_) => {}
        }
    };
    Ok(clean)
}

fn initialize_result() -> Value {
    let caps = lt::ServerCapabilities {
        position_encoding: Some(lt::PositionEncodingKind::UTF16),
        text_document_sync: Some(lt::TextDocumentSyncCapability::Kind(
            lt::TextDocumentSyncKind::FULL,
        )),
        hover_provider: Some(lt::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lt::OneOf::Left(true)),
        document_symbol_provider: Some(lt::OneOf::Left(true)),
        completion_provider: Some(lt::CompletionOptions {
            trigger_characters: Some(vec![".".to_string(), ":".to_string()]),
            ..Default::default()
        }),
        document_formatting_provider: Some(lt::OneOf::Left(true)),
        code_action_provider: Some(lt::CodeActionProviderCapability::Options(
            lt::CodeActionOptions {
                code_action_kinds: Some(vec![lt::CodeActionKind::QUICKFIX]),
                ..Default::default()
            },
        )),
        ..Default::default()
    };
    serde_json::json!({
        "capabilities": caps,
        "serverInfo": { "name": "kplc", "version": env!("CARGO_PKG_VERSION") },
    })
}

fn params<T: serde::de::DeserializeOwned>(v: Value) -> Option<T> {
    serde_json::from_value(v).ok()
}

impl Server {
    /// Handles a notification; what to send at once (changed documents are
    /// published later, by [`Server::publish_dirty`]).
    fn notification(&mut self, n: Notification) -> Vec<Notification> {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Some(p) = params::<lt::DidOpenTextDocumentParams>(n.params) else {
                    return Vec::new();
                };
                let key = p.text_document.uri.as_str().to_string();
                let text = p.text_document.text;
                match self.docs.get_mut(&key) {
                    Some(doc) => {
                        doc.pending = Some(PendingText::Whole(text));
                        doc.version = p.text_document.version;
                    }
                    None => {
                        let file = self.db.file(text, self.imports.clone());
                        self.docs.insert(
                            key,
                            Document {
                                file,
                                version: p.text_document.version,
                                pending: None,
                            },
                        );
                    }
                }
                self.mark_dirty(p.text_document.uri);
                Vec::new()
            }
            "textDocument/didChange" => {
                let Some(p) = params::<lt::DidChangeTextDocumentParams>(n.params) else {
                    return Vec::new();
                };
                let key = p.text_document.uri.as_str().to_string();
                let Some(doc) = self.docs.get_mut(&key) else {
                    return Vec::new();
                };
                // Full synchronisation: the last change holds the whole text.
                // A ranged change (from a client ignoring our capability) is
                // applied to the current text, in O(log n) (`text.rs`).
                let mut text = match doc.pending.take() {
                    Some(t) => t,
                    None => PendingText::Whole(doc.file.text(&self.db).clone()),
                };
                for change in p.content_changes {
                    let range = change.range.map(|r| {
                        let at = |p: lt::Position| TextPosition::new(p.line, p.character);
                        (at(r.start), at(r.end))
                    });
                    text = text.apply(range, change.text);
                }
                doc.version = p.text_document.version;
                doc.pending = Some(text);
                self.mark_dirty(p.text_document.uri);
                Vec::new()
            }
            "textDocument/didClose" => {
                let Some(p) = params::<lt::DidCloseTextDocumentParams>(n.params) else {
                    return Vec::new();
                };
                self.docs.remove(p.text_document.uri.as_str());
                self.dirty.retain(|u| u != &p.text_document.uri);
                vec![publish_notification(lt::PublishDiagnosticsParams {
                    uri: p.text_document.uri,
                    diagnostics: Vec::new(),
                    version: None,
                })]
            }
            _ => Vec::new(),
        }
    }

    fn mark_dirty(&mut self, uri: lt::Uri) {
        if !self.dirty.contains(&uri) {
            self.dirty.push(uri);
        }
    }

    /// Gives every changed text to the database.
    fn flush(&mut self) {
        for doc in self.docs.values_mut() {
            if let Some(text) = doc.pending.take() {
                self.db.set_text(doc.file, text.into_string());
            }
        }
    }

    /// Checks every changed document once and returns its diagnostics.
    fn publish_dirty(&mut self) -> Vec<Notification> {
        self.flush();
        let dirty = std::mem::take(&mut self.dirty);
        dirty.iter().filter_map(|uri| self.publish(uri)).collect()
    }

    fn publish(&self, uri: &lt::Uri) -> Option<Notification> {
        let doc = self.docs.get(uri.as_str())?;
        let text = doc.file.text(&self.db);
        let pos = Position16::new(text);
        let diagnostics = if text.len() > kpl_lang::MAX_SOURCE_BYTES {
            vec![lt::Diagnostic {
                range: lt::Range::default(),
                severity: Some(lt::DiagnosticSeverity::WARNING),
                source: Some("kplc".to_string()),
                message: format!(
                    "not checked: this document is larger than {} MiB, the limit for a source file",
                    kpl_lang::MAX_SOURCE_BYTES >> 20
                ),
                ..Default::default()
            }]
        } else if is_declaration_file(uri) {
            // An import declaration file: checked as `kplc check` checks
            // std-imports, not as a plugin.
            let name = uri.as_str().rsplit('/').next().unwrap_or("imports.kpli");
            let (_, problems) = ImportTable::load(&[(name.to_string(), text.clone())]);
            problems
                .iter()
                .map(|p| to_lsp_diagnostic(uri, &pos, &p.diagnostic))
                .collect()
        } else {
            let all = db::diagnostics(&self.db, doc.file);
            let shown = render::shown(all, EDITOR_SHOWN);
            let mut diagnostics: Vec<lt::Diagnostic> = shown
                .indexes
                .iter()
                .map(|&i| to_lsp_diagnostic(uri, &pos, &all[i]))
                .collect();
            // The shown indexes rise from 0: the first one left out is
            // where they first skip one.
            let first_hidden = (0..)
                .zip(&shown.indexes)
                .find(|(k, i)| k != *i)
                .map_or(shown.indexes.len(), |(k, _)| k);
            if let Some(summary) = render::hidden_summary(&shown) {
                diagnostics.push(lt::Diagnostic {
                    range: pos.range(all[first_hidden].primary.span),
                    severity: Some(lt::DiagnosticSeverity::INFORMATION),
                    source: Some("kplc".to_string()),
                    message: format!(
                        "{summary}, the first of them here: the editor gets {EDITOR_SHOWN}, \
                         errors first; `kplc check --max-diagnostics 0` lists every one"
                    ),
                    ..Default::default()
                });
            }
            diagnostics
        };
        Some(publish_notification(lt::PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics,
            version: Some(doc.version),
        }))
    }

    /// The JSON text of the response to `req`.
    fn request(&mut self, req: Request) -> String {
        self.flush();
        let id = req.id.clone();
        let result = match req.method.as_str() {
            "textDocument/hover" => params::<lt::HoverParams>(req.params).map(|p| {
                let tdp = p.text_document_position_params;
                ok_text(&id, &self.hover(&tdp.text_document.uri, tdp.position))
            }),
            "textDocument/definition" => params::<lt::GotoDefinitionParams>(req.params).map(|p| {
                let tdp = p.text_document_position_params;
                ok_text(&id, &self.definition(&tdp.text_document.uri, tdp.position))
            }),
            "textDocument/documentSymbol" => params::<lt::DocumentSymbolParams>(req.params)
                .map(|p| ok_text(&id, &self.symbols(&p.text_document.uri))),
            "textDocument/completion" => params::<lt::CompletionParams>(req.params).map(|p| {
                let tdp = p.text_document_position;
                ok_text(&id, &self.completion(&tdp.text_document.uri, tdp.position))
            }),
            "textDocument/formatting" => params::<lt::DocumentFormattingParams>(req.params)
                .map(|p| ok_text(&id, &self.formatting(&p.text_document.uri))),
            "textDocument/codeAction" => params::<lt::CodeActionParams>(req.params).map(|p| {
                ok_text(
                    &id,
                    &self.code_actions(&p.text_document.uri, p.range, &p.context),
                )
            }),
            _ => return to_text(method_not_found(id, &req.method)),
        };
        result.unwrap_or_else(|| {
            request_error(id, ErrorCode::InvalidParams as i32, "invalid parameters")
        })
    }

    /// A plugin document (declaration files get diagnostics only), if it
    /// is no larger than the compiler checks ([`kpl_lang::MAX_SOURCE_BYTES`]):
    /// every request about a larger one is answered `null` at once, as its
    /// diagnostics say it is not checked (formatting 20 MB took 29 s and
    /// 3.9 GB, while every other request waited).
    fn doc(&self, uri: &lt::Uri) -> Option<(SourceFile, &str)> {
        if is_declaration_file(uri) {
            return None;
        }
        let doc = self.docs.get(uri.as_str())?;
        let text = doc.file.text(&self.db).as_str();
        (text.len() <= kpl_lang::MAX_SOURCE_BYTES).then_some((doc.file, text))
    }

    fn hover(&self, uri: &lt::Uri, p: lt::Position) -> Option<lt::Hover> {
        let (file, text) = self.doc(uri)?;
        let pos = Position16::new(text);
        let h = ide::hover(&self.db, file, pos.offset(p))?;
        Some(lt::Hover {
            contents: lt::HoverContents::Markup(lt::MarkupContent {
                kind: lt::MarkupKind::Markdown,
                value: h.markdown,
            }),
            range: Some(pos.range(h.span)),
        })
    }

    fn definition(&self, uri: &lt::Uri, p: lt::Position) -> Option<lt::GotoDefinitionResponse> {
        let (file, text) = self.doc(uri)?;
        let pos = Position16::new(text);
        let loc = match ide::definition(&self.db, file, pos.offset(p))? {
            ide::Target::Here(span) => lt::Location::new(uri.clone(), pos.range(span)),
            ide::Target::ImportFile { path, span } => {
                let text = self.sources.files.iter().find(|(p, _)| *p == path)?;
                let target = import_file_uri(&path)?;
                lt::Location::new(target, Position16::new(&text.1).range(span))
            }
        };
        Some(lt::GotoDefinitionResponse::Scalar(loc))
    }

    fn symbols(&self, uri: &lt::Uri) -> Option<lt::DocumentSymbolResponse> {
        let (file, text) = self.doc(uri)?;
        let pos = Position16::new(text);
        let syms = ide::symbols(&self.db, file)
            .into_iter()
            .map(|s| to_lsp_symbol(&pos, s))
            .collect();
        Some(lt::DocumentSymbolResponse::Nested(syms))
    }

    fn completion(&self, uri: &lt::Uri, p: lt::Position) -> Option<lt::CompletionResponse> {
        let (file, text) = self.doc(uri)?;
        let pos = Position16::new(text);
        let items = ide::complete(&self.db, file, pos.offset(p))
            .into_iter()
            .map(|c| lt::CompletionItem {
                label: c.label,
                kind: Some(match c.kind {
                    ide::CompletionKind::Local => lt::CompletionItemKind::VARIABLE,
                    ide::CompletionKind::Function => lt::CompletionItemKind::FUNCTION,
                    ide::CompletionKind::Struct => lt::CompletionItemKind::STRUCT,
                    ide::CompletionKind::Field => lt::CompletionItemKind::FIELD,
                    ide::CompletionKind::Constant => lt::CompletionItemKind::CONSTANT,
                    ide::CompletionKind::Static => lt::CompletionItemKind::VARIABLE,
                    ide::CompletionKind::Import => lt::CompletionItemKind::FUNCTION,
                    ide::CompletionKind::Keyword => lt::CompletionItemKind::KEYWORD,
                    ide::CompletionKind::Type => lt::CompletionItemKind::TYPE_PARAMETER,
                }),
                detail: Some(c.detail),
                documentation: c.doc.map(|d| {
                    lt::Documentation::MarkupContent(lt::MarkupContent {
                        kind: lt::MarkupKind::Markdown,
                        value: d,
                    })
                }),
                ..Default::default()
            })
            .collect();
        Some(lt::CompletionResponse::Array(items))
    }
}

impl Server {
    /// `kplc fmt` for the editor: one edit replacing the whole text, none if
    /// it is formatted already, and no answer (`null`) for a document with
    /// syntax errors (its diagnostics say why) or one the server does not
    /// know. The client's tab and space options are ignored: the layout is
    /// canonical.
    fn formatting(&self, uri: &lt::Uri) -> Option<Vec<lt::TextEdit>> {
        let doc = self.docs.get(uri.as_str())?;
        let text = doc.file.text(&self.db);
        if text.len() > kpl_lang::MAX_SOURCE_BYTES {
            return None;
        }
        let formatted = kpl_lang::format::format_source(text).ok()?;
        if formatted == *text {
            return Some(Vec::new());
        }
        let pos = Position16::new(text);
        let whole = lt::Range::new(lt::Position::new(0, 0), pos.position(text.len() as u32));
        Some(vec![lt::TextEdit::new(whole, formatted)])
    }
}

impl Server {
    /// Quick fixes: one code action per help that carries edits, of every
    /// diagnostic whose primary range touches `range`. A machine-applicable
    /// fix is the preferred action (editors apply it with one key); fixes
    /// with placeholders are not offered, since applying them leaves text
    /// the user must still replace. Diagnostics are recomputed from the
    /// current text (cached by the database), not taken from the request,
    /// so the edits always match the document the client has.
    fn code_actions(
        &self,
        uri: &lt::Uri,
        range: lt::Range,
        context: &lt::CodeActionContext,
    ) -> Option<Vec<lt::CodeActionOrCommand>> {
        if context
            .only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|k| k.as_str().starts_with("quickfix")))
        {
            return Some(Vec::new());
        }
        let (file, text) = self.doc(uri)?;
        let pos = Position16::new(text);
        let (from, to) = (pos.offset(range.start), pos.offset(range.end));
        let mut actions = Vec::new();
        // The fixes of the diagnostics the editor was given (see
        // `EDITOR_SHOWN`): asked over a whole file that is one flood of
        // mistakes, every one was 100,000 actions and tens of megabytes.
        let all = db::diagnostics(&self.db, file);
        for d in render::shown(all, EDITOR_SHOWN)
            .indexes
            .iter()
            .map(|&i| &all[i])
        {
            let span = d.primary.span;
            if span.end < from || span.start > to {
                continue;
            }
            for h in &d.help {
                if h.edits.is_empty() || h.applicability == Applicability::HasPlaceholders {
                    continue;
                }
                let edits = h
                    .edits
                    .iter()
                    .map(|e| lt::TextEdit::new(pos.range(e.span), e.replacement.to_string()))
                    .collect();
                actions.push(lt::CodeActionOrCommand::CodeAction(lt::CodeAction {
                    title: h.message.to_string(),
                    kind: Some(lt::CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![to_lsp_diagnostic(uri, &pos, d)]),
                    edit: Some(lt::WorkspaceEdit {
                        changes: Some(HashMap::from([(uri.clone(), edits)])),
                        ..Default::default()
                    }),
                    is_preferred: Some(h.is_machine_applicable()),
                    ..Default::default()
                }));
            }
        }
        Some(actions)
    }
}

fn is_declaration_file(uri: &lt::Uri) -> bool {
    uri.as_str().ends_with(".kpli")
}

fn method_not_found(id: RequestId, method: &str) -> Response {
    Response::new_err(
        id,
        ErrorCode::MethodNotFound as i32,
        format!("kplc does not handle `{}`", transport::clip(method)),
    )
}

fn publish_notification(p: lt::PublishDiagnosticsParams) -> Notification {
    Notification::new("textDocument/publishDiagnostics".to_string(), p)
}

/// A diagnostic as the protocol wants it: the primary label's text after
/// the message, notes and help below (as the terminal shows them), secondary
/// labels as related information.
pub fn to_lsp_diagnostic(
    uri: &lt::Uri,
    pos: &Position16<'_>,
    d: &kpl_lang::Diagnostic,
) -> lt::Diagnostic {
    let mut message = d.message.to_string();
    if !d.primary.message.is_empty() {
        message.push('\n');
        message.push_str(&d.primary.message);
    }
    for n in render::notes(d, pos.text()) {
        message.push('\n');
        message.push_str(&n);
    }
    let related: Vec<lt::DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .map(|l| lt::DiagnosticRelatedInformation {
            location: lt::Location::new(uri.clone(), pos.range(l.span)),
            message: l.message.to_string(),
        })
        .collect();
    lt::Diagnostic {
        range: pos.range(d.primary.span),
        severity: Some(match d.severity {
            Severity::Error => lt::DiagnosticSeverity::ERROR,
            Severity::Warning => lt::DiagnosticSeverity::WARNING,
        }),
        code: Some(lt::NumberOrString::String(d.code.to_string())),
        source: Some("kplc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be given
fn to_lsp_symbol(pos: &Position16<'_>, s: ide::Symbol) -> lt::DocumentSymbol {
    let range = pos.range(s.span.to(s.name_span));
    let selection = pos.range(s.name_span);
    lt::DocumentSymbol {
        name: s.name,
        detail: Some(s.detail).filter(|d| !d.is_empty()),
        kind: match s.kind {
            ide::SymbolKind::Function => lt::SymbolKind::FUNCTION,
            ide::SymbolKind::Struct => lt::SymbolKind::STRUCT,
            ide::SymbolKind::Field => lt::SymbolKind::FIELD,
            ide::SymbolKind::Constant => lt::SymbolKind::CONSTANT,
            ide::SymbolKind::Static => lt::SymbolKind::VARIABLE,
            ide::SymbolKind::Import => lt::SymbolKind::MODULE,
        },
        tags: None,
        deprecated: None,
        range,
        selection_range: selection,
        children: Some(
            s.children
                .into_iter()
                .map(|c| to_lsp_symbol(pos, c))
                .collect(),
        )
        .filter(|c: &Vec<_>| !c.is_empty()),
    }
}

/// A `file://` URI for an import declaration file: the path as given if it
/// exists, else (for the embedded `std-imports/`) the copy in the source
/// tree kplc was built from.
fn import_file_uri(path: &str) -> Option<lt::Uri> {
    let given = Path::new(path);
    let found = if given.exists() {
        given.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
    };
    let abs = std::fs::canonicalize(found).ok()?;
    file_uri(&abs)
}

/// `file://` URI of an absolute path, percent-encoding what needs it.
pub fn file_uri(path: &Path) -> Option<lt::Uri> {
    let mut s = String::from("file://");
    for b in path.to_str()?.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages come out as `lsp-server` serializes them, with `jsonrpc`
    /// added: every kind, a result and an error, parameters and none.
    #[test]
    fn messages_are_serialized_as_lsp_server_does() {
        let messages: Vec<Message> = vec![
            Response::new_ok(RequestId::from(7), serde_json::json!({"a": [1, 2]})).into(),
            Response::new_ok(RequestId::from("x".to_string()), Value::Null).into(),
            Response::new_err(RequestId::from(8), -32600, "no".to_string()).into(),
            Notification::new("n".to_string(), serde_json::json!({"p": 1})).into(),
            Notification::new("exit".to_string(), Value::Null).into(),
            Request::new(RequestId::from(9), "r".to_string(), serde_json::json!([1])).into(),
            Request::new(RequestId::from(10), "shutdown".to_string(), Value::Null).into(),
        ];
        for m in messages {
            let mut want = serde_json::to_value(&m).unwrap();
            want.as_object_mut()
                .unwrap()
                .insert("jsonrpc".to_string(), Value::from("2.0"));
            assert_eq!(to_value(m), want);
        }
    }

    /// A result serialized straight to text is the message `to_value`
    /// makes of it: ids of both kinds, results of every shape.
    #[test]
    fn results_written_as_text_are_the_messages() {
        let results = [
            serde_json::json!(null),
            serde_json::json!([{"name": "f", "range": {"start": {"line": 0}}}, "é\"\\"]),
            serde_json::json!({"contents": {"kind": "markdown", "value": "`x: u32`"}}),
        ];
        for id in [RequestId::from(7), RequestId::from("a\"b".to_string())] {
            for r in &results {
                let text = ok_text(&id, r);
                let got: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(got, to_value(Response::new_ok(id.clone(), r.clone())));
            }
        }
    }

    #[test]
    fn positions_count_utf16_units_on_non_ascii_lines() {
        // é is 2 bytes and 1 UTF-16 unit; 😀 is 4 bytes and 2 units.
        let text = "let a = 1;\nlet é = \"😀\"; x\n😀😀y\n";
        let pos = Position16::new(text);
        let x = text.find(" x").unwrap() as u32 + 1;
        // `let é = "😀"; x`: l,e,t,space,é,space,=,space,",😀(2),",;,space → x at 14.
        assert_eq!(pos.position(x), lt::Position::new(1, 14));
        assert_eq!(pos.offset(lt::Position::new(1, 14)), x);
        let y = text.find('y').unwrap() as u32;
        assert_eq!(pos.position(y), lt::Position::new(2, 4));
        assert_eq!(pos.offset(lt::Position::new(2, 4)), y);
        // The emoji's start is column 9 on line 1; its end column 11.
        let emoji = text.find('😀').unwrap() as u32;
        assert_eq!(pos.position(emoji), lt::Position::new(1, 9));
        assert_eq!(pos.position(emoji + 4), lt::Position::new(1, 11));
        // A column in the middle of the surrogate pair maps to a char boundary.
        let mid = pos.offset(lt::Position::new(1, 10));
        assert!(text.is_char_boundary(mid as usize));
        assert_eq!(mid, emoji + 4);
        // A byte offset inside a UTF-8 sequence is clamped to the char start.
        assert_eq!(pos.position(emoji + 1), lt::Position::new(1, 9));
    }

    #[test]
    fn positions_past_the_end_are_clamped() {
        let text = "ab\ncd";
        let pos = Position16::new(text);
        assert_eq!(pos.offset(lt::Position::new(0, 99)), 2);
        assert_eq!(pos.offset(lt::Position::new(7, 0)), text.len() as u32);
        assert_eq!(pos.position(999), lt::Position::new(1, 2));
        let empty = Position16::new("");
        assert_eq!(empty.offset(lt::Position::new(3, 3)), 0);
        assert_eq!(empty.position(5), lt::Position::new(0, 0));
    }

    #[test]
    fn diagnostic_conversion_keeps_code_labels_and_help() {
        let (table, _) = ImportSources::embedded().load();
        let src = "export fn f() -> u32 {\n    // é😀\n    let x: u32 = true;\n    return x;\n}\n";
        let a = kpl_lang::analyze(src, &table);
        let d = &a.diagnostics[0];
        let uri: lt::Uri = "file:///t.kpl".parse().unwrap();
        let pos = Position16::new(src);
        let l = to_lsp_diagnostic(&uri, &pos, d);
        assert_eq!(l.code, Some(lt::NumberOrString::String(d.code.to_string())));
        assert!(l.message.starts_with(&*d.message));
        assert!(l.message.contains(&*d.primary.message));
        assert_eq!(l.range.start.line, 2);
        assert_eq!(
            l.related_information.as_ref().map_or(0, |r| r.len()),
            d.secondary.len()
        );
    }
}
