//! The examples' `cases.txt` format (`examples/README.md`): one case per
//! line as `key=value` fields, `#` comments and blank lines skipped, byte
//! strings in hex (`-` for none). Shared by the host-runtime test
//! (`tests/examples.rs`) and the kernel test (`kplc kernel cases`), so both
//! read the cases and word the outcomes identically.

use super::run::{CallError, Value};

/// The case lines of a `cases.txt` text, trimmed.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The value of field `key` in a case line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
}

/// Hex bytes (`-` is none); `None` when the text is not whole hex bytes.
pub fn hex(s: &str) -> Option<Vec<u8>> {
    if s == "-" {
        return Some(Vec::new());
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// An invocation's outcome as `cases.txt` writes `expect_ret`: the value
/// (`bool` as 0/1), `-` for none, `trapN` with the trap code.
pub fn outcome(result: &Result<Option<Value>, CallError>) -> String {
    match result {
        Ok(Some(Value::Int(v))) => v.to_string(),
        Ok(Some(Value::Bool(b))) => u8::from(*b).to_string(),
        Ok(_) => "-".to_string(),
        Err(CallError::Trap(t)) => format!("trap{}", t.kind as u8),
        Err(e) => format!("error: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_hex_and_lines() {
        let text = "# comment\n\n  entry=f args=1,2 in=0aff expect_ret=3  \n";
        let all: Vec<&str> = lines(text).collect();
        assert_eq!(all, ["entry=f args=1,2 in=0aff expect_ret=3"]);
        assert_eq!(field(all[0], "args"), Some("1,2"));
        assert_eq!(field(all[0], "arg"), None);
        assert_eq!(field(all[0], "out"), None);
        assert_eq!(hex("0aff"), Some(vec![0x0a, 0xff]));
        assert_eq!(hex("-"), Some(vec![]));
        assert_eq!(hex("0af"), None);
        assert_eq!(hex("zz"), None);
    }
}
