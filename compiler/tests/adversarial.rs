//! Hand-made objects that break one sandbox rule each: the verifier must
//! reject every one with that rule (and accept the well-formed baseline).
//! Objects are assembled byte by byte, not by kplc, so nothing here relies
//! on the compiler behaving. Container and link rules (overlapping or
//! truncated sections, a wrong signature hash) are in
//! `runtime-kmod/core/tests/parse.rs`.

use kpl_runtime_core::verify::Rule;
use kpl_runtime_core::{Object, ScalarType, ValType};
use kplc::kpo::{ExportEntry, FunctionEntry, ImportEntry, ObjectParts, TrapKind, TrapSite};

const ENDBR: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];

/// One exported function `f` with the given body (after `endbr64`), the
/// given frame (`sub rsp, F` added when F > 0, and the matching stack bound),
/// one trap stub per site kind, and the unwind stub.
fn object(body: &[u8], frame: u32, sites: &[TrapKind], imports: usize) -> Vec<u8> {
    kplc::kpo::write(&object_parts(body, frame, sites, imports))
}

/// The parts of [`object`], for tests that break the container's claims.
fn object_parts(body: &[u8], frame: u32, sites: &[TrapKind], imports: usize) -> ObjectParts {
    let mut code = ENDBR.to_vec();
    if frame > 0 {
        code.extend([0x48, 0x81, 0xec]);
        code.extend(frame.to_le_bytes());
    }
    code.extend_from_slice(body);
    let func_len = code.len() as u32;
    let stubs = code.len() as u32;
    let unwind = stubs + 13 * sites.len() as u32;
    for k in 0..sites.len() as u32 {
        code.extend([0x49, 0xc7, 0x47, 0x08]);
        code.extend(k.to_le_bytes());
        let end = stubs + 13 * k + 13;
        code.push(0xe9);
        code.extend((unwind.wrapping_sub(end) as i32).to_le_bytes());
    }
    code.extend([0x49, 0x8b, 0x27, 0xc3]);
    ObjectParts {
        code,
        rodata: vec![1, 2, 3, 4, 5, 6, 7, 8],
        data_init: vec![0; 16],
        data_size: 16,
        imports: (0..imports)
            .map(|i| ImportEntry {
                module: "kernel".into(),
                name: format!("imp{i}"),
                sig_hash: 1,
            })
            .collect(),
        // Six u64 parameters: the bodies read the argument registers as
        // inputs, which an export may do only for its parameters.
        exports: vec![ExportEntry {
            name: "f".into(),
            code_offset: 0,
            params: vec![ValType::Scalar(ScalarType::U64); 6],
            ret: None,
        }],
        functions: vec![FunctionEntry {
            name: "f".into(),
            code_offset: 0,
            code_len: func_len,
            stack_bound: frame + 8,
        }],
        trap_sites: sites
            .iter()
            .map(|&kind| TrapSite {
                kind,
                code_offset: 4,
            })
            .collect(),
        source_file: "adversarial".into(),
        source_map: vec![],
        statics: vec![],
    }
}

fn check(bytes: &[u8]) -> Result<(), Rule> {
    let obj = Object::parse(bytes).expect("well-formed container");
    match kpl_host::verify_object(&obj) {
        Ok(_) => Ok(()),
        Err(kpl_host::LoadError::Verify(e)) => Err(e.rule),
        Err(other) => panic!("not a verifier outcome: {other}"),
    }
}

/// `add rsp, frame; ret` (the epilogue for a frame of 16).
const EPI16: [u8; 8] = [0x48, 0x81, 0xc4, 0x10, 0, 0, 0, 0xc3];

#[test]
fn baseline_is_accepted() {
    // mov eax, 1 ; a store into the frame ; a budgeted back-edge-free body.
    let mut body = vec![0xb8, 1, 0, 0, 0, 0x48, 0x89, 0x04, 0x24];
    body.extend(EPI16);
    assert_eq!(check(&object(&body, 16, &[], 0)), Ok(()));
}

