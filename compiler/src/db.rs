//! The incremental compilation database (salsa), shared by `kplc check`,
//! `kplc build` and `kplc lsp`.
//!
//! Granularity comes from giving each item a position-independent identity
//! and content:
//!
//! - [`parse`] (re-runs on every edit) cuts the file into chunks at item
//!   starts ([`chunk_starts`]); [`parse_chunk`] lexes and parses one chunk
//!   and [`place_chunk`] moves its items into *virtual coordinates* (see
//!   [`Parsed`]): positions count tokens from the item's first token, and
//!   item `k` starts at `k * stride`, whatever its place in the text; its
//!   expression ids are numbered from 0. Both are keyed by the chunk's text
//!   (and `place_chunk` by its first item's index and the stride), so an
//!   edit parses and places one chunk, and `parse` itself only lists the
//!   chunks' shared (`Arc`) results: it copies no tree.
//! - [`items`] makes them [`Item`]s, salsa tracked structs identified by
//!   kind, name and ordinal. An item's declaration (a function's
//!   signature, or a whole `struct`/`const`/`static`/`use`) and a function's
//!   body are separate tracked fields, with `///` docs removed, so editing
//!   a comment, whitespace, or text in another item leaves them equal (the
//!   same `Arc`, compared by pointer) and salsa backdates them. The whole
//!   tree in text coordinates, which the editor and whole-program code
//!   generation read, is assembled only when asked for ([`text_ast`]).
//! - [`skeleton`] is the file of declarations only; [`decls`] checks it
//!   (names, layouts, constants, statics, signatures).
//! - [`body_env`] projects the declarations onto what one body can see: the
//!   signatures of the functions it names, and placeholders for the rest. A
//!   changed signature therefore changes only its callers' projections.
//! - [`check_fn`] checks one body.
//! - [`whole_program`] applies the whole-program rules (recursion, stack,
//!   unused items) to the per-body summaries.
//! - [`diagnostics`] maps virtual spans back to the text, filters semantic
//!   complaints on syntactically broken lines and sorts: the same list as
//!   [`kpl_lang::analyze`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use kpl_lang::Span;
use kpl_lang::ast::{self, ExprKind, ItemKind};
use kpl_lang::check::{self, Decls, FnChecked, FnDef};
use kpl_lang::diag::{self, Diagnostic};
use kpl_lang::imports::ImportTable;

use kpl_codegen::lower::LoweredFn;
use kpl_codegen::pipeline::Compiled;
use salsa::{Database, Setter};

/// One plugin source file and the import table it is checked against.
#[salsa::input]
pub struct SourceFile {
    #[returns(ref)]
    pub text: String,
    #[returns(ref)]
    pub imports: Arc<ImportTable>,
}

/// Identity of an item across edits: its kind, name and the number of
/// earlier items with the same kind and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ItemKey {
    pub kind: &'static str,
    pub name: String,
    pub ordinal: u32,
}

impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ordinal == 0 {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}#{}", self.name, self.ordinal)
        }
    }
}

/// An item of a file, in virtual coordinates (see the module docs).
#[salsa::tracked]
pub struct Item<'db> {
    #[returns(copy)]
    pub file: SourceFile,
    #[returns(ref)]
    pub key: ItemKey,
    /// The item with a function's body emptied.
    #[tracked]
    #[returns(ref)]
    pub decl: Arc<ast::Item>,
    /// A function's body.
    #[tracked]
    #[returns(ref)]
    pub body: Option<Arc<ast::Block>>,
    /// Index of a function in `Program::functions`.
    #[tracked]
    #[returns(copy)]
    pub fn_index: Option<u32>,
}

/// Where an item lies in the text and in virtual coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub key: ItemKey,
    /// Extent of the item in the text (covering every span inside it).
    pub text: Span,
    /// The item's own span in the text.
    pub span: Span,
    /// The item is a function.
    pub is_fn: bool,
    /// Index of the item's first token.
    pub first_token: u32,
    /// Start of the item in virtual coordinates.
    pub virt: u32,
}

/// The parsed file: its chunks, each parsed and placed by its own queries
/// and shared with them (behind `Arc`), and where their items lie.
///
/// Virtual coordinates count tokens, not bytes: `2t` is the start and
/// `2t + 1` the end of the item's `t`-th token, and item `k` starts at
/// `k * stride`. So comments and whitespace, which are not tokens, do not
/// move anything, and neither does editing another item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The chunks in order (one, the whole text, when the file could not be
    /// parsed chunk by chunk).
    pub chunks: Vec<ChunkAt>,
    /// Index in the file of each chunk's first token (the tokens themselves
    /// are the chunks').
    pub token_starts: Vec<u32>,
    pub placements: Vec<Placement>,
    pub stride: u32,
}

/// One chunk of the file: where it starts, its parse (in its own
/// coordinates, with docs; see [`text_ast`] for the whole tree) and its
/// items placed ([`place_chunk`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkAt {
    /// Byte offset of the chunk in the text.
    pub start: u32,
    /// Index in the file of the chunk's first item.
    pub first_item: u32,
    pub parse: Arc<ChunkParse>,
    pub placed: Arc<Vec<PlacedItem>>,
}

/// Token coordinate of a byte offset used as a span's start.
fn coord_start(tokens: &[Span], b: u32) -> u32 {
    let t = tokens.partition_point(|s| s.start < b);
    if t < tokens.len() && tokens[t].start == b {
        return 2 * t as u32;
    }
    let e = tokens.partition_point(|s| s.end < b);
    if e < tokens.len() && tokens[e].end == b {
        return 2 * e as u32 + 1;
    }
    2 * t as u32
}

/// Token coordinate of a byte offset used as a span's end.
fn coord_end(tokens: &[Span], b: u32) -> u32 {
    let e = tokens.partition_point(|s| s.end < b);
    if e < tokens.len() && tokens[e].end == b {
        return 2 * e as u32 + 1;
    }
    let t = tokens.partition_point(|s| s.start < b);
    if t < tokens.len() && tokens[t].start == b {
        return 2 * t as u32;
    }
    (2 * e as u32).saturating_sub(1)
}

