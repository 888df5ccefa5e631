//! Spawns `kplc lsp` and runs a scripted editor session over stdio with
//! Content-Length framing, checking every message the server sends.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

/// `body` with its `Content-Length` header, as one message on the wire.
fn framed(body: &str) -> String {
    format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kplc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kplc lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("Content-Length header")];
                r.read_exact(&mut body).unwrap();
                let v: Value = serde_json::from_slice(&body).expect("a JSON body");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            rx,
            next_id: 1,
        }
    }

    fn send(&mut self, v: Value) {
        let body = v.to_string();
        self.stdin.write_all(framed(&body).as_bytes()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn recv(&mut self) -> Value {
        self.rx
            .recv_timeout(Duration::from_secs(30))
            .expect("a message from the server within 30 s")
    }

    /// Sends a request and returns its response (the next message must be it).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let resp = self.recv();
        assert_eq!(resp["id"], json!(id), "response to {method}: {resp}");
        assert_eq!(resp["jsonrpc"], "2.0");
        resp
    }

    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let msg = self.recv();
        assert_eq!(msg["method"], "textDocument/publishDiagnostics", "{msg}");
        assert_eq!(msg["params"]["uri"], uri);
        assert_eq!(msg["params"]["version"], json!(version));
        msg["params"]["diagnostics"].as_array().unwrap().clone()
    }
}

const URI: &str = "file:///work/plugin.kpl";

const BROKEN: &str = "use kernel::{clock_ns, log_u64};

/// A pair of counters.
struct Pair {
    /// Packets seen.
    a: u32,
    b: u32,
}

/// Adds two numbers.
fn add(x: u32, y: u32) -> u32 {
    return x + y;
}

export fn main(n: u32) -> u32 {
    let p = Pair { .a = n, .b = 2 };
    log_u64(\"é😀\", 1); let bad: u32 = 1; bad = 2;
    return add(p.a, p.b) + (clock_ns() as u32);
}
";

fn fixed() -> String {
    BROKEN
        .replace("let bad: u32 = 1;", "var bad: u32 = 1;")
        .replace("(clock_ns() as u32);", "(clock_ns() as u32) + bad;")
}

/// (line, UTF-16 column) of the `n`-th occurrence of `needle` (plus `delta` bytes).
fn pos(text: &str, needle: &str, n: usize, delta: usize) -> (u64, u64) {
    let at = text.match_indices(needle).nth(n).expect("needle present").0 + delta;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..at].matches('\n').count();
    let col = text[line_start..at].encode_utf16().count();
    (line as u64, col as u64)
}

fn position(text: &str, needle: &str, n: usize, delta: usize) -> Value {
    let (line, character) = pos(text, needle, n, delta);
    json!({"line": line, "character": character})
}

fn at(text: &str, needle: &str, n: usize, delta: usize) -> Value {
    json!({"textDocument": {"uri": URI}, "position": position(text, needle, n, delta)})
}

fn range(text: &str, needle: &str, n: usize) -> Value {
    json!({"start": position(text, needle, n, 0), "end": position(text, needle, n, needle.len())})
}