fn rejects(name: &str, body: &[u8], frame: u32, sites: &[TrapKind], imports: usize, rule: Rule) {
    rejects_object(name, &object(body, frame, sites, imports), rule);
}

fn rejects_object(name: &str, bytes: &[u8], rule: Rule) {
    // The kernel test loads the same corpus into kpl.ko (scripts/kernel-test.sh).
    if let Some(dir) = std::env::var_os("KPL_ADVERSARIAL_DIR") {
        let file: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{file}.{rule}.kpo")),
            bytes,
        )
        .expect("write the corpus");
    }
    assert_eq!(check(bytes), Err(rule), "{name}");
}

#[test]
fn privileged_and_unlisted_instructions() {
    for (name, insn) in [
        ("cli", &[0xfa][..]),
        ("hlt", &[0xf4]),
        ("syscall", &[0x0f, 0x05]),
        ("wrmsr", &[0x0f, 0x30]),
        ("mov cr3, rax", &[0x0f, 0x22, 0xd8]),
        ("int3", &[0xcc]),
        ("jmp rax", &[0xff, 0xe0]),
        ("call rax", &[0xff, 0xd0]),
        ("rep movsb", &[0xf3, 0xa4]),
        ("fs segment load", &[0x64, 0x48, 0x8b, 0x00]),
        ("int 0x80", &[0xcd, 0x80]),
        ("in al, dx", &[0xec]),
        ("out dx, al", &[0xee]),
        ("sysenter", &[0x0f, 0x34]),
        ("mov ss, ax", &[0x8e, 0xd0]),
        ("lgdt [rax]", &[0x0f, 0x01, 0x10]),
        ("rdtsc", &[0x0f, 0x31]),
        ("iretq", &[0x48, 0xcf]),
        ("pushfq", &[0x9c]),
        ("sse: movaps xmm0, [rax]", &[0x0f, 0x28, 0x00]),
    ] {
        let mut body = insn.to_vec();
        body.push(0xc3);
        rejects(name, &body, 0, &[], 0, Rule::Decode);
    }
}

#[test]
fn reserved_registers() {
    rejects(
        "mov r15, rax",
        &[0x49, 0x89, 0xc7, 0xc3],
        0,
        &[],
        0,
        Rule::Register,
    );
    rejects(
        "xor r14d, r14d",
        &[0x45, 0x31, 0xf6, 0xc3],
        0,
        &[],
        0,
        Rule::Register,
    );
    rejects(
        "mov r13, 0",
        &[0x49, 0xc7, 0xc5, 0, 0, 0, 0, 0xc3],
        0,
        &[],
        0,
        Rule::Register,
    );
}

#[test]
fn stack_pointer() {
    // sub rsp, 8 in the body, then ret: the stack moved by an undeclared amount.
    rejects(
        "sub rsp in body",
        &[0xb8, 0, 0, 0, 0, 0x48, 0x83, 0xec, 0x08, 0xc3],
        0,
        &[],
        0,
        Rule::Stack,
    );
    // ret without undoing the frame.
    rejects("ret with frame", &[0xc3], 16, &[], 0, Rule::Stack);
}

