//! A [`Workspace`] that owns its buffers, allocated for one object (feature
//! `alloc`): what every host-side caller of the verifier needs — the host
//! runtime, kplc's pipeline, the red team's tests. The kernel module builds
//! the core without `alloc` and provides its own buffers.

use alloc::vec;
use alloc::vec::Vec;

use super::{Decoded, FuncInfo, State, Verified, VerifyError, Workspace, verify};
use crate::object::Object;

/// Buffers as large as one object needs ([`Workspace::needs`]).
pub struct OwnedWorkspace {
    flags: Vec<u8>,
    slot: Vec<u32>,
    insns: Vec<Decoded>,
    states: Vec<State>,
    funcs: Vec<FuncInfo>,
}

impl OwnedWorkspace {
    /// Buffers as large as `obj` needs.
    pub fn for_object(obj: &Object<'_>) -> OwnedWorkspace {
        let n = Workspace::needs(obj);
        OwnedWorkspace {
            flags: vec![0; n.code_bytes],
            slot: vec![0; n.code_bytes],
            insns: vec![Decoded::EMPTY; n.insns],
            states: vec![State::UNREACHED; n.states],
            funcs: vec![FuncInfo::EMPTY; n.functions],
        }
    }

    /// Runs the verifier on `obj` in these buffers (sized for `obj`, or for
    /// an object at least as large in every respect).
    pub fn verify(&mut self, obj: &Object<'_>) -> Result<Verified, VerifyError> {
        let mut ws = Workspace {
            flags: &mut self.flags,
            slot: &mut self.slot,
            insns: &mut self.insns,
            states: &mut self.states,
            funcs: &mut self.funcs,
        };
        verify(obj, &mut ws)
    }
}
