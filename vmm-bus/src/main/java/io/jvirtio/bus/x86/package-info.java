/**
 * The x86-64 side of the MMIO exit path: vCPU register state, the 4-level page walker, the instruction fetcher and
 * the decoder for the instructions guests use to access devices.
 * <p>
 * The slow path of an EPT-misconfig exit (arch/x86/kvm/emulate.c), with one reusable {@link
 * io.jvirtio.bus.x86.InstructionFetcher}, {@link io.jvirtio.bus.x86.DecodedInstruction} and {@link
 * io.jvirtio.bus.x86.Translation} per vCPU; none of it allocates. {@code ExitPathTest} runs this code:
 * {@snippet :
 * final FetchStatus fetched = fetcher.fetch(regs);                 // walk the tables for RIP, read <= 15 bytes
 * if (fetched.hasBytes() && decoder.decode(fetcher.bytes(), fetcher.count(), insn).isOk())
 * {
 *     final AccessType access = insn.isWrite() ? AccessType.WRITE : AccessType.READ;
 *     if (walker.translate(regs, insn.linearAddress(regs), access, data).isOk()) // or the exit's GPA
 *     {
 *         if (insn.isWrite())
 *         {
 *             device.write(data.gpa(), insn.accessSize(), insn.storeValue(regs));
 *         }
 *         else
 *         {
 *             insn.completeLoad(regs, device.read(data.gpa(), insn.accessSize())); // extension, AH..BH
 *         }
 *         insn.advanceRip(regs);
 *         return true;
 *     }
 * }
 * }
 * A failed fetch, decode or walk leaves RIP alone; the handler raises the fault the status names (#PF with
 * {@link io.jvirtio.bus.x86.Translation#errorCode()}, #GP, #UD) or reports an emulation failure. When the exit's
 * instruction length cannot be trusted (KVM's {@code EMULTYPE_SKIP}), the fast path uses
 * {@link io.jvirtio.bus.x86.InstructionDecoder#decodeLength} instead of {@code decode}.
 */
package io.jvirtio.bus.x86;
