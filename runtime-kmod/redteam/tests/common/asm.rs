//! Hand-made objects: functions written with iced-x86's `code_asm`, then the
//! trap stubs and the unwind stub exactly as the verifier expects them, put
//! into a `.kpo` with `kplc::kpo::write`.

use iced_x86::code_asm::*;
use iced_x86::{BlockEncoderOptions, Code, Instruction, MemoryOperand, Register};
use kpl_runtime_core::{ScalarType, ValType};
use kplc::kpo::{ExportEntry, FunctionEntry, ImportEntry, ObjectParts, TrapKind, TrapSite};

/// Where RODATA and the import slots land (known on the second assembly).
#[derive(Clone, Copy, Debug)]
pub struct Lay {
    pub rodata: u64,
    pub slots: u64,
}

struct Func {
    name: String,
    label: CodeLabel,
    bound: u32,
    export: Option<(Vec<ValType>, Option<ScalarType>)>,
}

/// An object under construction.
pub struct Obj {
    pub a: CodeAssembler,
    /// Label of trap stub `k`.
    pub stub: Vec<CodeLabel>,
    pub unwind: CodeLabel,
    pub lay: Lay,
    sites: Vec<TrapKind>,
    funcs: Vec<Func>,
    pub rodata: Vec<u8>,
    pub data_size: u32,
    pub imports: usize,
}

impl Obj {
    /// A function label, to call it before it is defined; `define` it later.
    pub fn declare(&mut self, name: &str, bound: u32, export: Option<Vec<ValType>>) -> CodeLabel {
        let label = self.a.create_label();
        self.funcs.push(Func {
            name: name.into(),
            label,
            bound,
            export: export.map(|p| (p, Some(ScalarType::U64))),
        });
        label
    }

    /// Starts the function `name` here (functions must be defined in the
    /// order they were declared) with its `endbr64`.
    pub fn define(&mut self, name: &str) {
        let f = self
            .funcs
            .iter_mut()
            .find(|f| f.name == name)
            .expect("declared");
        self.a.set_label(&mut f.label).expect("label");
        self.a.endbr64().expect("endbr64");
    }

    /// `lea reg, [rip + X]` with X the address of rodata byte `off`.
    pub fn lea_rodata(&mut self, reg: AsmRegister64, off: u64) {
        let r: Register = reg.into();
        let i = Instruction::with2(
            Code::Lea_r64_m,
            r,
            MemoryOperand::with_base_displ(Register::RIP, (self.lay.rodata + off) as i64),
        )
        .expect("lea");
        self.a.add_instruction(i).expect("lea");
    }

    /// `call qword [rip + slot k]`.
    pub fn call_import(&mut self, k: u64) {
        let i = Instruction::with1(
            Code::Call_rm64,
            MemoryOperand::with_base_displ(Register::RIP, (self.lay.slots + 8 * k) as i64),
        )
        .expect("call");
        self.a.add_instruction(i).expect("call");
    }
}

/// What an assembling closure returns (`?` on each instruction).
pub type R = Result<(), IcedError>;

/// One export `f(params)` with the given stack bound, trap sites and body
/// (the statics are [`Obj`]'s default 64 bytes).
pub fn single(
    sites: &[TrapKind],
    params: &[ValType],
    bound: u32,
    body: impl Fn(&mut Obj) -> R,
) -> ObjectParts {
    object(sites, |o| {
        o.declare("f", bound, Some(params.to_vec()));
        o.define("f");
        body(o).expect("assemble");
    })
}

/// Builds an object: `body` adds the functions to an [`Obj`] and is run
/// twice (the second time with the real RODATA and slot offsets).
/// `sites` are the trap sites (each one's code offset is set to 4).
pub fn object(sites: &[TrapKind], body: impl Fn(&mut Obj)) -> ObjectParts {
    let mut parts = assemble(
        sites,
        Lay {
            rodata: 0x10_0000,
            slots: 0x10_0000,
        },
        &body,
    );
    for _ in 0..8 {
        let l = parts.layout();
        let lay = Lay {
            rodata: u64::from(l.rodata_offset),
            slots: u64::from(l.slots_offset),
        };
        let next = assemble(sites, lay, &body);
        if next.code.len() == parts.code.len() && next.layout() == l {
            return next;
        }
        parts = next;
    }
    panic!("the layout does not settle");
}

fn assemble(sites: &[TrapKind], lay: Lay, body: &impl Fn(&mut Obj)) -> ObjectParts {
    let mut a = CodeAssembler::new(64).expect("asm");
    let stub = (0..sites.len()).map(|_| a.create_label()).collect();
    let unwind = a.create_label();
    let mut o = Obj {
        a,
        stub,
        unwind,
        lay,
        sites: sites.to_vec(),
        funcs: Vec::new(),
        rodata: (0..32).collect(),
        data_size: 64,
        imports: 0,
    };
    body(&mut o);
    // The trap stubs, byte-exact, then the unwind stub.
    let n = o.sites.len();
    for k in 0..n {
        let mut bytes = vec![0x49, 0xc7, 0x47, 0x08];
        bytes.extend((k as u32).to_le_bytes());
        bytes.push(0xe9);
        bytes.extend(((13 * (n - k - 1)) as u32).to_le_bytes());
        let mut l = o.stub[k];
        o.a.set_label(&mut l).expect("label");
        o.a.db(&bytes).expect("db");
        o.stub[k] = l;
    }
    let mut u = o.unwind;
    o.a.set_label(&mut u).expect("label");
    o.a.db(&[0x49, 0x8b, 0x27, 0xc3]).expect("db");
    o.unwind = u;
    let res =
        o.a.assemble_options(0, BlockEncoderOptions::RETURN_NEW_INSTRUCTION_OFFSETS)
            .expect("assemble");
    let code = res.inner.code_buffer.clone();
    let first_stub = if n > 0 { o.stub[0] } else { o.unwind };
    let stubs_start = res.label_ip(&first_stub).expect("label") as u32;
    let starts: Vec<u32> = o
        .funcs
        .iter()
        .map(|f| res.label_ip(&f.label).expect("defined") as u32)
        .collect();
    let mut functions = Vec::new();
    let mut exports = Vec::new();
    for (i, f) in o.funcs.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(stubs_start);
        functions.push(FunctionEntry {
            name: f.name.clone(),
            code_offset: starts[i],
            code_len: end - starts[i],
            stack_bound: f.bound,
        });
        if let Some((params, ret)) = &f.export {
            exports.push(ExportEntry {
                name: f.name.clone(),
                code_offset: starts[i],
                params: params.clone(),
                ret: *ret,
            });
        }
    }
    exports.sort_by(|a, b| a.name.cmp(&b.name));
    ObjectParts {
        code,
        rodata: o.rodata.clone(),
        data_init: vec![],
        data_size: o.data_size,
        imports: (0..o.imports)
            .map(|i| ImportEntry {
                module: "kernel".into(),
                name: format!("imp{i}"),
                sig_hash: 1,
            })
            .collect(),
        exports,
        functions,
        trap_sites: o
            .sites
            .iter()
            .map(|&kind| TrapSite {
                kind,
                code_offset: 4,
            })
            .collect(),
        source_file: "redteam".into(),
        source_map: vec![],
        statics: vec![],
    }
}
