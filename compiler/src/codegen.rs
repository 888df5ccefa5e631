//! The back-end driver: checked program → IR → optimised IR → machine code,
//! plus the disassembly listing (`--emit asm`, snapshots) with symbolic names
//! for functions, blocks, trap stubs, imports and read-only data.

use std::collections::HashMap;
use std::fmt::Write;

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, MemorySizeOptions, OpKind,
    SymbolResolver, SymbolResult,
};
use kpl_lang::ast::File;
use kpl_lang::check::Program;
use kpl_lang::imports::ImportFn;

use crate::emit::{self, Code, ImageLayout};
use crate::ir::TrapKind;
use crate::lower::{self, Module};

/// A compiled plugin, laid out and patched, ready for the object writer or
/// the host runtime.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub code: Code,
    pub rodata: Vec<u8>,
    pub data_init: Vec<u8>,
    pub data_size: u32,
    pub layout: ImageLayout,
    pub imports: Vec<ImportFn>,
    /// Per trap site: kind, code offset of the check, source byte offset.
    pub sites: Vec<(TrapKind, u32, u32)>,
    /// Parameter and return types of each function, for export signatures.
    pub signatures: Vec<(Vec<kpl_lang::types::Ty>, Option<kpl_lang::types::Ty>)>,
}

impl Compiled {
    /// The loadable image bytes: code, rodata and (zeroed) import slots.
    pub fn image(&self) -> Vec<u8> {
        let mut img = self.code.bytes.clone();
        img.resize(self.layout.rodata_offset as usize, 0xcc);
        img.extend_from_slice(&self.rodata);
        img.resize(self.layout.image_len as usize, 0);
        img
    }

    /// The deepest stack any export can reach, in bytes, from the real frame
    /// sizes along the (acyclic) call graph, with the chain that reaches it.
    pub fn max_stack(&self) -> (u64, Vec<String>) {
        fn depth(c: &Compiled, f: usize, memo: &mut Vec<Option<(u64, Option<usize>)>>) -> u64 {
            if let Some((d, _)) = memo[f] {
                return d;
            }
            memo[f] = Some((u64::from(c.code.funcs[f].frame_bytes), None));
            let mut best = (0, None);
            for &callee in &c.code.funcs[f].callees {
                let d = depth(c, callee as usize, memo);
                if d > best.0 {
                    best = (d, Some(callee as usize));
                }
            }
            let total = u64::from(c.code.funcs[f].frame_bytes) + best.0;
            memo[f] = Some((total, best.1));
            total
        }
        let mut memo = vec![None; self.code.funcs.len()];
        let mut worst: (u64, Option<usize>) = (0, None);
        for (i, f) in self.code.funcs.iter().enumerate() {
            let d = depth(self, i, &mut memo);
            if f.exported && d > worst.0 {
                worst = (d, Some(i));
            }
        }
        let mut chain = Vec::new();
        let mut cur = worst.1;
        while let Some(f) = cur {
            chain.push(format!(
                "{} ({} bytes)",
                self.code.funcs[f].name, self.code.funcs[f].frame_bytes
            ));
            cur = memo[f].and_then(|(_, next)| next);
        }
        (worst.0, chain)
    }

    pub fn export(&self, name: &str) -> Option<&emit::FuncInfo> {
        self.code
            .funcs
            .iter()
            .find(|f| f.exported && f.name == name)
    }
}

/// Compiles an error-free program.
pub fn compile(file: &File, program: &Program) -> Compiled {
    compile_with(file, program, lower::Options::default())
}

pub fn compile_with(file: &File, program: &Program, options: lower::Options) -> Compiled {
    let module: Module = lower::lower_with(file, program, options);
    let code = emit::emit_with(&module, options.budget);
    let signatures = program
        .functions
        .iter()
        .map(|f| (f.params.clone(), f.ret.clone()))
        .collect();
    finish(module, code, program.imports.clone(), signatures)
}

/// Compiles a module assembled from separately lowered and optimised
/// functions ([`lower::assemble`], the database's per-function path).
pub fn compile_assembled(
    module: Module,
    imports: Vec<ImportFn>,
    signatures: Vec<(Vec<kpl_lang::types::Ty>, Option<kpl_lang::types::Ty>)>,
) -> Compiled {
    let code = emit::emit_optimized(&module, lower::BudgetCheck::Fuel);
    finish(module, code, imports, signatures)
}

fn finish(
    module: Module,
    mut code: emit::Code,
    imports: Vec<ImportFn>,
    signatures: Vec<(Vec<kpl_lang::types::Ty>, Option<kpl_lang::types::Ty>)>,
) -> Compiled {
    let layout = emit::image_layout(
        code.bytes.len() as u32,
        module.rodata.len() as u32,
        imports.len() as u32,
    );
    code.patch(&layout);
    let sites = module
        .sites
        .iter()
        .zip(&code.site_offsets)
        .map(|(&(kind, src), &off)| (kind, off, src))
        .collect();
    Compiled {
        code,
        rodata: module.rodata,
        data_init: module.data_init,
        data_size: module.data_size,
        layout,
        imports,
        sites,
        signatures,
    }
}

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

/// An Intel-syntax listing of the code with symbolic names.
pub fn disassemble(c: &Compiled) -> String {
    let mut names: HashMap<u64, String> = HashMap::new();
    for (i, imp) in c.imports.iter().enumerate() {
        names.insert(
            u64::from(c.layout.slots_offset + 8 * i as u32),
            format!("import.{}::{}", imp.module, imp.name),
        );
    }
    names.insert(u64::from(c.layout.rodata_offset), "rodata".to_string());
    listing(&c.code.bytes, &c.code.labels, names)
}

/// The listing of an object file's code: functions by name, imports by
/// slot, from the object's own tables.
pub fn disassemble_object(obj: &kpl_runtime_core::Object<'_>) -> String {
    let layout = obj.layout();
    let mut names: HashMap<u64, String> = HashMap::new();
    for (i, imp) in obj.imports().enumerate() {
        names.insert(
            u64::from(layout.slots_offset + 8 * i as u32),
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

fn listing(code: &[u8], labels: &[(u32, String)], mut names: HashMap<u64, String>) -> String {
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