fn labels(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn scripted_session() {
    let (table, _) = kplc::std_imports::ImportSources::embedded().load();
    let kernel = table.module("kernel").unwrap();
    let mut c = Client::start();

    // initialize → capabilities.
    let init = c.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["textDocumentSync"], 1, "full synchronisation");
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(caps["definitionProvider"], true);
    assert_eq!(caps["documentSymbolProvider"], true);
    assert_eq!(
        caps["completionProvider"]["triggerCharacters"],
        json!([".", ":"])
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "kplc");
    c.notify("initialized", json!({}));

    // didOpen of a file with an error → its diagnostics, as `kplc check`
    // gives them, with UTF-16 columns on a line with é and 😀.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": 1, "text": BROKEN}}),
    );
    let diags = c.diagnostics(URI, 1);
    let want = kpl_lang::analyze(BROKEN, &table).diagnostics;
    assert_eq!(diags.len(), want.len());
    assert_eq!(
        want.iter().map(|d| d.code.to_string()).collect::<Vec<_>>(),
        ["W0001", "E0300"]
    );
    let w = &diags[0];
    assert_eq!(w["code"], "W0001");
    assert_eq!(w["severity"], 2);
    assert_eq!(w["range"], range(BROKEN, "bad", 0));
    let (e, want) = (&diags[1], &want[1..]);
    assert_eq!(e["code"], "E0300");
    assert_eq!(e["severity"], 1);
    assert_eq!(e["source"], "kplc");
    assert_eq!(e["range"], range(BROKEN, "bad", 1));
    // The column counts é as 1 unit and 😀 as 2 (the bytes are 2 and 4).
    let (_, col) = pos(BROKEN, "bad", 1, 0);
    let line = BROKEN.lines().nth(16).unwrap();
    assert_eq!(col as usize, line.find("bad =").unwrap() - 3);
    let msg = e["message"].as_str().unwrap();
    assert!(msg.starts_with(&*want[0].message), "{msg}");
    assert!(msg.contains(&*want[0].primary.message), "{msg}");
    for h in &want[0].help {
        assert!(msg.contains(&*h.message), "{msg}");
    }
    let related = e["relatedInformation"].as_array().unwrap();
    assert_eq!(related.len(), want[0].secondary.len());
    assert!(!related.is_empty(), "the `let` is a secondary label");
    assert_eq!(related[0]["location"]["uri"], URI);
    assert_eq!(related[0]["location"]["range"], range(BROKEN, "bad", 0));
    assert_eq!(related[0]["message"], &*want[0].secondary[0].message);

    // didChange that fixes it → no diagnostics.
    let text = fixed();
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": text}]}),
    );
    assert_eq!(c.diagnostics(URI, 2), Vec::<Value>::new());

    // Hover on an import: its signature and its doc from std-imports.
    let h = c.request("textDocument/hover", at(&text, "clock_ns()", 0, 2));
    let value = h["result"]["contents"]["value"].as_str().unwrap();
    assert_eq!(h["result"]["contents"]["kind"], "markdown");
    assert!(value.contains("fn clock_ns() -> u64"), "{value}");
    let doc = &kernel.function("clock_ns").unwrap().doc;
    assert!(!doc.trim().is_empty());
    assert!(value.contains(doc.trim()), "{value}");
    assert_eq!(h["result"]["range"], range(&text, "clock_ns", 1));

    // Hover on a local, a field (with its doc) and a function (with its doc).
    let h = c.request("textDocument/hover", at(&text, "p.a", 0, 0));
    assert_eq!(h["result"]["contents"]["value"], "```kpl\nlet p: Pair\n```");
    let h = c.request("textDocument/hover", at(&text, "p.a", 0, 2));
    assert_eq!(
        h["result"]["contents"]["value"],
        "```kpl\nPair.a: u32\n```\n\n---\n\nPackets seen."
    );
    let h = c.request("textDocument/hover", at(&text, "add(p.a", 0, 1));
    assert_eq!(
        h["result"]["contents"]["value"],
        "```kpl\nfn add(x: u32, y: u32) -> u32\n```\n\n---\n\nAdds two numbers."
    );

    // Go to definition: a function, a local, a field, an import's use site.
    let d = c.request("textDocument/definition", at(&text, "add(p.a", 0, 0));
    assert_eq!(
        d["result"],
        json!({"uri": URI, "range": range(&text, "add", 0)})
    );
    let d = c.request("textDocument/definition", at(&text, "p.b)", 0, 0));
    assert_eq!(
        d["result"]["range"],
        json!({"start": position(&text, "p = Pair", 0, 0), "end": position(&text, "p = Pair", 0, 1)})
    );
    let d = c.request("textDocument/definition", at(&text, "p.b)", 0, 2));
    assert_eq!(
        d["result"]["range"],
        json!({"start": position(&text, "b: u32", 0, 0), "end": position(&text, "b: u32", 0, 1)})
    );
    let d = c.request("textDocument/definition", at(&text, "Pair {", 0, 1));
    assert_eq!(d["result"]["range"], range(&text, "Pair", 0));
    let d = c.request("textDocument/definition", at(&text, ".a = n", 0, 1));
    assert_eq!(
        d["result"]["range"],
        json!({"start": position(&text, "a: u32", 0, 0), "end": position(&text, "a: u32", 0, 1)})
    );
    let d = c.request("textDocument/definition", at(&text, "clock_ns()", 0, 0));
    assert_eq!(d["result"]["range"], range(&text, "clock_ns", 0));
    // … and from the use site to the declaration in kernel.kpli.
    let d = c.request("textDocument/definition", at(&text, "clock_ns", 0, 0));
    let target = d["result"]["uri"].as_str().unwrap();
    assert!(target.starts_with("file://") && target.ends_with("std-imports/kernel.kpli"));
    let kpli = include_str!("../../std-imports/kernel.kpli");
    // The declaration's span in the .kpli file, in UTF-16 positions.
    let f = kernel.function("clock_ns").unwrap();
    assert_eq!(&kpli[f.span.range()], "clock_ns");
    let (sl, sc) = line_col16(kpli, f.span.start as usize);
    let (el, ec) = line_col16(kpli, f.span.end as usize);
    assert_eq!(
        d["result"]["range"],
        json!({"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}})
    );

    // Document symbols.
    let s = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": URI}}),
    );
    let syms = s["result"].as_array().unwrap();
    let names: Vec<&str> = syms.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["clock_ns", "log_u64", "Pair", "add", "main"]);
    assert_eq!(syms[2]["kind"], 23, "struct");
    let fields: Vec<&str> = syms[2]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["a", "b"]);
    assert_eq!(syms[3]["kind"], 12, "function");
    assert_eq!(syms[3]["detail"], "fn add(x: u32, y: u32) -> u32");
    assert_eq!(syms[3]["selectionRange"], range(&text, "add", 0));

    // Completion of locals in scope (not another function's), with globals.
    let comp = c.request(
        "textDocument/completion",
        at(&text, "    return add(p.a", 0, 4),
    );
    let got = labels(&comp["result"]);
    for want in [
        "n", "p", "bad", "add", "main", "Pair", "clock_ns", "log_u64", "let", "u32",
    ] {
        assert!(
            got.contains(&want.to_string()),
            "{want} missing from {got:?}"
        );
    }
    assert!(!got.contains(&"x".to_string()), "`x` is a local of `add`");

    // Completion of fields after `.`, while the text is broken.
    let typing = text.replace("    return add(", "    let q = p.\n    return add(");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": typing}]}),
    );
    let diags = c.diagnostics(URI, 3);
    assert!(!diags.is_empty(), "an unfinished line is an error");
    let comp = c.request("textDocument/completion", at(&typing, "p.\n", 0, 2));
    assert_eq!(labels(&comp["result"]), ["a", "b"]);
    assert_eq!(comp["result"][0]["detail"], "a: u32");
    assert_eq!(comp["result"][0]["documentation"]["value"], "Packets seen.");

    // Completion of imports after `kernel::`.
    let typing = text.replace("    return add(", "    kernel::\n    return add(");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 4}, "contentChanges": [{"text": typing}]}),
    );
    let _ = c.diagnostics(URI, 4);
    let comp = c.request("textDocument/completion", at(&typing, "kernel::\n", 0, 8));
    let want: Vec<String> = kernel.functions.iter().map(|f| f.name.clone()).collect();
    assert_eq!(labels(&comp["result"]), want);

    // … and inside a `use` list.
    let typing = text.replace(
        "use kernel::{clock_ns, log_u64};",
        "use kernel::{clock_ns, log_u64, r",
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 5}, "contentChanges": [{"text": typing}]}),
    );
    let _ = c.diagnostics(URI, 5);
    let comp = c.request("textDocument/completion", at(&typing, "log_u64, r", 0, 10));
    assert_eq!(labels(&comp["result"]), want);

    // Robustness: an unknown document, a position past the end, an unknown
    // method, garbage text.
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///nope.kpl"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(h["result"], Value::Null);
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 9999, "character": 9999}}),
    );
    assert_eq!(h["result"], Value::Null);
    let u = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}, "newName": "x"}),
    );
    assert_eq!(u["error"]["code"], -32601);
    let garbage = "fn ((( é😀 }}} struct { let = ;; \u{0} \"unterminated";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 6}, "contentChanges": [{"text": garbage}]}),
    );
    assert!(!c.diagnostics(URI, 6).is_empty());
    for ch in 0..garbage.encode_utf16().count() as u64 + 2 {
        let p = json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": ch}});
        for m in [
            "textDocument/hover",
            "textDocument/definition",
            "textDocument/completion",
        ] {
            let r = c.request(m, p.clone());
            assert!(r.get("result").is_some(), "{m} at {ch}: {r}");
        }
    }

    // A declaration file is checked as one (not as a plugin).
    let kpli_uri = "file:///work/extra.kpli";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": kpli_uri, "languageId": "kpl", "version": 1,
            "text": "/// Returns 7.\nextern fn seven() -> u32;\n"}}),
    );
    assert_eq!(c.diagnostics(kpli_uri, 1), Vec::<Value>::new());
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": kpli_uri, "version": 2},
            "contentChanges": [{"text": "extern fn seven() -> u32 { return 7; }\n"}]}),
    );
    let d = c.diagnostics(kpli_uri, 2);
    assert!(!d.is_empty(), "a body in a declaration file is an error");
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": kpli_uri}, "position": {"line": 0, "character": 11}}),
    );
    assert_eq!(h["result"], Value::Null);

    // shutdown → null; exit → the process ends with status 0.
    let s = c.request("shutdown", Value::Null);
    assert_eq!(s["result"], Value::Null);
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

