//! What a static PIE's start-up leaves undone. A dynamic linker makes a program's RELRO
//! segment (vtables, the GOT, `.init_array` and other relocated constants) read-only once it
//! has relocated it; musl's static-PIE start-up relocates the executable itself and leaves
//! that segment writable. [`protect_relro`] makes it read-only, first thing in `main`, so a
//! memory-safety bug cannot redirect a vtable or GOT entry.

/// Makes the executable's `PT_GNU_RELRO` pages read-only. Where the dynamic linker has done
/// so already (a glibc build) this changes nothing.
pub fn protect_relro() -> std::io::Result<()> {
    let mut result: std::io::Result<()> = Ok(());
    // SAFETY: the callback only reads the program headers the C library hands it, and
    // `data` is `result`, alive for the whole call.
    unsafe {
        libc::dl_iterate_phdr(
            Some(first_object),
            (&mut result as *mut std::io::Result<()>).cast(),
        );
    }
    result
}

/// `dl_iterate_phdr`'s callback: protects the first object (the executable) and stops.
unsafe extern "C" fn first_object(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: the C library passes a valid `dl_phdr_info` whose `dlpi_phdr` points at
    // `dlpi_phnum` program headers; `data` is `protect_relro`'s `result`.
    let (info, result) = unsafe { (&*info, &mut *data.cast::<std::io::Result<()>>()) };
    // A slice may not start at null, even an empty one.
    if info.dlpi_phdr.is_null() {
        return 1;
    }
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
    if let Some(relro) = phdrs.iter().find(|p| p.p_type == libc::PT_GNU_RELRO) {
        // As a dynamic linker does: whole pages only, the last partial page stays writable
        // (the linker pads RELRO to a page boundary, so none is left out in practice).
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let start = info.dlpi_addr as usize + relro.p_vaddr as usize;
        let (from, to) = (
            start & !(page - 1),
            (start + relro.p_memsz as usize) & !(page - 1),
        );
        // SAFETY: [from, to) lies within the executable's own mapped RELRO segment, which
        // nothing writes to after relocation.
        if to > from
            && unsafe { libc::mprotect(from as *mut libc::c_void, to - from, libc::PROT_READ) } != 0
        {
            *result = Err(std::io::Error::last_os_error());
        }
    }
    1
}

#[cfg(test)]
mod tests {
    /// A static holding a pointer: in a PIE it is relocated at start-up, so it lives in RELRO.
    static RELOCATED: &str = "relocated at start-up";

    /// The permissions of the mapping that holds `addr`, from /proc/self/maps.
    fn permissions_at(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|l| {
                let (range, rest) = l.split_once(' ')?;
                let (lo, hi) = range.split_once('-')?;
                let (lo, hi) = (
                    usize::from_str_radix(lo, 16).ok()?,
                    usize::from_str_radix(hi, 16).ok()?,
                );
                (lo..hi).contains(&addr).then(|| rest[..4].to_string())
            })
            .expect("no mapping holds the static")
    }

    #[test]
    fn relocated_constants_are_read_only_after_protect_relro() {
        let addr = std::ptr::addr_of!(RELOCATED) as usize;
        super::protect_relro().unwrap();
        assert_eq!(permissions_at(addr), "r--p");
        assert_eq!(RELOCATED, "relocated at start-up", "still readable");
    }
}