#[test]
fn memory() {
    let mut b = vec![0x48, 0x89, 0x08]; // mov [rax], rcx: rax points anywhere
    b.extend(EPI16);
    rejects(
        "store through unknown register",
        &b,
        16,
        &[],
        0,
        Rule::Memory,
    );
    let mut b = vec![0x48, 0x89, 0x44, 0x24, 0x10]; // mov [rsp+16], rax: above a 16-byte frame
    b.extend(EPI16);
    rejects("store outside the frame", &b, 16, &[], 0, Rule::Memory);
    let mut b = vec![0x49, 0x89, 0x46, 0x10]; // mov [r14+16], rax: past 16 bytes of statics
    b.extend(EPI16);
    rejects("store past the statics", &b, 16, &[], 0, Rule::Memory);
    let mut b = vec![0x49, 0x89, 0x47, 0x20]; // mov [r15+0x20], rax: forge a slice pointer
    b.extend(EPI16);
    rejects("write to the context block", &b, 16, &[], 0, Rule::Memory);
    // A slice write checked only against the read-length table.
    let mut b = vec![
        0x48, 0x89, 0xfa, // mov rdx, rdi
        0x83, 0xe2, 0x07, // and edx, 7
        0x49, 0x3b, 0xb4, 0xd7, 0x00, 0x01, 0x00, 0x00, // cmp rsi, [r15+rdx*8+0x100]
        0x0f, 0x83, 0, 0, 0, 0, // jae stub 0 (patched below)
        0x49, 0x8b, 0x54, 0xd7, 0x20, // mov rdx, [r15+rdx*8+0x20]
        0x88, 0x04, 0x32, // mov [rdx+rsi], al
    ];
    b.extend(EPI16);
    let jae_end = 4 + 7 + 20; // endbr + sub rsp + the bytes up to the end of jae
    let stub = 4 + 7 + b.len();
    let rel = (stub - jae_end) as i32;
    b[16..20].copy_from_slice(&rel.to_le_bytes());
    rejects(
        "slice write against the read table",
        &b,
        16,
        &[TrapKind::Bounds],
        0,
        Rule::Memory,
    );
}

/// A bounds-checked one-byte read of slice `rdi & 7` at index `rsi`, with
/// the slice pointer fetched by `load` (into rdx) and the frame of 16.
fn slice_read(load: [u8; 5]) -> Vec<u8> {
    let mut b = vec![
        0x48, 0x89, 0xfa, // mov rdx, rdi
        0x83, 0xe2, 0x07, // and edx, 7
        0x49, 0x3b, 0xb4, 0xd7, 0x00, 0x01, 0x00, 0x00, // cmp rsi, [r15+rdx*8+0x100]
        0x0f, 0x83, 0, 0, 0, 0, // jae stub 0 (patched below)
    ];
    b.extend(load);
    b.extend([0x0f, 0xb6, 0x04, 0x32]); // movzx eax, byte [rdx+rsi]
    b.extend(EPI16);
    let jae_end = 4 + 7 + 20;
    let stub = 4 + 7 + b.len();
    b[16..20].copy_from_slice(&((stub - jae_end) as i32).to_le_bytes());
    b
}

#[test]
fn slice_pointer_must_be_loaded_whole() {
    // mov rdx, [r15+rdx*8+0x20]: the pointer itself.
    let whole = slice_read([0x49, 0x8b, 0x54, 0xd7, 0x20]);
    assert_eq!(check(&object(&whole, 16, &[TrapKind::Bounds], 0)), Ok(()));
    // mov edx, [r15+rdx*8+0x20]: its low half, a wild address (found by
    // the mutation test).
    rejects(
        "truncated slice pointer",
        &slice_read([0x41, 0x8b, 0x54, 0xd7, 0x20]),
        16,
        &[TrapKind::Bounds],
        0,
        Rule::Memory,
    );
}

#[test]
fn control_flow() {
    // jmp into the middle of the following instruction.
    rejects(
        "jump into an instruction",
        &[0xeb, 0x01, 0xb8, 0, 0, 0, 0, 0xc3],
        0,
        &[],
        0,
        Rule::Branch,
    );
    // A backward jump with no budget check: an infinite loop.
    rejects(
        "loop without budget",
        &[0xeb, 0xfe, 0xc3],
        0,
        &[],
        0,
        Rule::Budget,
    );
    // call to something that is not a function start.
    rejects(
        "call into a function's body",
        &[0xe8, 0x00, 0x00, 0x00, 0x00, 0xc3],
        0,
        &[],
        0,
        Rule::Call,
    );
    // Recursion: call to itself (function start 0).
    rejects(
        "recursion",
        &[0xe8, 0xf7, 0xff, 0xff, 0xff, 0xc3],
        0,
        &[],
        0,
        Rule::StackLimit,
    );
}