/// Virtual span of a span `s` inside an item whose first token is
/// `tokens[first]` and which starts at `virt`. `tokens` may be the chunk's
/// or the file's: the item lies inside its chunk, and a binary search over a
/// contiguous part of the file's tokens that covers the span finds the same
/// token, counted from the part's start.
fn to_virtual_span(tokens: &[Span], first: u32, virt: u32, s: Span) -> Span {
    let base = virt.wrapping_sub(2 * first);
    let start = coord_start(tokens, s.start);
    let end = if s.end == s.start {
        start
    } else {
        coord_end(tokens, s.end).max(start)
    };
    Span {
        start: start.wrapping_add(base),
        end: end.wrapping_add(base),
    }
}

impl Parsed {
    /// Lexical and syntax diagnostics in text coordinates, sorted: made when
    /// asked for, not kept beside the chunks' (a file of errors has as many
    /// diagnostics as tokens).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .chunks
            .iter()
            .flat_map(|c| c.parse.diagnostics.iter().map(|d| shift_diag(d, c.start)))
            .collect();
        if self.chunks.len() > 1 {
            diag::sort(&mut out);
        }
        out
    }

    /// Byte span of the file's `t`-th token (the last one past the end).
    fn token(&self, t: u32) -> Option<Span> {
        let total = match (self.chunks.last(), self.token_starts.last()) {
            (Some(c), Some(&s)) => s + c.parse.tokens.len() as u32,
            _ => 0,
        };
        let t = t.min(total.checked_sub(1)?);
        // The last chunk starting at or before `t` (chunks without tokens
        // share their start with the next one).
        let j = self
            .token_starts
            .partition_point(|&s| s <= t)
            .checked_sub(1)?;
        let c = &self.chunks[j];
        let span = c.parse.tokens.get((t - self.token_starts[j]) as usize)?;
        Some(shift(*span, c.start))
    }

    fn byte_of(&self, c: u32) -> u32 {
        let Some(t) = self.token(c / 2) else {
            return 0;
        };
        if c.is_multiple_of(2) { t.start } else { t.end }
    }

    /// Text span of a virtual span.
    pub fn to_text(&self, s: Span) -> Span {
        if self.stride == 0 || self.placements.is_empty() {
            return s;
        }
        let k = ((s.start / self.stride) as usize).min(self.placements.len() - 1);
        let p = &self.placements[k];
        let base = p.virt.wrapping_sub(2 * p.first_token);
        let start = self.byte_of(s.start.wrapping_sub(base));
        let end = self.byte_of(s.end.wrapping_sub(base));
        Span {
            start,
            end: end.max(start),
        }
    }

    /// The index of the item whose extent contains text offset `offset`.
    pub fn item_at(&self, offset: u32) -> Option<usize> {
        self.placements
            .iter()
            .position(|p| p.text.start <= offset && offset <= p.text.end)
    }

    fn to_text_diag(&self, mut d: Diagnostic) -> Diagnostic {
        d.primary.span = self.to_text(d.primary.span);
        for l in &mut d.secondary {
            l.span = self.to_text(l.span);
        }
        for h in &mut d.help {
            for s in h.spans_mut() {
                *s = self.to_text(*s);
            }
        }
        d
    }
}

/// `d` with every span moved by `by` bytes.
fn shift_diag(d: &Diagnostic, by: u32) -> Diagnostic {
    let shift = |s: Span| shift(s, by);
    let mut d = d.clone();
    d.primary.span = shift(d.primary.span);
    for l in &mut d.secondary {
        l.span = shift(l.span);
    }
    for h in &mut d.help {
        for s in h.spans_mut() {
            *s = shift(*s);
        }
    }
    d
}

fn shift(s: Span, by: u32) -> Span {
    Span {
        start: s.start + by,
        end: s.end + by,
    }
}

/// The extent of an item: its span joined with every span inside it. Read
/// in place, without a copy of the item.
fn extent(item: &ast::Item) -> Span {
    let mut ext = item.span;
    ast::for_each_span(item, &mut |s| {
        if s != Span::default() {
            ext = ext.to(s);
        }
    });
    ext
}

fn item_key_parts(item: &ast::Item) -> (&'static str, String) {
    match &item.kind {
        ItemKind::Use(u) => (
            "use",
            format!(
                "{}::{{{}}}",
                u.module.name,
                u.names
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        ItemKind::Const(g) => ("const", g.name.name.clone()),
        ItemKind::Static(g) => ("static", g.name.name.clone()),
        ItemKind::Struct(s) => ("struct", s.name.name.clone()),
        ItemKind::Fn(f) => ("fn", f.sig.name.name.clone()),
        ItemKind::ExternFn(s) => ("extern", s.name.name.clone()),
        ItemKind::Error(name) => (
            "error",
            name.as_ref().map_or_else(String::new, |n| n.name.clone()),
        ),
    }
}

/// A piece of the text that starts at a line where an item (or the `///`
/// doc above one) begins outside any brackets and comments. Interned, so an
/// unchanged chunk is parsed once.
#[salsa::interned]
pub struct Chunk<'db> {
    #[returns(ref)]
    pub text: String,
}

/// A chunk lexed and parsed on its own, in the chunk's coordinates.
#[derive(Debug, PartialEq, Eq)]
pub struct ChunkParse {
    pub ast: ast::File,
    pub diagnostics: Vec<Diagnostic>,
    pub tokens: Vec<Span>,
    /// The errors the file's error budget counted in the chunk (see
    /// [`kpl_lang::SourceParse::errors_counted`] and [`parse_chunked`]).
    pub errors_counted: usize,
    /// For each item of `ast`: its extent and its tokens.
    pub extents: Vec<ItemExtent>,
    /// Parsing the chunk alone gave what parsing the whole file gives for
    /// it, if the next chunk starts with an item keyword (see
    /// [`parse_chunked`] for why): no diagnostic touches the chunk's last
    /// token, except the one at a stray closer that is the chunk's last item
    /// all by itself.
    pub self_contained: bool,
    /// The first token is an item keyword. Otherwise the whole-file parse
    /// would have swallowed the tokens before it into the previous item's
    /// error recovery (which skips to the next item keyword).
    pub starts_with_item: bool,
}

/// Where one item of a chunk lies, in the chunk's coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemExtent {
    /// The item's extent (see [`extent`]).
    pub text: Span,
    /// Index of its first token and one past its last.
    pub first: u32,
    pub end: u32,
}