fn line_col16(text: &str, at: usize) -> (usize, usize) {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (
        text[..at].matches('\n').count(),
        text[line_start..at].encode_utf16().count(),
    )
}

#[test]
fn exit_without_shutdown_is_status_1() {
    let mut c = Client::start();
    let init = c.request("initialize", json!({"processId": null, "capabilities": {}}));
    assert!(init["result"]["capabilities"].is_object());
    c.notify("initialized", json!({}));
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
}

impl Client {
    fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send_body(&mut self, body: &str) {
        self.send_raw(framed(body).as_bytes());
    }

    /// The next message, which must be an error response with `code` and `id`.
    fn expect_error(&mut self, code: i64, id: Value) {
        let m = self.recv();
        assert_eq!(m["error"]["code"], json!(code), "{m}");
        assert_eq!(m["id"], id, "{m}");
        assert_eq!(m["jsonrpc"], "2.0");
    }
}

/// A client that sends what no client should: every bad message is answered
/// with the JSON-RPC error the specification names and the server goes on;
/// a burst of edits is checked about once; after `shutdown` requests are
/// refused until `exit`.
#[test]
fn hostile_client() {
    let (table, _) = kplc::std_imports::ImportSources::embedded().load();
    let mut c = Client::start();

    // Before `initialize`: ServerNotInitialized.
    c.send(json!({"jsonrpc": "2.0", "id": 100, "method": "textDocument/hover", "params": {}}));
    c.expect_error(-32002, json!(100));
    c.request("initialize", json!({"processId": null, "capabilities": {}}));
    c.notify("initialized", json!({}));

    // Headers: a length beyond u64, one that is not a number, a line without
    // a colon, an over-long header line (with a good length after it: the
    // body is read and dropped), a missing length.
    c.send_raw(b"Content-Length: 99999999999999999999999\r\n\r\n");
    c.expect_error(-32700, Value::Null);
    c.send_raw(b"Content-Length: twelve\r\n\r\n");
    c.expect_error(-32700, Value::Null);
    c.send_raw(b"garbage without a colon\r\n\r\n");
    c.expect_error(-32700, Value::Null);
    let long = format!("X-Padding: {}\r\n", "x".repeat(20_000));
    c.send_raw(long.as_bytes());
    c.send_body(r#"{"jsonrpc":"2.0","method":"initialized"}"#);
    c.expect_error(-32700, Value::Null);
    c.send_raw(b"Content-Type: application/vscode-jsonrpc\r\n\r\n");
    c.expect_error(-32700, Value::Null);
    // Bodies: not JSON, too deeply nested, JSON that is not a message, a
    // request with a bad method (its id is echoed).
    c.send_body("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\"");
    c.expect_error(-32700, Value::Null);
    c.send_body(&"[".repeat(100_000));
    c.expect_error(-32700, Value::Null);
    c.send_body("[1, 2, 3]");
    c.expect_error(-32600, Value::Null);
    c.send_body(r#"{"jsonrpc": "2.0", "id": 7, "method": 42}"#);
    c.expect_error(-32600, json!(7));
    // Requests whose id is not a string or an `i32` (once read as
    // notifications and never answered): a number is echoed, anything
    // else is `null`.
    for (id, echoed) in [
        (json!(4_294_967_296u64), json!(4_294_967_296u64)),
        (json!(-2_147_483_649i64), json!(-2_147_483_649i64)),
        (json!(1.5), json!(1.5)),
        (Value::Null, Value::Null),
        (json!(true), Value::Null),
        (json!({"x": 1}), Value::Null),
        (json!([1]), Value::Null),
    ] {
        c.send(json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/hover", "params": {}}));
        c.expect_error(-32600, echoed);
    }
    // Not JSON-RPC 2.0; a body of too many values (a parsed value takes
    // tens of bytes per byte of `[0,0,…]`); two lengths that disagree; a
    // `content-length:` inside another header's value is not a length.
    c.send(json!({"id": 8, "method": "textDocument/hover", "params": {}}));
    c.expect_error(-32600, json!(8));
    c.send_body(&format!("[{}0]", "0,".repeat(300_000)));
    c.expect_error(-32600, Value::Null);
    let ping = r#"{"jsonrpc":"2.0","id":9,"method":"nothing"}"#;
    c.send_raw(
        format!(
            "Content-Length: {}\r\nContent-Length: 3\r\n\r\n{ping}",
            ping.len()
        )
        .as_bytes(),
    );
    c.expect_error(-32700, Value::Null);
    c.send_raw(
        format!(
            "Content-Length: {}\r\nX-Note: see content-length: 3\r\n\r\n{ping}",
            ping.len()
        )
        .as_bytes(),
    );
    c.expect_error(-32601, json!(9));
    // A response of the client's, even an error with a `null` id, is never
    // answered (a client answering errors with errors would loop forever);
    // a method name is quoted clipped.
    c.send(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "x"}}));
    c.send(json!({"jsonrpc": "2.0", "id": 10, "method": "a".repeat(1 << 20)}));
    let e = c.recv();
    assert_eq!(e["id"], json!(10), "{e}");
    assert!(e["error"]["message"].as_str().unwrap().len() < 300);
    // Still serving.
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///nope.kpl"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(h["result"], Value::Null);

    // Lone `\r` line endings count as line ends: the error is on line 2.
    let cr = "export fn f() -> u32 {\r    // note\r    return missing;\r}\r";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": 1, "text": cr}}),
    );
    let d = c.diagnostics(URI, 1);
    assert_eq!(d[0]["code"], "E0100");
    assert_eq!(d[0]["range"]["start"], json!({"line": 2, "character": 11}));

    // A burst of 20,000 ranged edits to a 5,000-line file, sent without
    // waiting: the server reads them all while it checks, applies them (to
    // a rope: each costs O(log n), not a copy of the text) and checks about
    // once more. With 256 messages queued at most, the burst cost one check
    // per 256 edits.
    const EDITS: usize = 20_000;
    let mut lines: Vec<String> = (0..5000)
        .map(|i| format!("const C{i}: u32 = {i};"))
        .collect();
    let mut text = lines.join("\n");
    text.push_str("\nexport fn f() -> u32 {\n    return C0;\n}\n");
    let uri2 = "file:///work/burst.kpl";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri2, "languageId": "kpl", "version": 1, "text": text}}),
    );
    // All of them in one write, so that how fast this client serialises
    // them (in parallel with other tests) is not what is measured.
    let mut burst = Vec::new();
    for v in 2..EDITS + 2 {
        // Each edit turns `= …;` of a line into `= 1 + …;`.
        let line = (v * 7) % 5000;
        let col = format!("const C{line}: u32 = ").len() as u64;
        let body = json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": uri2, "version": v},
                "contentChanges": [{"range": {"start": {"line": line, "character": col},
                    "end": {"line": line, "character": col}}, "text": "1 + "}]}})
        .to_string();
        burst.extend(framed(&body).bytes());
        lines[line].insert_str(col as usize, "1 + ");
    }
    c.send_raw(&burst);
    let mut text = lines.join("\n");
    text.push_str("\nexport fn f() -> u32 {\n    return C0;\n}\n");
    let mut publishes = 0;
    let last = loop {
        let m = c.recv();
        assert_eq!(m["method"], "textDocument/publishDiagnostics", "{m}");
        assert_eq!(m["params"]["uri"], uri2);
        publishes += 1;
        if m["params"]["version"] == json!(EDITS + 1) {
            break m;
        }
    };
    // About one check: 2 or 3 on a quiet machine. The bound leaves room
    // for a loaded one, where the reader can fall behind the loop for a
    // moment; a check per 256 queued edits would be 78, one per edit 20,000.
    assert!(
        publishes <= 12,
        "{publishes} checks for one burst of {EDITS} edits"
    );
    // A flood (4,999 unused constants): the first 1,000 and a note on the
    // rest, at the first one left out.
    let want = kpl_lang::analyze(&text, &table).diagnostics;
    assert_eq!(want.len(), 4999);
    let got = last["params"]["diagnostics"].as_array().unwrap();
    assert_eq!(got.len(), 1001);
    for (g, w) in got.iter().zip(&want[..1000]) {
        assert_eq!(g["code"], w.code.as_str());
        assert!(g["message"].as_str().unwrap().starts_with(&*w.message));
    }
    assert_eq!(got[1000]["severity"], 3, "information");
    assert!(
        got[1000]["message"].as_str().unwrap().starts_with(
            "3999 more diagnostics not shown (0 errors, 3999 warnings), the first of them here"
        ),
        "{}",
        got[1000]
    );
    assert_eq!(got[1000]["range"]["start"]["line"], 1001);
    // The server's text is the edited text: formatting it gives what
    // formatting the edited text gives (nothing, if it is formatted).
    let f = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri2}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let tidy = kpl_lang::format::format_source(&text).unwrap();
    match f["result"].as_array().unwrap().as_slice() {
        [] => assert_eq!(tidy, text),
        [edit] => assert_eq!(edit["newText"], tidy),
        more => panic!("{} edits", more.len()),
    }
    // The edits landed where they were aimed.
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri2}, "position": {"line": 501, "character": 7}}),
    );
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("C501"),
        "{h}"
    );

    // After shutdown: requests are refused, notifications ignored, and only
    // exit ends the server (with status 0).
    let s = c.request("shutdown", Value::Null);
    assert_eq!(s["result"], Value::Null);
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri2, "version": 600}, "contentChanges": [{"text": ""}]}),
    );
    c.send(json!({"jsonrpc": "2.0", "id": 200, "method": "textDocument/hover", "params": {}}));
    c.expect_error(-32600, json!(200));
    c.send(json!({"jsonrpc": "2.0", "id": 201, "method": "shutdown"}));
    c.expect_error(-32600, json!(201));
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// `initialize` needs its parameters; refused, it leaves the server
/// uninitialised, so that a good one is accepted after it.
#[test]
fn initialize_with_bad_parameters_is_refused() {
    let mut c = Client::start();
    for params in [
        json!([1]),
        json!("x"),
        json!({"capabilities": 5}),
        Value::Null,
    ] {
        c.send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}));
        c.expect_error(-32602, json!(1));
    }
    let r = c.request("initialize", json!({"processId": null, "capabilities": {}}));
    assert!(r["result"]["capabilities"].is_object(), "{r}");
}