#[test]
fn imports() {
    // call [rip+X] where X is not an import slot.
    rejects(
        "indirect call not to a slot",
        &[0x4c, 0x89, 0xff, 0xff, 0x15, 0, 0, 0, 0, 0xc3],
        0,
        &[],
        1,
        Rule::Call,
    );
}

#[test]
fn division() {
    // xor edx, edx ; div rcx — no zero check.
    rejects(
        "unchecked div",
        &[0x31, 0xd2, 0x48, 0xf7, 0xf1, 0xc3],
        0,
        &[],
        0,
        Rule::Division,
    );
}

/// `test rcx, rcx ; jz divide-by-zero stub`, then `rest`, then the stub:
/// the zero check every division needs, with the jump patched to the stub.
fn zero_checked(rest: &[u8]) -> Vec<u8> {
    let mut body = vec![0x48, 0x85, 0xc9, 0x0f, 0x84];
    // The stub follows the body: endbr (4) + test (3) + jz (6) + rest.
    body.extend((rest.len() as i32).to_le_bytes());
    body.extend_from_slice(rest);
    body
}

#[test]
fn checked_divisions_are_accepted() {
    // xor edx, edx ; div rcx ; ret
    let udiv = zero_checked(&[0x31, 0xd2, 0x48, 0xf7, 0xf1, 0xc3]);
    assert_eq!(check(&object(&udiv, 0, &[TrapKind::DivByZero], 0)), Ok(()));
    assert_eq!(
        check(&object(
            &signed_div(&[0x48, 0x99]),
            0,
            &[TrapKind::DivByZero],
            0
        )),
        Ok(())
    );
}

/// `cmp rcx, -1 ; jne L ; mov eax, 0 ; ret ; L: <before> idiv rcx ; ret`.
fn signed_div(before: &[u8]) -> Vec<u8> {
    let mut rest = vec![0x48, 0x83, 0xf9, 0xff, 0x75, 6, 0xb8, 0, 0, 0, 0, 0xc3];
    rest.extend_from_slice(before);
    rest.extend([0x48, 0xf7, 0xf9, 0xc3]);
    zero_checked(&rest)
}

#[test]
fn division_overflow_through_rdx() {
    // `div` with a zero-checked divisor but rdx left as whatever it was:
    // rdx >= divisor makes the quotient overflow and the CPU raise #DE.
    for (name, rest) in [
        ("div without clearing rdx", vec![0x48, 0xf7, 0xf1, 0xc3]),
        // `cmp edx, edx` looks like `xor edx, edx` but clears nothing.
        (
            "div after cmp edx, edx",
            vec![0x39, 0xd2, 0x48, 0xf7, 0xf1, 0xc3],
        ),
        // rdx cleared, then overwritten before the division.
        (
            "div after rdx is reloaded",
            vec![0x31, 0xd2, 0x48, 0x89, 0xc2, 0x48, 0xf7, 0xf1, 0xc3],
        ),
    ] {
        rejects(
            name,
            &zero_checked(&rest),
            0,
            &[TrapKind::DivByZero],
            0,
            Rule::Division,
        );
    }
    // `idiv` needs rdx:rax to be the sign extension of rax (cqo).
    rejects(
        "idiv after xor edx, edx",
        &signed_div(&[0x31, 0xd2]),
        0,
        &[TrapKind::DivByZero],
        0,
        Rule::Division,
    );
    rejects(
        "idiv without cqo",
        &signed_div(&[]),
        0,
        &[TrapKind::DivByZero],
        0,
        Rule::Division,
    );
}

