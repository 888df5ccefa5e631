//! The pipeline, checked program → laid-out machine code ([`Compiled`]): the
//! one place that sequences the compiler's stages. Each stage is a function
//! of the IR and calls no other stage.
//!
//! ```text
//!  ast::File + check::Program
//!      │ lower::lower_with            (per function: lower::lower_function)
//!      ▼
//!  ir::Module ── opt::optimize, each function
//!      │        (database path: lower::assemble puts optimised parts together)
//!      ▼
//!  opt::inline::inline_small_calls ── opt::optimize, each caller that changed
//!      │
//!      ▼
//!  opt::peel::peel_short_loops (then simplify),
//!  opt::version::version_loops, opt::scaled::version_scaled_loops,
//!  then opt::bounds::merge_checks, then
//!  opt::tested::prove_tested_indexes, opt::guards::prove_constant_indexes,
//!  each function (once)
//!      │
//!      ▼
//!  opt::finish (block layout, copies coalesced, second-byte stores where
//!  the tuning wants them: tune.rs), each function (once, last)
//!      │
//!      ▼
//!  backend::regalloc::allocate, each function
//!      │
//!      ▼
//!  backend::emit::emit ── code bytes, RIP fixups, trap sites, source map
//!      │
//!      ▼
//!  format::image_layout (kpl-runtime-core) ── Code::patch ── Compiled
//!      │
//!      ▼
//!  verify (kpl-runtime-core), every image laid out:
//!      a function it refuses goes back to its form before opt::scaled or
//!      opt::tested/opt::guards if any changed it, else to its local form; from
//!      regalloc on
//! ```
//!
//! **The local form.** The code leaves out checks that facts carried
//! through the function prove (a loop's test, a length test, a length and
//! a base read before a loop), and the verifier keeps those facts, and the
//! stack slots holding spilled values, in bounded tables: in a long
//! function it can forget one before the access and refuse code that is
//! right. Which function it refuses is not predictable from the IR, so the
//! pipeline verifies what it lays out, and compiles a refused function
//! again in the local form ([`local_options`]): lowered with every access
//! checked, optimised without expanding slice accesses
//! ([`opt::optimize_local`]) and without the passes after inlining that
//! drop checks, so every check is a compare and branch right before its
//! access. Nothing is remembered between them, so the verifier proves it;
//! if it still refuses, that is a compiler bug, left for the caller's own
//! verification to report (`kplc build` verifies what it writes).
//!
//! The whole-program path ([`compile_with`]) and the database's
//! per-function path ([`compile_function`], then [`compile_assembled`]) meet
//! at inlining, so they produce the same bytes. Writing the object is
//! [`crate::object`]'s job; the listing for `--emit asm` is [`disassemble`].

use std::collections::HashMap;

use kpl_lang::ast::{File, FnItem};
use kpl_lang::check::Program;
use kpl_lang::imports::ImportFn;

use kpl_runtime_core::format::{ImageLayout, image_layout};

use crate::backend::emit::{self, Code};
use crate::backend::{disasm, regalloc};
use crate::ir::{Func, SiteId, TrapKind};
use crate::lower::{self, LoweredFn, Module};
use crate::opt::{self, inline};

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
    /// The statics by name (the object's STATICS table).
    pub statics: Vec<lower::StaticInfo>,
    /// The functions compiled in the local form because the verifier
    /// refused their usual form (indexes into `code.funcs`).
    pub local_functions: Vec<usize>,
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

/// The whole-program path: every stage of the pipeline in order.
pub fn compile_with(file: &File, program: &Program, options: lower::Options) -> Compiled {
    let lowered = |options: lower::Options| {
        let mut module: Module = lower::lower_with(file, program, options);
        for f in &mut module.funcs {
            optimize_part(f, options);
        }
        module
    };
    let signatures = program
        .functions
        .iter()
        .map(|f| (f.params.clone(), f.ret.clone()))
        .collect();
    let local = || Some(lowered(local_options(options)));
    finish(
        lowered(options),
        options,
        program.imports.clone(),
        signatures,
        &local,
    )
}

/// The options of the local form of code compiled with `options`.
pub fn local_options(options: lower::Options) -> lower::Options {
    lower::Options {
        local_checks: true,
        ..options
    }
}

/// The optimiser for a function lowered with `options`.
fn optimize_part(f: &mut Func, options: lower::Options) {
    if options.local_checks {
        opt::optimize_local(f);
    } else {
        opt::optimize(f);
    }
}

/// The optimised IR of every function, before inlining (`--emit ir`).
pub fn optimized_ir(file: &File, program: &Program) -> Vec<Func> {
    let mut module = lower::lower(file, program);
    for f in &mut module.funcs {
        opt::optimize(f);
    }
    module.funcs
}

