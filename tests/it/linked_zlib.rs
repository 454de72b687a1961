//! The zlib libgit2 inflates objects with. The binary links zlib-rs (libz-rs-sys, which exports
//! zlib's API under zlib's names) for it: with the C zlib, inflating was a fifth of a nomad
//! relocation's instructions. Nothing but the symbol table tells which zlib a call resolves to,
//! so this reads the built binary's (ELF or Mach-O): no zlib function libgit2 calls is imported
//! from a shared zlib, no C zlib is linked in, and the functions every object read goes through
//! are defined in the binary. With the system's zlib the first fails; with libz-sys's static C
//! zlib (`LIBZ_SYS_STATIC=1`) the second.
#![cfg(any(target_os = "linux", target_os = "macos"))]

use std::collections::BTreeSet;

use object::{BinaryFormat, NameOrOrdinal, Object, ObjectSymbol};

/// The zlib functions libgit2 calls: none may come from a shared library.
const LIBGIT2_CALLS: [&str; 9] = [
    "inflateInit_",
    "inflate",
    "inflateReset",
    "inflateEnd",
    "deflateInit_",
    "deflate",
    "deflateReset",
    "deflateEnd",
    "crc32",
];

/// Those every object read goes through, kept in any binary that reads objects (the linker
/// drops a function nothing calls, so the rest may be absent).
const OBJECT_READS: [&str; 3] = ["inflateInit_", "inflate", "inflateEnd"];

/// Functions of C zlib that zlib-rs does not define under these names (it is Rust, and exports
/// only zlib's public API): any of them in the binary means C zlib's inflate or deflate is in it.
const C_ZLIB_INTERNALS: [&str; 4] = [
    "inflate_fast",
    "inflate_table",
    "_tr_init",
    "_tr_flush_block",
];

/// The C-level names of the binary's defined symbols and of its imports (Mach-O writes a C
/// name with a leading `_`).
fn symbols(binary: &[u8]) -> (BTreeSet<String>, BTreeSet<String>) {
    let file = object::File::parse(binary).unwrap();
    let c_name = |raw: &[u8]| {
        let name = String::from_utf8_lossy(raw).into_owned();
        match file.format() {
            BinaryFormat::MachO => name.strip_prefix('_').map(str::to_string).unwrap_or(name),
            _ => name,
        }
    };
    let defined = file
        .symbols()
        .filter(|s| s.is_definition())
        .filter_map(|s| s.name_bytes().ok().map(c_name))
        .collect();
    let imported = file
        .imports()
        .unwrap()
        .filter_map(|i| match i.unwrap().name() {
            NameOrOrdinal::Name(name) => Some(c_name(name)),
            NameOrOrdinal::Ordinal(_) => None,
        })
        .collect();
    (defined, imported)
}

#[test]
fn libgit2s_zlib_calls_resolve_to_the_zlib_rs_linked_into_the_binary() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_anchorcheck")).unwrap();
    let (defined, imported) = symbols(&binary);
    for name in LIBGIT2_CALLS {
        assert!(
            !imported.contains(name),
            "`{name}` is imported from a shared zlib"
        );
    }
    for name in OBJECT_READS {
        assert!(
            defined.contains(name),
            "`{name}` is not defined in the binary"
        );
    }
    for name in C_ZLIB_INTERNALS {
        assert!(
            !defined.contains(name),
            "`{name}` is defined: C zlib is linked in"
        );
    }
}