/// `mul rsi` and `imul rsi` (REX.W F7 /4, /5): rdx:rax = rax * rsi.
const MUL_RSI: [u8; 3] = [0x48, 0xf7, 0xe6];
const IMUL_RSI: [u8; 3] = [0x48, 0xf7, 0xee];

#[test]
fn wide_multiplication_is_accepted_where_it_breaks_nothing() {
    // mov eax, 7 ; mul rsi ; ret — and the same with imul.
    for mul in [MUL_RSI, IMUL_RSI] {
        let mut body = vec![0xb8, 7, 0, 0, 0];
        body.extend(mul);
        body.push(0xc3);
        assert_eq!(check(&object(&body, 0, &[], 0)), Ok(()));
    }
    // A checked divisor in rcx survives a multiplication (only rax and rdx
    // are written): mul rsi ; xor edx, edx ; div rcx.
    let mut rest = MUL_RSI.to_vec();
    rest.extend([0x31, 0xd2, 0x48, 0xf7, 0xf1, 0xc3]);
    assert_eq!(
        check(&object(&zero_checked(&rest), 0, &[TrapKind::DivByZero], 0)),
        Ok(())
    );
    // cqo after the multiplication establishes rdx = sign(rax) again.
    let mut before = IMUL_RSI.to_vec();
    before.extend([0x48, 0x99]);
    assert_eq!(
        check(&object(&signed_div(&before), 0, &[TrapKind::DivByZero], 0)),
        Ok(())
    );
}

#[test]
fn wide_multiplication_forms_outside_the_list() {
    for (name, insn) in [
        ("mul esi (32-bit)", &[0xf7, 0xe6][..]),
        ("imul esi (32-bit)", &[0xf7, 0xee][..]),
        ("mul qword [rsp] (memory)", &[0x48, 0xf7, 0x24, 0x24][..]),
        ("imul qword [r14] (memory)", &[0x49, 0xf7, 0x2e][..]),
        ("mul si (16-bit)", &[0x66, 0x48, 0xf7, 0xe6][..]),
        ("mul sil (8-bit)", &[0x40, 0xf6, 0xe6][..]),
    ] {
        let mut body = insn.to_vec();
        body.push(0xc3);
        rejects(name, &body, 16, &[], 0, Rule::Decode);
    }
}

#[test]
fn wide_multiplication_of_roles_and_addresses() {
    for (name, body, rule) in [
        // A reserved register as the factor.
        (
            "mul r13 (fuel)",
            vec![0x49, 0xf7, 0xe5, 0xc3],
            Rule::Register,
        ),
        (
            "imul r15 (context)",
            vec![0x49, 0xf7, 0xef, 0xc3],
            Rule::Register,
        ),
        (
            "mul r14 (statics)",
            vec![0x49, 0xf7, 0xe6, 0xc3],
            Rule::Register,
        ),
        ("imul rsp", vec![0x48, 0xf7, 0xec, 0xc3], Rule::Register),
        // An address as either factor: its bits would become data.
        (
            "mul of the context address in rsi",
            vec![0x4c, 0x89, 0xfe, 0x48, 0xf7, 0xe6, 0xc3],
            Rule::Pointer,
        ),
        (
            "mul of the context address in rax",
            vec![0x4c, 0x89, 0xf8, 0x48, 0xf7, 0xe6, 0xc3],
            Rule::Pointer,
        ),
        // rdx held the context address: after the multiplication it is
        // data, never a base (mov rdx, r15 ; mul rsi ; mov rax, [rdx+0x20]).
        (
            "address in rdx used after mul",
            vec![
                0x4c, 0x89, 0xfa, 0x48, 0xf7, 0xe6, 0x48, 0x8b, 0x42, 0x20, 0xc3,
            ],
            Rule::Memory,
        ),
    ] {
        rejects(name, &body, 0, &[], 0, rule);
    }
}