#[salsa::tracked(returns(ref))]
pub fn parse_chunk<'db>(db: &'db dyn Database, chunk: Chunk<'db>) -> Arc<ChunkParse> {
    let kpl_lang::SourceParse {
        file: ast,
        diagnostics,
        tokens,
        errors_counted,
        ..
    } = kpl_lang::parse_source_tokens(chunk.text(db));
    let text = chunk.text(db);
    let last = tokens.last().copied().unwrap_or_default();
    // A closer at the top level that the parser skipped as an item of its
    // own: its error is the same whatever follows (see `parse_chunked`).
    let stray_closer = matches!(text.get(last.range()), Some(")" | "]" | "}"))
        && ast
            .items
            .last()
            .is_some_and(|i| matches!(i.kind, ItemKind::Error(_)) && i.span == last);
    let before_last = |s: Span| s.end < last.start;
    let self_contained = diagnostics.iter().all(|d| {
        d.secondary.iter().all(|l| before_last(l.span))
            && (before_last(d.primary.span) || stray_closer && d.primary.span == last)
    });
    let starts_with_item = tokens
        .first()
        .and_then(|t| text.get(t.range()))
        .is_some_and(|w| ITEM_KEYWORDS.contains(&w));
    let extents = ast
        .items
        .iter()
        .map(|item| {
            let e = extent(item);
            let first = tokens.partition_point(|t| t.start < e.start) as u32;
            let end = tokens.partition_point(|t| t.end <= e.end) as u32;
            ItemExtent {
                text: e,
                first,
                end: end.max(first),
            }
        })
        .collect();
    Arc::new(ChunkParse {
        ast,
        diagnostics,
        tokens,
        errors_counted,
        extents,
        self_contained,
        starts_with_item,
    })
}

/// A chunk at a place in the file: the index of its first item and the
/// file's stride fix its items' virtual coordinates.
#[salsa::interned]
pub struct PlacedChunk<'db> {
    pub chunk: Chunk<'db>,
    pub first_item: u32,
    pub stride: u32,
    /// The chunk's byte offset when `stride` is 0 (the items then stay in
    /// text coordinates), otherwise 0 so that moving the chunk changes
    /// nothing.
    pub offset: u32,
}

/// One item as the checker sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct PlacedItem {
    /// The item without `///` docs, a function's body emptied, in virtual
    /// coordinates, with expression ids numbered from 0.
    pub decl: Arc<ast::Item>,
    /// A function's body.
    pub body: Option<Arc<ast::Block>>,
}

/// A chunk's items placed in virtual coordinates (see [`Parsed`]). Its
/// key is the chunk's text and place, so after an edit elsewhere that moves
/// no item to another index, the same trees (the same `Arc`s) come back and
/// [`items`] compares them by pointer.
#[salsa::tracked(returns(ref))]
pub fn place_chunk<'db>(db: &'db dyn Database, at: PlacedChunk<'db>) -> Arc<Vec<PlacedItem>> {
    let cp = parse_chunk(db, *at.chunk(db));
    let (first_item, stride, offset) = (*at.first_item(db), *at.stride(db), *at.offset(db));
    let placed = cp
        .ast
        .items
        .iter()
        .zip(&cp.extents)
        .enumerate()
        .map(|(j, (item, ext))| {
            let virt = (first_item + j as u32).wrapping_mul(stride);
            place_item(item, &mut |s| {
                if stride == 0 {
                    shift(s, offset)
                } else {
                    to_virtual_span(&cp.tokens, ext.first, virt, s)
                }
            })
        })
        .collect();
    Arc::new(placed)
}

/// `item` without docs, with local expression ids, moved by `to`, its body
/// taken out.
fn place_item(item: &ast::Item, to: &mut dyn FnMut(Span) -> Span) -> PlacedItem {
    let mut item = item.clone();
    item.doc = None;
    if let ItemKind::Struct(s) = &mut item.kind {
        for f in &mut s.fields {
            f.doc = None;
        }
    }
    let mut one = ast::File { items: vec![item] };
    ast::number_exprs(&mut one);
    let mut item = one.items.pop().unwrap_or(ast::Item {
        kind: ItemKind::Error(None),
        span: Span::default(),
        doc: None,
    });
    ast::map_spans(&mut item, to);
    let mut body = None;
    if let ItemKind::Fn(f) = &mut item.kind {
        let at = Span {
            start: f.body.span.start,
            end: f.body.span.start,
        };
        let b = std::mem::replace(
            &mut f.body,
            ast::Block {
                stmts: Vec::new(),
                span: at,
            },
        );
        item.span.end = at.start.max(item.span.start);
        body = Some(Arc::new(b));
    }
    PlacedItem {
        decl: Arc::new(item),
        body,
    }
}

const ITEM_KEYWORDS: [&str; 7] = ["use", "const", "static", "struct", "fn", "export", "extern"];

/// Byte offsets where chunks start: a subset of the [`item_starts`], chosen
/// from the text around each start alone, so that an edit moves no boundary
/// away from itself.
///
/// Every chunk costs a parser built and dropped and a query's bookkeeping, as
/// much as parsing a few hundred bytes: a file of tens of thousands of
/// one-line items spent more on that than on parsing. So a start is kept only
/// after an item of at least [`CHUNK_MIN`] bytes, or where the hash of the
/// start's line picks it (one line in [`CHUNK_PICK`]); small items between
/// those join the chunk before them. An edit inside an item then re-parses
/// the chunk it is in (and the next one, if it changes a boundary's line or
/// an item's size across the threshold), a few small items at most. Lines
/// that hash alike, say thousands of identical items, would never be picked:
/// a start is also kept after [`CHUNK_MAX_ITEMS`] items without one.
pub fn chunk_starts(text: &str) -> Vec<usize> {
    let items = item_starts(text);
    let mut starts = Vec::with_capacity(items.len() / 4 + 1);
    let mut since = 0;
    for (k, &at) in items.iter().enumerate() {
        let prev = k.checked_sub(1).map_or(0, |p| items[p]);
        let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
        let picked = fnv1a(&text.as_bytes()[at..line_end]).is_multiple_of(CHUNK_PICK);
        if k == 0 || at - prev >= CHUNK_MIN || picked || since >= CHUNK_MAX_ITEMS {
            starts.push(at);
            since = 0;
        }
        since += 1;
    }
    starts
}