/// Edits sent just before `shutdown` are published before its answer:
/// nothing comes after it.
#[test]
fn nothing_is_published_after_the_shutdown_answer() {
    let mut c = Client::start();
    c.request("initialize", json!({"processId": null, "capabilities": {}}));
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": 1,
            "text": "export fn f() -> u32 { return x; }\n"}}),
    );
    c.send(json!({"jsonrpc": "2.0", "id": 77, "method": "shutdown"}));
    let d = c.recv();
    assert_eq!(d["method"], "textDocument/publishDiagnostics", "{d}");
    let s = c.recv();
    assert_eq!(s["id"], json!(77), "{s}");
    c.notify("exit", Value::Null);
    assert!(c.child.wait().unwrap().success());
    assert!(c.rx.recv_timeout(Duration::from_millis(200)).is_err());
}

/// A standard output that cannot be written ends the server with status 2
/// and the reason, whenever the failure comes (even after `exit`), and
/// more answers than the output queue holds (4,096) do not leave the server
/// waiting for room from a writer that is gone.
#[test]
fn a_failed_write_to_the_client_is_status_2() {
    let init = framed(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"capabilities\":{}}}",
    );
    let end = framed("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"shutdown\"}")
        + &framed("{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
    let hovers: String = (0..6000)
        .map(|i| {
            framed(
                &json!({"jsonrpc": "2.0", "id": 10 + i, "method": "textDocument/hover",
                "params": {"textDocument": {"uri": "file:///x.kpl"},
                    "position": {"line": 0, "character": 0}}})
                .to_string(),
            )
        })
        .collect();
    let plain = format!("{init}{end}");
    let many = format!("{init}{hovers}{end}");
    for input in [&plain, &plain, &plain, &many] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kplc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // (The server may end before it has read everything.)
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot write to the client"), "{err}");
    }
}