#[test]
fn wide_multiplication_kills_the_facts_of_rax_and_rdx() {
    // rdx = 0 (xor edx, edx) dies: mul rsi leaves the high half there.
    for mul in [MUL_RSI, IMUL_RSI] {
        let mut rest = vec![0x31, 0xd2];
        rest.extend(mul);
        rest.extend([0x48, 0xf7, 0xf1, 0xc3]);
        rejects(
            "div after xor edx, edx ; mul",
            &zero_checked(&rest),
            0,
            &[TrapKind::DivByZero],
            0,
            Rule::Division,
        );
    }
    // rdx = sign(rax) (cqo) dies.
    let mut before = vec![0x48, 0x99];
    before.extend(IMUL_RSI);
    rejects(
        "idiv after cqo ; imul",
        &signed_div(&before),
        0,
        &[TrapKind::DivByZero],
        0,
        Rule::Division,
    );
    // A checked divisor copied to rax dies there: mov rax, rcx ; mul rsi ;
    // mov rcx, rax ; xor edx, edx ; div rcx. Without the mul it is accepted.
    let divide = [0x48, 0x89, 0xc1, 0x31, 0xd2, 0x48, 0xf7, 0xf1, 0xc3];
    let mut rest = vec![0x48, 0x89, 0xc8];
    rest.extend(divide);
    assert_eq!(
        check(&object(&zero_checked(&rest), 0, &[TrapKind::DivByZero], 0)),
        Ok(())
    );
    let mut rest = vec![0x48, 0x89, 0xc8];
    rest.extend(MUL_RSI);
    rest.extend(divide);
    rejects(
        "checked divisor in rax, then mul",
        &zero_checked(&rest),
        0,
        &[TrapKind::DivByZero],
        0,
        Rule::Division,
    );
    // An index bound in rdx dies: and edx, 1 ; (mul rsi) ;
    // mov rax, [r14 + rdx*8] — in the 16-byte statics only while rdx < 2.
    let access = [0x49, 0x8b, 0x04, 0xd6, 0xc3];
    let mut body = vec![0x83, 0xe2, 0x01];
    body.extend(access);
    assert_eq!(check(&object(&body, 0, &[], 0)), Ok(()));
    let mut body = vec![0x83, 0xe2, 0x01];
    body.extend(MUL_RSI);
    body.extend(access);
    rejects(
        "bounded index in rdx, then mul",
        &body,
        0,
        &[],
        0,
        Rule::Memory,
    );
}

/// `mov rax, [r14 + rcx*8]`: in the 16-byte statics only while rcx < 2.
const STATIC_AT_RCX: [u8; 4] = [0x49, 0x8b, 0x04, 0xce];

#[test]
fn second_byte_constants_are_bits_8_to_15() {
    // mov eax, K ; movzx edx, ah ; div rcx (rcx checked). `div` needs
    // rdx = 0, so it is accepted exactly when bits 8–15 of K are zero: a
    // verifier that took the low byte, or kept no constant, decides
    // otherwise on one of the four.
    let body = |k: u32| {
        let mut rest = vec![0xb8];
        rest.extend(k.to_le_bytes());
        rest.extend([0x0f, 0xb6, 0xd4, 0x48, 0xf7, 0xf1, 0xc3]);
        object(&zero_checked(&rest), 0, &[TrapKind::DivByZero], 0)
    };
    assert_eq!(check(&body(0x00ff)), Ok(()));
    assert_eq!(check(&body(0xff_00ff)), Ok(()));
    rejects_object("second byte 1", &body(0x0100), Rule::Division);
    rejects_object("second byte 255", &body(0xff00), Rule::Division);
}

