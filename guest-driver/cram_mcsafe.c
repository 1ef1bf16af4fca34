// SPDX-License-Identifier: GPL-2.0-only
/*
 * A machine-check-safe read that also survives an imprecise machine
 * check.
 *
 * copy_mc_to_kernel() recovers when the machine check points at one of
 * its load instructions, as a hardware SRAR check does.  cxl-cram under
 * TCG raises the check when the vCPU leaves its translation block, so it
 * arrives one block later: after the load, at the start of the next
 * block.  Here every instruction of the loop, and the two jumps that end
 * it (a jump ends a translation block), carry a machine-check-safe
 * exception entry, so the check lands on a recoverable address wherever
 * the next block starts.  On hardware it is an ordinary MC-safe copy.
 */
#include <linux/minmax.h>
#include <linux/types.h>
#include <asm/asm.h>

#include "cram.h"

/**
 * cram_copy_mc - copy from memory that may be poisoned
 * @dst: destination (ordinary memory)
 * @src: source, 8-byte aligned
 * @len: bytes, a multiple of 8
 *
 * Return: 0 when the copy completed without a machine check, otherwise
 * a non-zero count of bytes not copied (at least 8).
 */
unsigned long cram_copy_mc(void *dst, const void *src, size_t len)
{
	unsigned long words = len / 8;
	unsigned int err = 0;

	if (!words)
		return 0;
	asm volatile("1:	movq (%[src]), %%rax\n"
		     "2:	movq %%rax, (%[dst])\n"
		     "3:	addq $8, %[src]\n"
		     "4:	addq $8, %[dst]\n"
		     "5:	decq %[words]\n"
		     "6:	jnz 1b\n"
		     "7:	jmp 8f\n"
		     "8:	jmp 10f\n"
		     "9:	movl $1, %[err]\n"
		     "10:\n"
		     _ASM_EXTABLE_TYPE(1b, 9b, EX_TYPE_DEFAULT_MCE_SAFE)
		     _ASM_EXTABLE_TYPE(2b, 9b, EX_TYPE_DEFAULT_MCE_SAFE)
		     _ASM_EXTABLE_TYPE(3b, 9b, EX_TYPE_DEFAULT_MCE_SAFE)
		     _ASM_EXTABLE_TYPE(4b, 9b, EX_TYPE_DEFAULT_MCE_SAFE)
		     _ASM_EXTABLE_TYPE(5b, 9b, EX_TYPE_DEFAULT_MCE_SAFE)
		     _ASM_EXTABLE_TYPE(6b, 9b, EX_TYPE_DEFAULT_MCE_SAFE)
		     _ASM_EXTABLE_TYPE(7b, 9b, EX_TYPE_DEFAULT_MCE_SAFE)
		     _ASM_EXTABLE_TYPE(8b, 9b, EX_TYPE_DEFAULT_MCE_SAFE)
		     : [src] "+r" (src), [dst] "+r" (dst), [words] "+r" (words),
		       [err] "+r" (err)
		     :
		     : "rax", "memory", "cc");
	return err ? max(words, 1UL) * 8 : 0;
}