/// An item at least this long (in bytes, from its start to the next item's)
/// ends its chunk; see [`chunk_starts`].
const CHUNK_MIN: usize = 256;
/// One start line in this many (by hash) begins a chunk anyway.
const CHUNK_PICK: u64 = 16;
/// No chunk holds more items than this.
const CHUNK_MAX_ITEMS: usize = 64;

/// FNV-1a: a hash of a line that is the same in every run and on every
/// machine, so that chunk boundaries are too.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Byte offsets where items start: lines outside brackets, block comments
/// and strings that begin with an item keyword, or with the first of the
/// `///` lines above one. Brackets that never close make one long chunk,
/// which is the whole-file parse again.
fn item_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut starts = vec![0];
    let mut depth: u32 = 0;
    let mut in_block = false;
    let mut i = 0;
    let mut line_start = 0;
    let mut prev_doc = false;
    while line_start < b.len() {
        let line_end = text[line_start..]
            .find('\n')
            .map_or(b.len(), |n| line_start + n + 1);
        // Classify the line by its state at the start.
        if depth == 0 && !in_block && line_start > 0 {
            let t = text[line_start..line_end].trim_start();
            let doc = t.starts_with("///");
            // The leading word, borrowed (this runs for every line on every
            // edit): ASCII letters, digits and `_` are one byte each.
            let len = t
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            let item = ITEM_KEYWORDS.contains(&&t[..len]);
            if (doc || item) && !prev_doc {
                starts.push(line_start);
            }
            prev_doc = doc;
        } else {
            prev_doc = false;
        }
        // Advance through the line, tracking comments, strings and brackets.
        i = i.max(line_start);
        while i < line_end {
            if in_block {
                if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    in_block = false;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => i = line_end,
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    in_block = true;
                    i += 2;
                }
                b'"' => {
                    i += 1;
                    while i < line_end && b[i] != b'"' && b[i] != b'\n' {
                        i += if b[i] == b'\\' && b.get(i + 1) != Some(&b'\n') {
                            2
                        } else {
                            1
                        };
                    }
                    i += 1;
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    i += 1;
                }
                b')' | b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    i += 1;
                }
                _ => i += 1,
            }
        }
        line_start = line_end;
    }
    starts
}

/// Lexes and parses the file chunk by chunk (reusing unchanged chunks), or
/// as one chunk when a chunk is not self-contained; then places the items.
/// Runs on every edit, so it copies no tree: the chunks' parses and placed
/// items are shared with their queries.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn Database, file: SourceFile) -> Parsed {
    let text = file.text(db);
    let parts = parse_chunked(db, text).unwrap_or_else(|| {
        let whole = Chunk::new(db, text.as_str());
        vec![(0, whole, parse_chunk(db, whole))]
    });
    let count: usize = parts.iter().map(|(_, _, cp)| cp.ast.items.len()).sum();
    let longest = parts
        .iter()
        .flat_map(|(_, _, cp)| cp.extents.iter().map(|e| e.end - e.first))
        .max()
        .unwrap_or(0);
    let stride = (2 * u64::from(longest) + 2)
        .next_power_of_two()
        .max(1 << 12);
    let stride = if stride.saturating_mul(count as u64 + 1) < u64::from(u32::MAX) {
        stride as u32
    } else {
        0
    };
    let mut seen: std::collections::HashMap<(&'static str, String), u32> = Default::default();
    let mut placements = Vec::with_capacity(count);
    let mut chunks = Vec::with_capacity(parts.len());
    let mut token_starts = Vec::with_capacity(parts.len());
    let mut tokens = 0u32;
    for &(start, chunk, cp) in &parts {
        let first_item = placements.len() as u32;
        let offset = if stride == 0 { start } else { 0 };
        let placed = place_chunk(db, PlacedChunk::new(db, chunk, first_item, stride, offset));
        let first_token = tokens;
        token_starts.push(tokens);
        tokens += cp.tokens.len() as u32;
        for (item, ext) in cp.ast.items.iter().zip(&cp.extents) {
            let (kind, name) = item_key_parts(item);
            let n = seen.entry((kind, name.clone())).or_default();
            let key = ItemKey {
                kind,
                name,
                ordinal: *n,
            };
            *n += 1;
            placements.push(Placement {
                key,
                text: shift(ext.text, start),
                span: shift(item.span, start),
                is_fn: matches!(item.kind, ItemKind::Fn(_)),
                first_token: first_token + ext.first,
                virt: placements.len() as u32 * stride,
            });
        }
        chunks.push(ChunkAt {
            start,
            first_item,
            parse: cp.clone(),
            placed: placed.clone(),
        });
    }
    Parsed {
        chunks,
        token_starts,
        placements,
        stride,
    }
}