/// A client that sends requests and never reads the answers does not grow
/// the server: it waits once `OUT_QUEUE_BYTES` of answers are unread (each
/// answer here is about 2 MB of symbols; 400 of them were 800 MB queued).
#[test]
fn a_client_that_does_not_read_does_not_grow_the_server() {
    let frame = |v: Value| framed(&v.to_string());
    let text: String = (0..20_000).map(|i| format!("fn a{i}() {{}}\n")).collect();
    let mut input = frame(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {}}}));
    input.push_str(&frame(
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    ));
    input.push_str(&frame(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": {"textDocument": {"uri": URI, "languageId": "kpl", "version": 1, "text": text}}}),
    ));
    for i in 0..400 {
        input.push_str(&frame(json!({"jsonrpc": "2.0", "id": 1000 + i,
            "method": "textDocument/documentSymbol", "params": {"textDocument": {"uri": URI}}})));
    }
    // Standard output is piped and never read: its pipe fills, then the
    // server's queue. The requests go from a thread, since the server stops
    // reading too once its own queue is full.
    let mut child = Command::new(env!("CARGO_BIN_EXE_kplc"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    std::thread::sleep(Duration::from_secs(10));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    sender.join().unwrap();
    assert!(kb < 300_000, "{kb} kB resident");
}

/// A `Content-Length` of 2^64 − 1 or 4,000,000,000 neither panics nor
/// allocates it: the server reads what arrives and ends with the input.
#[test]
fn huge_content_lengths_end_with_the_input() {
    for len in ["18446744073709551615", "4000000000"] {
        let mut c = Client::start();
        c.request("initialize", json!({"processId": null, "capabilities": {}}));
        c.send_raw(format!("Content-Length: {len}\r\n\r\n{{}}").as_bytes());
        drop(c.stdin);
        let status = c.child.wait().unwrap();
        assert_eq!(status.code(), Some(1), "end of input without exit: {len}");
    }
}

/// Input that is not the base protocol at all (`/dev/zero`: no line break
/// in the first MiB) ends the server with status 2 and says why, as every
/// subcommand does with input it cannot use.
#[test]
fn input_that_is_not_the_protocol_is_status_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kplc"))
        .arg("lsp")
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not the LSP base protocol"), "{err}");
}