/// The database's per-function path, first half: lowers and optimises one
/// function alone (see [`lower::lower_function`]); [`lower::assemble`] puts
/// the parts together and [`compile_assembled`] finishes them.
pub fn compile_function(
    prog: &Program,
    item: &FnItem,
    fn_index: usize,
    static_offsets: &[u32],
    options: lower::Options,
) -> LoweredFn {
    compile_function_with(prog, prog, &[], item, fn_index, static_offsets, options)
}

/// [`compile_function`] of the shared declarations `prog`, with the body's
/// side tables from `tables` and `fn_defs` standing in for definitions of
/// `prog.functions` (see [`lower::lower_function_with`]).
pub fn compile_function_with(
    prog: &Program,
    tables: &Program,
    fn_defs: &[(usize, kpl_lang::check::FnDef)],
    item: &FnItem,
    fn_index: usize,
    static_offsets: &[u32],
    options: lower::Options,
) -> LoweredFn {
    let mut part = lower::lower_function_with(
        prog,
        tables,
        fn_defs,
        item,
        fn_index,
        static_offsets,
        options,
    );
    optimize_part(&mut part.func, options);
    part
}

/// Compiles a module assembled from separately lowered and optimised
/// functions ([`lower::assemble`], the database's per-function path).
/// `local` assembles the same functions compiled with [`local_options`]
/// (`None` if it cannot); it is called only if the verifier refuses one.
pub fn compile_assembled(
    module: Module,
    imports: Vec<ImportFn>,
    signatures: Vec<(Vec<kpl_lang::types::Ty>, Option<kpl_lang::types::Ty>)>,
    local: &dyn Fn() -> Option<Module>,
) -> Compiled {
    finish(
        module,
        lower::Options::default(),
        imports,
        signatures,
        local,
    )
}

/// The stages both paths share, from optimised functions on: inline,
/// optimise the callers that changed, allocate registers, encode, lay the
/// image out and patch it; then verify it, and compile a function the
/// verifier refuses again in a form it proves (see the module docs).
fn finish(
    mut module: Module,
    options: lower::Options,
    imports: Vec<ImportFn>,
    signatures: Vec<(Vec<kpl_lang::types::Ty>, Option<kpl_lang::types::Ty>)>,
    local: &dyn Fn() -> Option<Module>,
) -> Compiled {
    let budget = options.budget;
    inline_and_reoptimize(&mut module.funcs, options);
    // A checked form is kept as it was before the pass that fired (the
    // stages after it run on it only if the verifier refuses the function:
    // `finish_checked`).
    let mut checked: Vec<Option<Checked>> = module
        .funcs
        .iter_mut()
        .map(|f| {
            if opt::peel::peel_short_loops(f) {
                opt::simplify::simplify(f);
            }
            if options.local_checks {
                opt::finish(f, options.tune);
                return None;
            }
            opt::version::version_loops(f);
            let mut before = opt::scaled::version_scaled_loops(f).map(Checked::BeforeScaled);
            opt::bounds::merge_checks(f);
            // A copy of the checked form only where the pass could fire.
            let may_prove = opt::guards::may_prove(f);
            let may_test = opt::tested::may_prove(f);
            let unguarded = (before.is_none() && (may_prove || may_test)).then(|| f.clone());
            let tested = may_test && opt::tested::prove_tested_indexes(f);
            let guarded = may_prove && opt::guards::prove_constant_indexes(f);
            if tested || guarded {
                before = before.or(unguarded.map(Checked::BeforeGuards));
            }
            opt::finish(f, options.tune);
            before
        })
        .collect();
    let mut compiled = lay_out(&module, budget, &imports, &signatures);
    if !options.budget_checks {
        // Never loadable (the verifier requires the budget check), so there
        // is no form to look for: benchmarks measure this code as it is.
        return compiled;
    }
    let mut is_local = vec![options.local_checks; module.funcs.len()];
    // Every function's local form, made at the first need.
    let mut local_forms: Option<Option<LocalForms>> = None;
    let mut local_form = |g: usize, module: &mut Module| {
        local_forms
            .get_or_insert_with(|| local().map(|m| LocalForms::new(m, options)))
            .as_ref()?
            .adopt(g, module)
    };
    let mut refusals = 0;
    while let Some(f) = refused_function(&compiled) {
        refusals += 1;
        if refusals > ONE_BY_ONE {
            // Many refusals (a program repeating one such function): every
            // function not yet local becomes so at once, so the number of
            // layouts and verifications stays bounded.
            let mut adopted = false;
            for (g, local) in is_local.iter_mut().enumerate() {
                if !*local && let Some(form) = local_form(g, &mut module) {
                    module.funcs[g] = form;
                    *local = true;
                    adopted = true;
                }
            }
            if !adopted {
                break;
            }
        } else if let Some(before) = checked.get_mut(f).and_then(Option::take) {
            module.funcs[f] = finish_checked(before, options);
        } else if is_local.get(f) == Some(&false)
            && let Some(form) = local_form(f, &mut module)
        {
            module.funcs[f] = form;
            is_local[f] = true;
        } else {
            // The local form refused too: a compiler bug, which the
            // verifier's error reports when the object is loaded (`kplc
            // build` verifies what it writes).
            break;
        }
        compiled = lay_out(&module, budget, &imports, &signatures);
    }
    if !options.local_checks {
        compiled.local_functions = (0..is_local.len()).filter(|&f| is_local[f]).collect();
    }
    compiled
}