/// The file's chunks with their starts and parses (`None` if a chunk is not
/// self-contained, or there is only one).
///
/// Why the chunks' parses, put side by side, are exactly the whole-file
/// parse (the same items, the same diagnostics) when every chunk but the
/// first starts with an item keyword and every chunk but the last is
/// self-contained ([`ChunkParse::self_contained`]): by induction over the
/// chunks, the whole-file parse reaches each chunk's first token in the
/// state a parse of the chunk alone starts in, and then does what that
/// parse does up to the chunk's end.
///
/// - *Lexing.* A chunk starts at a line start outside comments (and strings
///   end at their line), so the whole file's tokens are the chunks' tokens.
/// - *Delimiter balancing* ([`kpl_lang::delims`]) is one walk with a stack of
///   open groups. An item keyword empties the stack, so at a chunk's first
///   token both walks have an empty stack. At a chunk's end, the chunk alone
///   closes its open groups with one diagnostic at the end of its last
///   token, which makes it not self-contained; so a self-contained chunk
///   ends with none open, as the whole file has at the next item keyword.
/// - *Parsing* is `item*` then the end: each item is parsed from its first
///   token, and a broken one is skipped up to the next item keyword, which
///   is where the next chunk starts. An item that would run into the next
///   chunk reaches the chunk's end instead and fails or stops there; every
///   such failure is reported at the last token or the end of the chunk,
///   which makes it not self-contained. An item keyword continues no
///   construct, so an item that ends at or before the last token ends there
///   in both parses (what the parser peeked at after it, an item keyword or
///   the end, it rejected either way). One exception is allowed: a stray
///   `)`, `]` or `}` at the top level that is the chunk's last token and its
///   last item by itself (error recovery skipped it alone). The parser met
///   it between items, where no item can start with a closer, so its error
///   (at it, expecting an item) does not depend on what follows, and the
///   skip stops at the end of the chunk just as it stops at the next item
///   keyword in the whole file.
/// - *The last chunk* ends where the file ends, so a parse of it alone sees
///   what the whole file's parse sees from its first token on: it need not
///   be self-contained.
/// - What follows the parser looks only backwards or within one item (the
///   expected tokens, habits, docs attached to the item after them) or
///   within one line (one syntax error per line; chunks start at line
///   starts), and the `{` depth is 0 at every chunk start in both.
///
/// - *The file's error budget* (E0008, `kpl_lang::parser::budget`) is
///   counted at each item's start, from the errors of the items before it
///   and the lexical and delimiter errors before it, which are the same
///   inside a chunk as inside the file. So where the chunks' counts add up
///   to less than the budget, the whole-file parse, whose count at any
///   item is at most their sum, was not cut either. Otherwise the file is
///   parsed whole (and cut where the budget says).
///
/// `compiler/tests/incremental.rs` compares the two on stray closers at
/// chunk ends and on random edits of every example.
#[allow(clippy::type_complexity)]
fn parse_chunked<'db>(
    db: &'db dyn Database,
    text: &str,
) -> Option<Vec<(u32, Chunk<'db>, &'db Arc<ChunkParse>)>> {
    let starts = chunk_starts(text);
    if starts.len() < 2 {
        return None;
    }
    let mut parts = Vec::with_capacity(starts.len());
    let mut counted = 0usize;
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(text.len());
        let chunk = Chunk::new(db, text.get(start..end)?);
        let cp = parse_chunk(db, chunk);
        let last = n + 1 == starts.len();
        if !(cp.self_contained || last) || (n > 0 && !cp.starts_with_item) {
            return None;
        }
        counted = counted.saturating_add(cp.errors_counted);
        if counted >= kpl_lang::FILE_ERROR_BUDGET {
            return None;
        }
        parts.push((start as u32, chunk, cp));
    }
    Some(parts)
}

/// The whole tree in text coordinates, with docs, for the editor and
/// whole-program code generation: the chunks' trees copied and moved to
/// their places (so only when asked for, not on every edit).
#[salsa::tracked(returns(ref))]
pub fn text_ast(db: &dyn Database, file: SourceFile) -> Arc<ast::File> {
    let parsed = parse(db, file);
    if let [whole] = parsed.chunks.as_slice() {
        return Arc::new(whole.parse.ast.clone());
    }
    let mut f = ast::File {
        items: Vec::with_capacity(parsed.placements.len()),
    };
    for c in &parsed.chunks {
        for item in &c.parse.ast.items {
            let mut item = item.clone();
            ast::map_spans(&mut item, &mut |s| shift(s, c.start));
            f.items.push(item);
        }
    }
    ast::number_exprs(&mut f);
    Arc::new(f)
}

/// The items of the file as tracked structs, sharing the placed trees of
/// [`place_chunk`]: an item whose tree is the same `Arc` as before compares
/// equal at once and keeps its revision.
#[salsa::tracked(returns(ref))]
pub fn items(db: &dyn Database, file: SourceFile) -> Vec<Item<'_>> {
    let parsed = parse(db, file);
    let mut fn_index = 0u32;
    let mut out = Vec::with_capacity(parsed.placements.len());
    for c in &parsed.chunks {
        for (j, p) in c.placed.iter().enumerate() {
            let Some(place) = parsed.placements.get(c.first_item as usize + j) else {
                continue;
            };
            let index = p.body.as_ref().map(|_| {
                fn_index += 1;
                fn_index - 1
            });
            out.push(Item::new(
                db,
                file,
                place.key.clone(),
                p.decl.clone(),
                p.body.clone(),
                index,
            ));
        }
    }
    out
}

/// The file with every function body empty, in virtual coordinates, with
/// expression ids numbered across it.
#[salsa::tracked(returns(ref))]
pub fn skeleton(db: &dyn Database, file: SourceFile) -> Arc<ast::File> {
    let mut f = ast::File {
        items: items(db, file)
            .iter()
            .map(|i| (**i.decl(db)).clone())
            .collect(),
    };
    ast::number_exprs(&mut f);
    Arc::new(f)
}

/// The declarations checked (phase 1 of the checker).
#[salsa::tracked(returns(ref))]
pub fn decls(db: &dyn Database, file: SourceFile) -> Arc<Decls> {
    Arc::new(check::check_decls(skeleton(db, file), file.imports(db)))
}

/// The skeleton with every function signature cleared: what a body check
/// needs of the file's items besides [`body_env`].
#[salsa::tracked(returns(ref))]
pub fn body_skeleton(db: &dyn Database, file: SourceFile) -> Arc<ast::File> {
    let mut f = (**skeleton(db, file)).clone();
    for item in &mut f.items {
        if let ItemKind::Fn(func) = &mut item.kind {
            func.sig.params.clear();
            func.sig.ret = None;
        }
    }
    Arc::new(f)
}