/// `textDocument/formatting`: the server advertises it and answers with
/// `kplc fmt`'s layout as one edit of the whole text, no edit when the text
/// is formatted, and `null` for a text with syntax errors.
#[test]
fn formatting_session() {
    let mut c = Client::start();
    let init = c.request("initialize", json!({"processId": null, "capabilities": {}}));
    assert_eq!(
        init["result"]["capabilities"]["documentFormattingProvider"],
        true
    );
    c.notify("initialized", json!({}));
    let messy = "export fn f(a:u32)->u32{ // é😀\nreturn a+1;}";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": 1, "text": messy}}),
    );
    let _ = c.diagnostics(URI, 1);
    let options = json!({"tabSize": 2, "insertSpaces": false});
    let f = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": options}),
    );
    let tidy = kpl_lang::format::format_source(messy).unwrap();
    assert_eq!(
        tidy,
        "export fn f(a: u32) -> u32 { // é😀\n    return a + 1;\n}\n"
    );
    // The edit covers the whole text; its end is in UTF-16 units.
    let (el, ec) = line_col16(messy, messy.len());
    assert_eq!(
        f["result"],
        json!([{"range": {"start": {"line": 0, "character": 0},
            "end": {"line": el, "character": ec}}, "newText": tidy}])
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": tidy}]}),
    );
    let _ = c.diagnostics(URI, 2);
    let f = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": options}),
    );
    assert_eq!(f["result"], json!([]), "already formatted");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3},
            "contentChanges": [{"text": "export fn f( {"}]}),
    );
    assert!(!c.diagnostics(URI, 3).is_empty());
    let f = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": options}),
    );
    assert_eq!(f["result"], Value::Null, "syntax errors: no edits");
    let f = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": "file:///unknown.kpl"}, "options": options}),
    );
    assert_eq!(f["result"], Value::Null);
    let f = c.request("textDocument/formatting", json!({"textDocument": 3}));
    assert_eq!(f["error"]["code"], -32602, "invalid parameters");
    let s = c.request("shutdown", Value::Null);
    assert_eq!(s["result"], Value::Null);
    c.notify("exit", Value::Null);
    assert!(c.child.wait().unwrap().success());
}

/// The atomic built-ins in the editor: offered by completion and explained
/// by hover, with the signature and the one line the reference chapter
/// (`book/src/reference/atomics.md`) gives each.
#[test]
fn atomic_builtins_session() {
    let mut c = Client::start();
    c.request("initialize", json!({"processId": null, "capabilities": {}}));
    c.notify("initialized", json!({}));
    let text = "static hits: u64 = 0;\n\nexport fn bump() -> u64 {\n    \
                return atomic_add(hits, 1);\n}\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": 1, "text": text}}),
    );
    assert_eq!(c.diagnostics(URI, 1), Vec::<Value>::new());

    // The reference's block of signatures, one line per built-in once the
    // comment continuing on the next line is joined.
    let book = include_str!("../../book/src/reference/atomics.md");
    let block = book
        .split("```text\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the signature block of atomics.md");
    let block = block.split_whitespace().collect::<Vec<_>>().join(" ");

    let comp = c.request("textDocument/completion", at(text, "atomic_add", 0, 0));
    let items = comp["result"].as_array().unwrap();
    let names = [
        "atomic_add",
        "atomic_sub",
        "atomic_swap",
        "atomic_cas",
        "atomic_load",
        "atomic_store",
    ];
    for name in names {
        let item = items
            .iter()
            .find(|i| i["label"] == name)
            .unwrap_or_else(|| panic!("{name} missing from the completions"));
        assert_eq!(item["kind"], 3, "{name}: a function");
        let sig = item["detail"].as_str().unwrap();
        assert!(sig.starts_with(&format!("{name}(place")), "{sig}");
        let doc = item["documentation"]["value"].as_str().unwrap();
        let line = doc.lines().next().unwrap().trim_matches('`');
        assert!(
            block.contains(&format!("{sig} // {line}")),
            "{name}: `{sig} // {line}` is not in atomics.md's block: {block}"
        );
        assert!(doc.contains("inside a static"), "{doc}");
    }

    // Hover on the call: the same signature and line.
    let h = c.request("textDocument/hover", at(text, "atomic_add", 0, 3));
    assert_eq!(h["result"]["range"], range(text, "atomic_add", 0));
    let value = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(
        value.starts_with(
            "```kpl\natomic_add(place, value) -> T\n```\n\n---\n\n\
             `place = place + value (wrapping); returns the old value`\n\n"
        ),
        "{value}"
    );
    // Not on the static's own name, which is the static.
    let h = c.request("textDocument/hover", at(text, "hits, 1", 0, 0));
    let value = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(value.starts_with("```kpl\nstatic hits: u64"), "{value}");

    let s = c.request("shutdown", Value::Null);
    assert_eq!(s["result"], Value::Null);
    c.notify("exit", Value::Null);
    assert!(c.child.wait().unwrap().success());
}

/// Byte offset of an LSP position (UTF-16 column) in `text`.
fn offset16(text: &str, p: &Value) -> usize {
    let (line, col) = (
        p["line"].as_u64().unwrap(),
        p["character"].as_u64().unwrap(),
    );
    let start = if line == 0 {
        0
    } else {
        text.match_indices('\n').nth(line as usize - 1).unwrap().0 + 1
    };
    let mut units = 0;
    for (i, ch) in text[start..].char_indices() {
        if units >= col as usize || ch == '\n' {
            return start + i;
        }
        units += ch.len_utf16();
    }
    text.len()
}