/// Refusals the pipeline mends one function at a time (each costs a layout
/// and a verification of the whole image); past them, every function goes
/// to its local form at once.
const ONE_BY_ONE: usize = 8;

/// Inlines small calls and optimises again every caller that changed.
fn inline_and_reoptimize(funcs: &mut [Func], options: lower::Options) {
    let inlined = inline::inline_small_calls(funcs);
    for (f, new) in funcs.iter_mut().zip(inlined) {
        if let Some(mut new) = new {
            optimize_part(&mut new, options);
            *f = new;
        }
    }
}

/// A function's form before `opt::scaled` or `opt::guards` dropped checks
/// the verifier may not prove: what the pipeline goes back to first if it
/// does not.
enum Checked {
    /// Before `opt::scaled` (and so before `opt::bounds` too).
    BeforeScaled(Func),
    /// After `opt::bounds`, before `opt::tested` and `opt::guards`.
    BeforeGuards(Func),
}

/// A checked form, through the stages the function had still to go.
fn finish_checked(c: Checked, options: lower::Options) -> Func {
    let mut f = match c {
        Checked::BeforeScaled(mut f) => {
            opt::bounds::merge_checks(&mut f);
            f
        }
        Checked::BeforeGuards(f) => f,
    };
    opt::finish(&mut f, options.tune);
    f
}

/// Every function in the local form ([`local_options`]), inlined and laid
/// out as `finish` would leave it, with the trap sites and read-only data of
/// the module they were compiled in.
struct LocalForms {
    funcs: Vec<Func>,
    sites: Vec<(TrapKind, u32)>,
    rodata: Vec<u8>,
}

impl LocalForms {
    fn new(mut m: Module, options: lower::Options) -> LocalForms {
        let options = local_options(options);
        inline_and_reoptimize(&mut m.funcs, options);
        for f in &mut m.funcs {
            opt::finish(f, options.tune);
        }
        LocalForms {
            funcs: m.funcs,
            sites: m.sites,
            rodata: m.rodata,
        }
    }

    /// Function `f`'s local form, its trap sites appended to `module`'s;
    /// `None` if the two modules do not describe the same program (a
    /// different name or read-only data, a site out of range).
    fn adopt(&self, f: usize, module: &mut Module) -> Option<Func> {
        let mut form = self.funcs.get(f)?.clone();
        if self.rodata != module.rodata || module.funcs.get(f)?.name != form.name {
            return None;
        }
        let mut renumbered: HashMap<SiteId, SiteId> = HashMap::new();
        let mut in_range = true;
        for b in &mut form.blocks {
            for (inst, _) in &mut b.insts {
                inst.sites_mut(|s| match renumbered.get(s) {
                    Some(&n) => *s = n,
                    None => match self.sites.get(*s as usize) {
                        Some(&site) => {
                            let n = module.sites.len() as SiteId;
                            module.sites.push(site);
                            renumbered.insert(*s, n);
                            *s = n;
                        }
                        None => in_range = false,
                    },
                });
            }
        }
        in_range.then_some(form)
    }
}

/// The function the verifier refuses in `c`, if any (it reports the first
/// error; a function is verified on its own, so that error is its own).
/// `None` too for an image the format refuses.
fn refused_function(c: &Compiled) -> Option<usize> {
    use kpl_runtime_core::Object;
    use kpl_runtime_core::verify::OwnedWorkspace;
    // An image the format refuses (code over its limit) is the caller's to
    // report: there is no function to mend.
    let bytes = crate::object::kpo::try_write(&crate::object::parts(c, "", "")).ok()?;
    let obj = Object::parse(&bytes).ok()?;
    let e = OwnedWorkspace::for_object(&obj).verify(&obj).err()?;
    c.code
        .funcs
        .iter()
        .position(|f| (f.offset..f.offset + f.len).contains(&e.offset))
}