/// Names a body mentions (a superset of the globals it can resolve).
fn mentioned_names(block: &ast::Block) -> HashSet<String> {
    let mut out = Vec::new();
    collect_block(block, &mut out);
    out.iter()
        .filter_map(|e| match &e.kind {
            ExprKind::Name(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// Every expression of an item, outermost first.
pub fn collect_exprs_item<'a>(item: &'a ast::Item, out: &mut Vec<&'a ast::Expr>) {
    collect_exprs_item_inner(item, out)
}

fn collect_exprs_item_inner<'a>(item: &'a ast::Item, out: &mut Vec<&'a ast::Expr>) {
    use ast::ItemKind as K;
    match &item.kind {
        K::Const(g) | K::Static(g) => {
            collect_type(&g.ty, out);
            collect_expr(&g.value, out);
        }
        K::Struct(s) => s.fields.iter().for_each(|f| collect_type(&f.ty, out)),
        K::Fn(f) => {
            f.sig.params.iter().for_each(|p| collect_type(&p.ty, out));
            f.sig.ret.iter().for_each(|t| collect_type(t, out));
            collect_block(&f.body, out);
        }
        K::ExternFn(s) => {
            s.params.iter().for_each(|p| collect_type(&p.ty, out));
            s.ret.iter().for_each(|t| collect_type(t, out));
        }
        K::Use(_) | K::Error(_) => {}
    }
}

fn collect_type<'a>(t: &'a ast::Type, out: &mut Vec<&'a ast::Expr>) {
    match &t.kind {
        ast::TypeKind::Array(e, n) => {
            collect_type(e, out);
            collect_expr(n, out);
        }
        ast::TypeKind::Slice { elem, .. } => collect_type(elem, out),
        _ => {}
    }
}

/// Every expression of a block, outermost first.
pub fn collect_block<'a>(b: &'a ast::Block, out: &mut Vec<&'a ast::Expr>) {
    for s in &b.stmts {
        collect_stmt(s, out);
    }
}

fn collect_stmt<'a>(s: &'a ast::Stmt, out: &mut Vec<&'a ast::Expr>) {
    use ast::StmtKind as S;
    match &s.kind {
        S::Let { ty, init, .. } => {
            ty.iter().for_each(|t| collect_type(t, out));
            collect_expr(init, out);
        }
        S::Assign { target, value, .. } => {
            collect_expr(target, out);
            collect_expr(value, out);
        }
        S::If { cond, then, els } => {
            collect_expr(cond, out);
            collect_block(then, out);
            if let Some(e) = els {
                collect_stmt(e, out);
            }
        }
        S::While { cond, body } => {
            collect_expr(cond, out);
            collect_block(body, out);
        }
        S::For { iter, body, .. } => {
            match iter {
                ast::ForIter::Range(a, b) => {
                    collect_expr(a, out);
                    collect_expr(b, out);
                }
                ast::ForIter::Each(e) => collect_expr(e, out),
            }
            collect_block(body, out);
        }
        S::Return(Some(e)) | S::Expr(e) => collect_expr(e, out),
        S::Block(b) => collect_block(b, out),
        _ => {}
    }
}

fn collect_expr<'a>(e: &'a ast::Expr, out: &mut Vec<&'a ast::Expr>) {
    out.push(e);
    match &e.kind {
        ExprKind::Unary(_, x) | ExprKind::Paren(x) | ExprKind::Field(x, _) => collect_expr(x, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            collect_expr(lhs, out);
            collect_expr(rhs, out);
        }
        ExprKind::Cast(x, t) => {
            collect_expr(x, out);
            collect_type(t, out);
        }
        ExprKind::Call(c, args) => {
            collect_expr(c, out);
            args.iter().for_each(|a| collect_expr(a, out));
        }
        ExprKind::Index(a, b) | ExprKind::ArrayRepeat(a, b) => {
            collect_expr(a, out);
            collect_expr(b, out);
        }
        ExprKind::StructLit(_, fields) => fields.iter().for_each(|f| collect_expr(&f.value, out)),
        ExprKind::ArrayLit(elems) => elems.iter().for_each(|x| collect_expr(x, out)),
        _ => {}
    }
}

/// The declarations with every function signature cleared and the side
/// tables of the declarations dropped: the part of the declarations every
/// body sees alike. A signature edit recomputes it, equal, so it is
/// backdated.
#[salsa::tracked(returns(ref))]
pub fn shared_env(db: &dyn Database, file: SourceFile) -> Arc<Decls> {
    Arc::new(decls(db, file).for_body(&|_| false))
}

/// The signatures one body sees: its own function's and those of the
/// functions its body names (by index in `Program::functions`). A changed
/// signature changes only the projections of its function and its callers.
#[salsa::tracked(returns(ref))]
pub fn body_env<'db>(db: &'db dyn Database, item: Item<'db>) -> Vec<(usize, FnDef)> {
    let decls = decls(db, item.file(db));
    let names = item
        .body(db)
        .as_ref()
        .map(|b| mentioned_names(b))
        .unwrap_or_default();
    // Its own (even if its name is taken by an earlier item) and those it
    // names, looked up by name in index order: the cost is the body's, not
    // the file's.
    let own = item.fn_index(db).map(|i| i as usize);
    let indices: std::collections::BTreeSet<usize> = own
        .into_iter()
        .chain(names.iter().filter_map(|n| decls.function_index(n)))
        .filter(|i| *i < decls.program.functions.len())
        .collect();
    indices
        .into_iter()
        .map(|i| (i, decls.program.functions[i].clone()))
        .collect()
}

/// One function body checked, in virtual coordinates with local expression
/// ids. `None` for items that are not functions.
#[salsa::tracked(returns(ref))]
pub fn check_fn<'db>(db: &'db dyn Database, item: Item<'db>) -> Option<Arc<FnChecked>> {
    let (Some(body), Some(index)) = (item.body(db).as_ref(), item.fn_index(db)) else {
        return None;
    };
    let ItemKind::Fn(f) = &item.decl(db).kind else {
        return None;
    };
    let file = item.file(db);
    Some(Arc::new(check::check_function_parts(
        body_skeleton(db, file),
        file.imports(db),
        shared_env(db, file),
        body_env(db, item),
        index as usize,
        &f.sig,
        body,
    )))
}

