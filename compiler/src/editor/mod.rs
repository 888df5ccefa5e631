//! Editor support: [`ide`] answers editor questions (hover, definition,
//! symbols, completion) as plain data from the database; [`lsp`] speaks the
//! Language Server Protocol over stdio and is the only module that knows the
//! protocol's types; [`text`] keeps an open document's text between checks,
//! ranged edits included; [`transport`] frames its messages and refuses what
//! a hostile client could send.

pub mod ide;
pub mod lsp;
pub mod text;
pub mod transport;