#[test]
fn second_byte_gives_a_fresh_value() {
    // and ecx, 1 bounds rcx; movzx ecx, dh replaces it with a value up to
    // 255, which the bound must not outlive.
    let mut bounded = vec![0x83, 0xe1, 0x01];
    bounded.extend(STATIC_AT_RCX);
    bounded.push(0xc3);
    assert_eq!(check(&object(&bounded, 0, &[], 0)), Ok(()));
    let mut body = vec![0x83, 0xe1, 0x01, 0x0f, 0xb6, 0xce];
    body.extend(STATIC_AT_RCX);
    body.push(0xc3);
    rejects(
        "bound in rcx, then movzx ecx, dh",
        &body,
        0,
        &[],
        0,
        Rule::Memory,
    );
    // The flags are kept: a `cmp` before it still decides the branch.
    // cmp rsi, 2 ; movzx eax, ch ; jae skip ; mov rax, [r14 + rsi*8] ; skip: ret
    let body = [
        0x48, 0x83, 0xfe, 0x02, 0x0f, 0xb6, 0xc5, 0x73, 0x04, 0x49, 0x8b, 0x04, 0xf6, 0xc3,
    ];
    assert_eq!(check(&object(&body, 0, &[], 0)), Ok(()));
}

#[test]
fn second_byte_of_roles_and_addresses() {
    for (name, body, rule) in [
        // The context address's bits would become data.
        (
            "movzx ecx, ah of the context address",
            vec![0x4c, 0x89, 0xf8, 0x0f, 0xb6, 0xcc, 0xc3],
            Rule::Pointer,
        ),
        (
            "movzx esp, ah",
            vec![0x0f, 0xb6, 0xe4, 0xc3],
            Rule::Register,
        ),
        // With a REX prefix the same ModRM names spl: rsp as data.
        (
            "movzx eax, spl",
            vec![0x40, 0x0f, 0xb6, 0xc4, 0xc3],
            Rule::Register,
        ),
    ] {
        rejects(name, &body, 0, &[], 0, rule);
    }
}

#[test]
fn second_byte_forms_outside_the_list() {
    for (name, insn) in [
        ("movsx eax, ah", &[0x0f, 0xbe, 0xc4][..]),
        ("movzx ax, ah (16-bit)", &[0x66, 0x0f, 0xb6, 0xc4][..]),
        ("mov [rsp], ah (store)", &[0x88, 0x24, 0x24][..]),
        ("mov al, ah", &[0x88, 0xe0][..]),
        ("add ah, 1", &[0x80, 0xc4, 0x01][..]),
    ] {
        let mut body = insn.to_vec();
        body.push(0xc3);
        rejects(name, &body, 16, &[], 0, Rule::Decode);
    }
}

#[test]
fn frame_undone_early() {
    // add rsp, 16 ; mov [rsp+8], rax (the return address!) ; ret
    let body = [
        0x48, 0x81, 0xc4, 0x10, 0, 0, 0, 0x48, 0x89, 0x44, 0x24, 0x08, 0xc3,
    ];
    rejects(
        "store after the frame is undone",
        &body,
        16,
        &[],
        0,
        // Below rsp once the frame is undone: outside the frame.
        Rule::Memory,
    );
}

#[test]
fn frame_undone_twice() {
    // add rsp, 16 ; jmp L ; L: add rsp, 16 ; ret — returns 16 bytes too high.
    let body = [
        0x48, 0x81, 0xc4, 0x10, 0, 0, 0, 0xeb, 0x00, 0x48, 0x81, 0xc4, 0x10, 0, 0, 0, 0xc3,
    ];
    rejects("frame undone twice", &body, 16, &[], 0, Rule::Stack);
}

#[test]
fn frame_larger_than_declared() {
    // A frame of 32 while the function declares a stack bound of 16: the
    // call-graph stack check would trust the smaller figure.
    let mut body = vec![0x48, 0x89, 0x44, 0x24, 0x18]; // mov [rsp+24], rax
    body.extend([0x48, 0x81, 0xc4, 0x20, 0, 0, 0, 0xc3]); // add rsp, 32 ; ret
    let mut parts = object_parts(&body, 32, &[], 0);
    assert_eq!(check(&kplc::kpo::write(&parts)), Ok(()));
    parts.functions[0].stack_bound = 16;
    assert_eq!(check(&kplc::kpo::write(&parts)), Err(Rule::Stack));
}