/// Diagnostics of the whole-program rules, in virtual coordinates.
#[salsa::tracked(returns(ref))]
pub fn whole_program(db: &dyn Database, file: SourceFile) -> Vec<Diagnostic> {
    let fns: Vec<Arc<FnChecked>> = items(db, file)
        .iter()
        .filter(|i| i.fn_index(db).is_some())
        .filter_map(|i| check_fn(db, *i).clone())
        .collect();
    let refs: Vec<&FnChecked> = fns.iter().map(|f| &**f).collect();
    check::check_whole(skeleton(db, file), file.imports(db), decls(db, file), &refs)
}

/// Every diagnostic of the file in text coordinates, sorted: the same list
/// as [`kpl_lang::analyze`] gives. (The query is
/// [`queries::diagnostics`], after [`prepare`].)
pub fn diagnostics(db: &dyn Database, file: SourceFile) -> &Vec<Diagnostic> {
    prepare(db, file);
    queries::diagnostics(db, file)
}

/// Runs the file-wide queries (those that read every item) before the
/// per-item ones. salsa keeps one dependency set per depth of its query
/// stack, reuses it for every query run at that depth and clears it at its
/// capacity: a file-wide query run at the depth where the per-item queries
/// then run (e.g. `parse` inside `diagnostics`, before `check_fn` of every
/// item) would make each of them cost the size of the file, and a cold check
/// quadratic. Called from outside any query, these run at the top.
pub fn prepare(db: &dyn Database, file: SourceFile) {
    parse(db, file);
    items(db, file);
    skeleton(db, file);
    decls(db, file);
    shared_env(db, file);
    body_skeleton(db, file);
}

mod queries {
    use super::*;

    /// [`super::diagnostics`] as a query.
    #[salsa::tracked(returns(ref))]
    pub fn diagnostics(db: &dyn Database, file: SourceFile) -> Vec<Diagnostic> {
        let parsed = parse(db, file);
        let decls = decls(db, file);
        let checked: Vec<Arc<FnChecked>> = items(db, file)
            .iter()
            .filter(|i| i.fn_index(db).is_some())
            .filter_map(|i| check_fn(db, *i).clone())
            .collect();
        let whole = whole_program(db, file);
        // By reference until kept: on a file dense with syntax errors,
        // nearly every semantic diagnostic falls on a broken line, and
        // copying each only to drop it was most of such a check.
        let mut semantic: Vec<&Diagnostic> = decls
            .diagnostics
            .iter()
            .chain(checked.iter().flat_map(|c| c.diagnostics.iter()))
            .chain(whole.iter())
            .collect();
        // The order `combine_fns` sorted them in before (virtual
        // coordinates), which its stable sort keeps among equal positions.
        semantic.sort_by_key(|d| diag::order(d));
        let mut syntax = parsed.diagnostics();
        // What `kpl_lang::combine_fns` keeps, asked before the copy.
        let broken = (!syntax.is_empty()).then(|| {
            let fns: Vec<Span> = parsed
                .placements
                .iter()
                .filter(|p| p.is_fn)
                .map(|p| p.span)
                .collect();
            kpl_lang::BrokenParts::new(file.text(db), &fns, &syntax)
        });
        syntax.extend(semantic.into_iter().filter_map(|d| {
            let kept = broken
                .as_ref()
                .is_none_or(|b| b.keeps_diagnostic(file.text(db), d, |s| parsed.to_text(s)));
            kept.then(|| parsed.to_text_diag(d.clone()))
        }));
        diag::sort(&mut syntax);
        kpl_lang::place_missing_uses(file.text(db), &mut syntax);
        syntax
    }
}

/// The checked program in text coordinates, for code generation.
#[salsa::tracked(returns(ref))]
pub fn program(db: &dyn Database, file: SourceFile) -> Arc<check::Program> {
    Arc::new(check::check(text_ast(db, file), file.imports(db)).program)
}

/// Offsets and initial bytes of the statics.
#[salsa::tracked(returns(ref))]
pub fn statics_layout(db: &dyn Database, file: SourceFile) -> (Vec<u32>, Vec<u8>, u32) {
    kpl_codegen::lower::static_layout(&shared_env(db, file).program)
}

/// One function lowered to the IR and optimised on its own, from its checked
/// body (virtual positions, trap sites and rodata numbered from 0). Only
/// meaningful when the file has no errors.
#[salsa::tracked(returns(ref))]
pub fn codegen_fn<'db>(db: &'db dyn Database, item: Item<'db>) -> Option<Arc<LoweredFn>> {
    lowered_fn(db, item, kpl_codegen::lower::Options::default()).map(Arc::new)
}

/// [`codegen_fn`] with `options`, not cached.
fn lowered_fn(
    db: &dyn Database,
    item: Item<'_>,
    options: kpl_codegen::lower::Options,
) -> Option<LoweredFn> {
    let checked = check_fn(db, item).as_ref()?;
    let index = item.fn_index(db)? as usize;
    let ItemKind::Fn(f) = &item.decl(db).kind else {
        return None;
    };
    let mut f = f.clone();
    f.body = (**item.body(db).as_ref()?).clone();
    let file = item.file(db);
    // The shared declarations as they are, the body's side tables beside
    // them, and the definitions the lowering reads (this function's and its
    // callees', which `body_env` holds) standing in for the shared ones.
    // (A copy of the declarations for each function, patched, made `kplc
    // build` quadratic in the number of functions times the number of
    // functions, constants, statics and structs.)
    let shared = &shared_env(db, file).program;
    if index >= shared.functions.len() {
        return None;
    }
    let tables = check::Program {
        expr_types: checked.expr_types.clone(),
        resolutions: checked.resolutions.clone(),
        bindings: checked.bindings.clone(),
        const_values: checked.const_values.clone(),
        ..check::Program::default()
    };
    // Sorted by index (`body_env` is), with this function's checked
    // definition in place of its signature.
    let own = checked.def.clone()?;
    let mut defs: Vec<(usize, FnDef)> = body_env(db, item)
        .iter()
        .filter(|(i, _)| *i != index && *i < shared.functions.len())
        .cloned()
        .collect();
    let at = defs.partition_point(|(i, _)| *i < index);
    defs.insert(at, (index, own));
    let (offsets, _, _) = statics_layout(db, file);
    Some(kpl_codegen::pipeline::compile_function_with(
        shared, &tables, &defs, &f, index, offsets, options,
    ))
}