/// Applies a `WorkspaceEdit` for [`URI`] (edits are non-overlapping; they
/// are applied from the last to the first, as the protocol specifies).
fn apply(text: &str, edit: &Value) -> String {
    let mut edits: Vec<(usize, usize, String)> = edit["changes"][URI]
        .as_array()
        .expect("edits for the document")
        .iter()
        .map(|e| {
            (
                offset16(text, &e["range"]["start"]),
                offset16(text, &e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (a, b, new) in edits {
        out.replace_range(a..b, &new);
    }
    out
}

#[test]
fn quick_fixes_session() {
    let mut c = Client::start();
    let init = c.request("initialize", json!({"processId": null, "capabilities": {}}));
    assert_eq!(
        init["result"]["capabilities"]["codeActionProvider"]["codeActionKinds"],
        json!(["quickfix"])
    );
    c.notify("initialized", json!({}));
    // The comment puts non-ASCII text before the edit on its line: the
    // edit's column is in UTF-16 units, not bytes.
    let text = "export fn total(a: u32, b: u64) -> u64 {\n    return /* é😀 */ a + b;\n}\n\n\
                export fn narrow(x: u64) -> u32 {\n    return x;\n}\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": 1, "text": text}}),
    );
    let diags = c.diagnostics(URI, 1);
    assert_eq!(diags.len(), 2, "{diags:?}");

    // The widening fix of `a + b` is the preferred (machine-applicable) one.
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": diags[0]["range"],
            "context": {"diagnostics": [diags[0]]}}),
    );
    let actions = r["result"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{r}");
    let a = &actions[0];
    assert_eq!(a["kind"], "quickfix");
    assert_eq!(a["isPreferred"], true);
    assert_eq!(a["title"], "convert the left operand with `as u64`");
    assert_eq!(a["diagnostics"][0]["code"], "E0200");
    assert_eq!(a["diagnostics"][0]["range"], diags[0]["range"]);
    let edits = a["edit"]["changes"][URI].as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["newText"], " as u64");
    assert_eq!(edits[0]["range"]["start"], position(text, "a + b", 0, 1));
    let widened = apply(text, &a["edit"]);
    assert!(widened.contains("/* é😀 */ a as u64 + b;"), "{widened}");

    // Narrowing `x` can change its value: offered, not preferred.
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": range(text, "x;", 0),
            "context": {"diagnostics": []}}),
    );
    let actions = r["result"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{r}");
    assert_eq!(actions[0]["isPreferred"], false);
    let both = apply(&widened, &actions[0]["edit"]);
    assert!(both.contains("return x as u32;"), "{both}");

    // Only other kinds asked for, or a range without diagnostics: nothing.
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": diags[0]["range"],
            "context": {"diagnostics": [], "only": ["refactor"]}}),
    );
    assert_eq!(r["result"], json!([]));
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": range(text, "export", 0),
            "context": {"diagnostics": []}}),
    );
    assert_eq!(r["result"], json!([]));

    // Both fixes applied: the document checks.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": both}]}),
    );
    assert_eq!(c.diagnostics(URI, 2), Vec::<Value>::new());
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": range(&both, "a as u64", 0),
            "context": {"diagnostics": []}}),
    );
    assert_eq!(r["result"], json!([]), "fixed: no more quick fixes");
    let r = c.request("textDocument/codeAction", json!({"textDocument": 3}));
    assert_eq!(r["error"]["code"], -32602, "invalid parameters");
    let s = c.request("shutdown", Value::Null);
    assert_eq!(s["result"], Value::Null);
    c.notify("exit", Value::Null);
    assert!(c.child.wait().unwrap().success());
}

/// Asked for the fixes of a whole file that is one flood of mistakes, the
/// server offers those of the diagnostics it published (the first 1,000),
/// not one per mistake: 1,500 `x++` lines give 1,000 quick fixes, each of
/// a diagnostic on one of the first 1,000 of those lines.
#[test]
fn quick_fixes_are_those_of_the_diagnostics_shown() {
    let mut c = Client::start();
    c.request("initialize", json!({"processId": null, "capabilities": {}}));
    c.notify("initialized", json!({}));
    let text = format!(
        "export fn f() -> u32 {{\n    var x: u32 = 0;\n{}    return x;\n}}\n",
        "    x++;\n".repeat(1500)
    );
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": 1, "text": text}}),
    );
    let diags = c.diagnostics(URI, 1);
    assert_eq!(
        diags.len(),
        1001,
        "1,000 and the one that says how many more"
    );
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 2000, "character": 0}},
            "context": {"diagnostics": []}}),
    );
    let actions = r["result"].as_array().unwrap();
    assert_eq!(actions.len(), 1000);
    for (k, a) in actions.iter().enumerate() {
        assert_eq!(
            a["diagnostics"][0]["range"]["start"]["line"],
            json!(k + 2),
            "{a}"
        );
        let edits = a["edit"]["changes"][URI].as_array().unwrap();
        assert_eq!(edits[0]["newText"], "x += 1", "{a}");
    }
    let s = c.request("shutdown", Value::Null);
    assert_eq!(s["result"], Value::Null);
    c.notify("exit", Value::Null);
    assert!(c.child.wait().unwrap().success());
}