/// Two functions `f` | `g` cut out of one body at `split` (an offset in the
/// code, after `f`'s `endbr64`).
fn two_functions(body: &[u8], split: u32) -> Vec<u8> {
    let mut parts = object_parts(body, 0, &[], 0);
    let whole = parts.functions[0].code_len;
    parts.functions[0].code_len = split;
    parts.functions.push(FunctionEntry {
        name: "g".into(),
        code_offset: split,
        code_len: whole - split,
        stack_bound: 8,
    });
    kplc::kpo::write(&parts)
}

#[test]
fn function_boundaries() {
    // g alone is fine: endbr64; ret.
    let g = [ENDBR.as_slice(), &[0xc3]].concat();
    // f: mov eax, 1 and no ret, so it runs on into g, whose ret would then
    // pop f's frame contents as a return address.
    let body = [&[0xb8, 1, 0, 0, 0][..], &g].concat();
    rejects_object(
        "fall off a function's end",
        &two_functions(&body, 9),
        Rule::Branch,
    );
    // f's last instruction, mov eax, imm32, swallows g's endbr64 as its
    // immediate: it straddles the boundary and runs on into g's ret.
    let body = [&[0xb8][..], &g].concat();
    rejects_object(
        "instruction across a function boundary",
        &two_functions(&body, 5),
        Rule::Decode,
    );
    // The same bytes with f ending in a ret are accepted.
    let body = [&[0xb8, 1, 0, 0, 0, 0xc3][..], &g].concat();
    assert_eq!(check(&two_functions(&body, 10)), Ok(()));
}

#[test]
fn branch_into_the_prologue() {
    // endbr64; sub rsp, 16 | dec r13; jz budget_stub; jmp <target>: a
    // budgeted loop whose back-edge re-runs the prologue, allocating the
    // frame again on every iteration (found by the verify_mutants fuzzer).
    // Back to `sub rsp`: the stack depth differs on the two paths into it.
    // Back to the entry: no branch may target a function's entry.
    for (name, to, rule) in [
        ("jump back to sub rsp", 4i32, Rule::Stack),
        ("jump back to endbr64", 0, Rule::Branch),
    ] {
        let mut body = vec![0x49, 0xff, 0xcd, 0x0f, 0x84];
        body.extend(5i32.to_le_bytes());
        body.push(0xe9);
        body.extend((to - 25).to_le_bytes());
        rejects(name, &body, 16, &[TrapKind::Budget], 0, rule);
    }
}

#[test]
fn branch_around_the_budget_check() {
    // jmp L | dec r13; jz budget_stub | L: jmp <start>: the back-edge has
    // the budget check right before it, but the loop enters at the `jmp`
    // and never spends fuel (found by the mutation test: an infinite loop).
    let mut body = vec![0xe9];
    body.extend(9i32.to_le_bytes());
    body.extend([0x49, 0xff, 0xcd, 0x0f, 0x84]);
    body.extend(5i32.to_le_bytes());
    body.push(0xe9);
    body.extend((-19i32).to_le_bytes());
    rejects(
        "branch to the back-edge past the budget check",
        &body,
        0,
        &[TrapKind::Budget],
        0,
        Rule::Budget,
    );
}

#[test]
fn branch_onto_the_fuel_test() {
    // dec r13 | L: jz budget_stub | jmp L: the loop re-tests one decrement
    // forever (found by the structural mutator against the first version of
    // the rewritten verifier, which joined "decremented, not yet tested"
    // as a may-bit).
    let mut body = vec![0x49, 0xff, 0xcd, 0x0f, 0x84];
    body.extend(5i32.to_le_bytes());
    body.push(0xe9);
    body.extend((-11i32).to_le_bytes());
    rejects(
        "branch onto the fuel test",
        &body,
        0,
        &[TrapKind::Budget],
        0,
        Rule::Budget,
    );
}