/// The compiled plugin, assembled from [`codegen_fn`] of every function:
/// `None` when the file has errors. Byte for byte what
/// [`kpl_codegen::pipeline::compile`] gives for the whole program.
#[salsa::tracked(returns(ref), no_eq)]
pub fn compiled(db: &dyn Database, file: SourceFile) -> Option<Arc<Compiled>> {
    if diagnostics(db, file).iter().any(Diagnostic::is_error) {
        return None;
    }
    let parsed = parse(db, file);
    let mut parts = Vec::new();
    for item in items(db, file) {
        if item.fn_index(db).is_some() {
            parts.push(codegen_fn(db, *item).as_ref()?);
        }
    }
    let parts: Vec<&LoweredFn> = parts.iter().map(|p| &***p).collect();
    let (offsets, data_init, data_size) = statics_layout(db, file);
    let mut module = kpl_codegen::lower::assemble(&parts, data_init.clone(), *data_size, &|p| {
        parsed.to_text(Span { start: p, end: p }).start
    });
    let decls = decls(db, file);
    module.statics = kpl_codegen::lower::static_table(&decls.program, offsets);
    let signatures = decls
        .program
        .functions
        .iter()
        .map(|f| (f.params.clone(), f.ret.clone()))
        .collect();
    // The local form of every function, for one the verifier refuses
    // (`kpl_codegen::pipeline`, "The local form"): rare, so not cached.
    let local = || {
        let options = kpl_codegen::pipeline::local_options(Default::default());
        let mut parts = Vec::new();
        for item in items(db, file) {
            if item.fn_index(db).is_some() {
                parts.push(lowered_fn(db, *item, options)?);
            }
        }
        let parts: Vec<&LoweredFn> = parts.iter().collect();
        Some(kpl_codegen::lower::assemble(
            &parts,
            data_init.clone(),
            *data_size,
            &|p| parsed.to_text(Span { start: p, end: p }).start,
        ))
    };
    Some(Arc::new(kpl_codegen::pipeline::compile_assembled(
        module,
        decls.program.imports.clone(),
        signatures,
        &local,
    )))
}

/// The front end's result for `kplc build`: the tree and program in text
/// coordinates and the diagnostics of [`diagnostics`].
pub fn analysis(db: &dyn Database, file: SourceFile) -> kpl_lang::Analysis {
    kpl_lang::Analysis {
        file: (**text_ast(db, file)).clone(),
        program: (**program(db, file)).clone(),
        diagnostics: diagnostics(db, file).clone(),
    }
}

/// The database: salsa storage plus an optional log of executed queries.
#[salsa::db]
#[derive(Clone)]
pub struct Db {
    storage: salsa::Storage<Self>,
}

#[salsa::db]
impl salsa::Database for Db {}

impl Default for Db {
    fn default() -> Self {
        Db {
            storage: salsa::Storage::new(None),
        }
    }
}

/// The queries salsa executed, in order, as recorded by the event hook.
pub type ExecLog = Arc<Mutex<Vec<salsa::DatabaseKeyIndex>>>;

impl Db {
    /// A database that records every query execution (`WillExecute` events).
    pub fn with_log() -> (Db, ExecLog) {
        let log: ExecLog = Arc::default();
        let sink = log.clone();
        let db = Db {
            storage: salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
                if let salsa::EventKind::WillExecute { database_key } = event.kind
                    && let Ok(mut l) = sink.lock()
                {
                    l.push(database_key);
                }
            }))),
        };
        (db, log)
    }

    pub fn file(&self, text: String, imports: Arc<ImportTable>) -> SourceFile {
        SourceFile::new(self, text, imports)
    }

    pub fn set_text(&mut self, file: SourceFile, text: String) {
        file.set_text(self).to(text);
    }

    /// `query(key)` names for logged executions: items by their key, the
    /// file as `file`.
    pub fn describe(&self, file: SourceFile, keys: &[salsa::DatabaseKeyIndex]) -> Vec<String> {
        use salsa::plumbing::AsId;
        let items = items(self, file);
        // Chunks (parsed and placed) by their first item line's first two
        // words, e.g. `fn add`.
        let text = file.text(self);
        let parsed = parse(self, file);
        let chunks: Vec<(salsa::Id, salsa::Id, String)> = parsed
            .chunks
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let end = parsed
                    .chunks
                    .get(n + 1)
                    .map_or(text.len(), |c| c.start as usize);
                let t = &text[c.start as usize..end];
                let head = t
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("//"))
                    .unwrap_or("")
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ' '))
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                let head = if head.is_empty() {
                    "comments".to_string()
                } else {
                    head
                };
                let chunk = Chunk::new(self, t);
                let offset = if parsed.stride == 0 { c.start } else { 0 };
                let placed = PlacedChunk::new(self, chunk, c.first_item, parsed.stride, offset);
                (chunk.as_id(), placed.as_id(), head)
            })
            .collect();
        keys.iter()
            .map(|k| {
                let name = self.ingredient_debug_name(k.ingredient_index());
                let id = k.key_index();
                let arg = if id == file.as_id() {
                    "file".to_string()
                } else if let Some(i) = items.iter().find(|i| i.as_id() == id) {
                    i.key(self).to_string()
                } else if let Some(c) = chunks.iter().find(|(c, p, _)| *c == id || *p == id) {
                    c.2.clone()
                } else {
                    format!("{id:?}")
                };
                format!("{name}({arg})")
            })
            .collect()
    }
}