/// Every machine-applicable fix of the UI corpus is offered over the
/// protocol as a preferred quick fix, with its edits (one or several) intact,
/// and a maybe-incorrect one as a quick fix that is not preferred: the
/// editor gets exactly the fixes `--message-format json` shows.
#[test]
fn every_fix_of_the_ui_corpus_is_a_quick_fix() {
    use kpl_lang::diag::Applicability;
    let (table, _) = kplc::std_imports::ImportSources::embedded().load();
    // The UI corpus and the first mistakes, whose fixes come mostly from
    // the lexer's and parser's habit rewrites.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths: Vec<_> = ["tests/ui", "tests/one_mistake"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "kpl"))
        .collect();
    paths.sort();
    let mut c = Client::start();
    c.request("initialize", json!({"processId": null, "capabilities": {}}));
    c.notify("initialized", json!({}));
    let (mut files, mut fixes, mut several) = (0, 0, 0);
    for (n, path) in paths.iter().enumerate() {
        let text = std::fs::read_to_string(path).unwrap();
        let want: Vec<(String, bool, String)> = kpl_lang::analyze(&text, &table)
            .diagnostics
            .iter()
            .flat_map(|d| &d.help)
            .filter(|h| !h.edits.is_empty() && h.applicability != Applicability::HasPlaceholders)
            .map(|h| {
                let mut fixed = text.clone();
                for e in h.edits.iter().rev() {
                    fixed.replace_range(e.span.range(), &e.replacement);
                }
                (h.message.to_string(), h.is_machine_applicable(), fixed)
            })
            .collect();
        if want.is_empty() {
            continue;
        }
        files += 1;
        fixes += want.len();
        several += kpl_lang::analyze(&text, &table)
            .diagnostics
            .iter()
            .flat_map(|d| &d.help)
            .filter(|h| h.edits.len() > 1 && h.applicability != Applicability::HasPlaceholders)
            .count();
        // Each document under [`URI`] in turn (`apply` reads its edits).
        let version = n as i64 + 1;
        if files == 1 {
            c.notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": version, "text": text}}),
            );
        } else {
            c.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [{"text": text}]}),
            );
        }
        c.diagnostics(URI, version);
        let lines = text.split('\n').collect::<Vec<_>>();
        let last = lines.last().map_or(0, |l| l.encode_utf16().count());
        let r = c.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI},
                "range": {"start": {"line": 0, "character": 0},
                          "end": {"line": lines.len() - 1, "character": last}},
                "context": {"diagnostics": []}}),
        );
        let got: Vec<(String, bool, String)> = r["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert_eq!(a["kind"], "quickfix");
                // A sane range: in order, inside the text, and an edit that
                // does something (a zero-width range must insert text).
                for e in a["edit"]["changes"][URI].as_array().unwrap() {
                    let (from, to) = (
                        offset16(&text, &e["range"]["start"]),
                        offset16(&text, &e["range"]["end"]),
                    );
                    assert!(from <= to && to <= text.len(), "{}: {e}", path.display());
                    assert!(
                        from < to || !e["newText"].as_str().unwrap().is_empty(),
                        "{}: an edit that changes nothing: {e}",
                        path.display()
                    );
                }
                let fixed = apply(&text, &a["edit"]);
                assert_ne!(fixed, text, "{}: {a}", path.display());
                (
                    a["title"].as_str().unwrap().to_string(),
                    a["isPreferred"].as_bool().unwrap(),
                    fixed,
                )
            })
            .collect();
        assert_eq!(got, want, "{}", path.display());
    }
    eprintln!("{files} files, {fixes} fixes offered as quick fixes");
    assert!(fixes > 100 && several > 0, "{fixes} fixes");
    let s = c.request("shutdown", Value::Null);
    assert_eq!(s["result"], Value::Null);
    c.notify("exit", Value::Null);
    assert!(c.child.wait().unwrap().success());
}

/// `$/cancelRequest` for a request still waiting behind a slow one: that
/// request is answered `RequestCancelled` (-32800) and not computed; the
/// requests around it are answered as usual, and a cancellation of a
/// request already answered, or of one that never was, changes nothing.
#[test]
fn a_request_cancelled_while_it_waits_is_answered_cancelled() {
    let mut c = Client::start();
    c.request("initialize", json!({"processId": null, "capabilities": {}}));
    c.notify("initialized", json!({}));
    // A document whose formatting takes a while (tens of milliseconds),
    // so the requests after it wait in the queue.
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!("const C{i}: u32 = {i} + 1;\n"));
    }
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "kpl", "version": 1, "text": text}}),
    );
    // One write: the slow request, the one to cancel, its cancellation, a
    // cancellation of an id nobody used, and a last request.
    let mut burst = Vec::new();
    for msg in [
        json!({"jsonrpc": "2.0", "id": 100, "method": "textDocument/formatting",
               "params": {"textDocument": {"uri": URI},
                          "options": {"tabSize": 4, "insertSpaces": true}}}),
        json!({"jsonrpc": "2.0", "id": 101, "method": "textDocument/documentSymbol",
               "params": {"textDocument": {"uri": URI}}}),
        json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 101}}),
        json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "nobody"}}),
        json!({"jsonrpc": "2.0", "id": "last", "method": "textDocument/hover",
               "params": {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 6}}}),
    ] {
        let body = msg.to_string();
        burst.extend(framed(&body).bytes());
    }
    c.send_raw(&burst);
    let mut answers = Vec::new();
    while answers.len() < 3 {
        let m = c.recv();
        if m.get("id").is_some() {
            answers.push(m);
        }
    }
    assert_eq!(answers[0]["id"], json!(100));
    assert!(answers[0]["result"].is_array(), "{}", answers[0]);
    assert_eq!(answers[1]["id"], json!(101));
    assert_eq!(answers[1]["error"]["code"], json!(-32800), "{}", answers[1]);
    assert_eq!(answers[2]["id"], json!("last"));
    assert!(answers[2].get("error").is_none(), "{}", answers[2]);
    // Cancelling what was answered long ago: the next request is computed.
    // (The document's diagnostics may be published before its answer, on
    // a loaded machine: only the answer is looked at.)
    c.notify("$/cancelRequest", json!({"id": 100}));
    c.send(
        json!({"jsonrpc": "2.0", "id": 102, "method": "textDocument/documentSymbol",
                  "params": {"textDocument": {"uri": URI}}}),
    );
    let symbols = loop {
        let m = c.recv();
        if m.get("id").is_some() {
            break m;
        }
    };
    assert_eq!(symbols["id"], json!(102), "{symbols}");
    assert!(symbols["result"].is_array(), "{symbols}");
    // The diagnostics may still come before the shutdown's answer.
    c.send(json!({"jsonrpc": "2.0", "id": 103, "method": "shutdown"}));
    let down = loop {
        let m = c.recv();
        if m.get("id").is_some() {
            break m;
        }
    };
    assert_eq!(down["id"], json!(103), "{down}");
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().unwrap().code(), Some(0));
}