/// Allocates registers, encodes, lays the image out and patches it.
fn lay_out(
    module: &Module,
    budget: lower::BudgetCheck,
    imports: &[ImportFn],
    signatures: &[(Vec<kpl_lang::types::Ty>, Option<kpl_lang::types::Ty>)],
) -> Compiled {
    let allocs = module.funcs.iter().map(regalloc::allocate).collect();
    let mut code = emit::emit(module, allocs, budget);
    // The format's own layout rule, the one the loader applies to the object.
    let layout = image_layout(
        code.bytes.len() as u32,
        module.rodata.len() as u32,
        imports.len() as u32,
        module.data_size,
    )
    .expect("code, rodata and import table within the format's limits");
    code.patch(&layout);
    let sites = module
        .sites
        .iter()
        .zip(&code.site_offsets)
        .map(|(&(kind, src), &off)| (kind, off, src))
        .collect();
    Compiled {
        code,
        rodata: module.rodata.clone(),
        data_init: module.data_init.clone(),
        data_size: module.data_size,
        layout,
        imports: imports.to_vec(),
        sites,
        signatures: signatures.to_vec(),
        statics: module.statics.clone(),
        local_functions: Vec::new(),
    }
}

/// An Intel-syntax listing of the code with symbolic names.
pub fn disassemble(c: &Compiled) -> String {
    let mut names: HashMap<u64, String> = HashMap::new();
    for (i, imp) in c.imports.iter().enumerate() {
        names.insert(
            u64::from(c.layout.slot_offset(i as u32).unwrap_or(0)),
            format!("import.{}::{}", imp.module, imp.name),
        );
    }
    names.insert(u64::from(c.layout.rodata_offset), "rodata".to_string());
    disasm::listing(&c.code.bytes, &c.code.labels, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length test, then `reads` constant-index reads of the slice, each
    /// bound to a name that stays live to the end (many spills).
    fn guarded_reads(reads: usize) -> String {
        let mut src = format!(
            "export fn mix(pkt: []u8) -> u64 {{\n    if pkt.len < {reads} {{ return 0; }}\n"
        );
        for i in 0..reads {
            // A 64-bit add of a narrow value: one more fact (`t = e + k`)
            // in the verifier's bounded table per read.
            src += &format!("    let v{i} = (pkt[{i}] as u64) + {};\n", i + 3);
        }
        let sum: Vec<String> = (0..reads).map(|i| format!("v{i}")).collect();
        src += &format!("    return {};\n}}\n", sum.join(" + "));
        src
    }

    fn analyzed(src: &str) -> kpl_lang::Analysis {
        let (imports, _) = crate::std_imports::ImportSources::embedded().load();
        let a = kpl_lang::analyze(src, &imports);
        assert!(!a.has_errors(), "{:?}", a.diagnostics);
        a
    }

    /// Bounds checks (`jae` to a trap site) in the listing.
    fn checks(c: &Compiled) -> usize {
        disassemble(c)
            .lines()
            .filter(|l| l.contains("jae") && l.contains("trap_site"))
            .count()
    }

    /// Reads enough to push the guard's fact out of the verifier's table.
    const MANY: usize = 40;

    #[test]
    fn a_guarded_function_the_verifier_refuses_keeps_its_checks() {
        // Few reads: the pass drops every check and the verifier agrees.
        let a = analyzed(&guarded_reads(8));
        let c = compile(&a.file, &a.program);
        assert_eq!(checks(&c), 0, "{}", disassemble(&c));
        assert_eq!(refused_function(&c), None);

        // Many reads: with the checks dropped, the fact the verifier needs
        // is forgotten before the last reads (its table is bounded) ...
        let a = analyzed(&guarded_reads(MANY));
        let mut module = lower::lower(&a.file, &a.program);
        for f in &mut module.funcs {
            opt::optimize(f);
            opt::bounds::merge_checks(f);
        }
        assert!(opt::guards::prove_constant_indexes(&mut module.funcs[0]));
        let imports = a.program.imports.clone();
        let guarded = lay_out(&module, lower::BudgetCheck::Fuel, &imports, &[]);
        assert_eq!(checks(&guarded), 0);
        assert_eq!(refused_function(&guarded), Some(0));
        // ... so the compiler keeps the form before the pass, which
        // verifies: the local form is not needed.
        let c = compile(&a.file, &a.program);
        assert_eq!(checks(&c), MANY, "{}", disassemble(&c));
        assert_eq!(refused_function(&c), None);
        assert!(c.local_functions.is_empty());
    }
}
