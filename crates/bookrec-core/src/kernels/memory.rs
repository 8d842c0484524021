//! Memory placement hints for the large factor matrices.
//!
//! SGD on sparse data touches factor rows all over matrices of tens of megabytes (Book-Crossing:
//! ~90 MB). With 4 KiB pages almost every row access also misses the TLB, and the first touch
//! of the freshly allocated matrix costs one page fault per 4 KiB. Transparent huge pages
//! (2 MiB) remove both; on kernels where THP is in `madvise` mode they must be requested.

// `madvise` is issued as a raw system call (no libc binding in the dependency tree).
#![allow(unsafe_code)]

/// Asks the OS to back the 2 MiB-aligned interior of `v` with transparent huge pages. Call it
/// before the first write to a fresh allocation. A hint only: contents never change, and it is
/// a no-op where unsupported (non-Linux, non-x86-64, THP disabled, or `v` under 2 MiB).
pub fn advise_huge_pages<T>(v: &mut [T]) {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        const HUGE: usize = 2 << 20;
        const SYS_MADVISE: usize = 28;
        const MADV_HUGEPAGE: usize = 14;
        let start = v.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(v);
        let (a, b) = (start.next_multiple_of(HUGE), end & !(HUGE - 1));
        if b > a {
            // SAFETY: madvise(MADV_HUGEPAGE) over page-aligned memory inside our own live
            // allocation changes only how the kernel backs it, never its contents or
            // validity; the `syscall` instruction clobbers only rax (result), rcx and r11.
            unsafe {
                std::arch::asm!(
                    "syscall",
                    inlateout("rax") SYS_MADVISE => _,
                    in("rdi") a,
                    in("rsi") b - a,
                    in("rdx") MADV_HUGEPAGE,
                    lateout("rcx") _,
                    lateout("r11") _,
                    options(nostack),
                );
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    let _ = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_keeps_contents() {
        let mut v: Vec<f32> = (0..(3 << 20)).map(|x| x as f32).collect();
        advise_huge_pages(&mut v);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as f32));
        advise_huge_pages(&mut v[..10]);
        advise_huge_pages::<u8>(&mut []);
    }
}
