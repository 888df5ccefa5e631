//! Disassembly listings (`--emit asm`, `kplc disasm`, the asm snapshots):
//! Intel syntax with symbolic names for functions, blocks, trap stubs,
//! imports and read-only data, from iced-x86's decoder.

use std::collections::HashMap;
use std::fmt::Write;

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, MemorySizeOptions, OpKind,
    SymbolResolver, SymbolResult,
};

struct Names(HashMap<u64, String>);

impl SymbolResolver for Names {
    fn symbol(
        &mut self,
        instruction: &Instruction,
        operand: u32,
        _instruction_operand: Option<u32>,
        address: u64,
        _address_size: u32,
    ) -> Option<SymbolResult<'_>> {
        // Only branch targets and RIP-relative operands are code/data
        // addresses; a displacement or immediate that happens to equal one
        // is just a number.
        let is_address = match instruction.op_kind(operand) {
            OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64 => true,
            OpKind::Memory => instruction.is_ip_rel_memory_operand(),
            _ => false,
        };
        if !is_address {
            return None;
        }
        self.0
            .get(&address)
            .map(|n| SymbolResult::with_str(address, n.as_str()))
    }
}

/// The listing of an object file's code: functions by name, imports by
/// slot, from the object's own tables.
pub fn disassemble_object(obj: &kpl_runtime_core::Object<'_>) -> String {
    let layout = obj.layout();
    let mut names: HashMap<u64, String> = HashMap::new();
    for (i, imp) in obj.imports().enumerate() {
        names.insert(
            u64::from(layout.slot_offset(i as u32).unwrap_or(0)),
            format!("import.{}::{}", imp.module, imp.name),
        );
    }
    names.insert(u64::from(layout.rodata_offset), "rodata".to_string());
    let mut labels: Vec<(u32, String)> = obj
        .functions()
        .map(|f| (f.code_offset, f.name.to_string()))
        .collect();
    // Trap stubs follow the last function.
    if let Some(end) = obj.functions().map(|f| f.code_offset + f.code_len).max() {
        labels.push((end, "trap_stubs".to_string()));
    }
    labels.sort();
    listing(obj.code(), &labels, names)
}

/// The listing of `code`, with `labels` starting lines and `names` for
/// addresses.
pub fn listing(code: &[u8], labels: &[(u32, String)], mut names: HashMap<u64, String>) -> String {
    for (off, name) in labels {
        names.entry(u64::from(*off)).or_insert_with(|| name.clone());
    }
    let starts: HashMap<u64, String> = labels
        .iter()
        .map(|(o, n)| (u64::from(*o), n.clone()))
        .collect();
    let mut fmt = IntelFormatter::with_options(Some(Box::new(Names(names))), None);
    let o = fmt.options_mut();
    o.set_hex_prefix("0x");
    o.set_hex_suffix("");
    o.set_uppercase_hex(false);
    o.set_first_operand_char_index(8);
    o.set_branch_leading_zeros(false);
    o.set_rip_relative_addresses(false);
    o.set_memory_size_options(MemorySizeOptions::Always);
    o.set_space_after_operand_separator(true);
    let mut out = String::new();
    let mut decoder = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut inst = Instruction::default();
    let mut text = String::new();
    while decoder.can_decode() {
        let ip = decoder.ip();
        if let Some(name) = starts.get(&ip) {
            let _ = writeln!(out, "{name}:");
        }
        decoder.decode_out(&mut inst);
        text.clear();
        fmt.format(&inst, &mut text);
        let bytes = &code[ip as usize..ip as usize + inst.len()];
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "{ip:04x}:  {hex:<22}{text}");
    }
    out
}
