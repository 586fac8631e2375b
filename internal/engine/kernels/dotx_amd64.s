//go:build !purego

#include "textflag.h"

// Dot products for Q4_1, Q5_0, Q5_1 and BF16 weights (Go declarations in
// dotx_amd64.go).

// Horizontal sum of the 8 floats of y into the low float of x (x is y's low half); t is scratch.
#define XHSUM(y, x, t) \
	VEXTRACTF128 $1, y, t; \
	VADDPS t, x, x; \
	VPSHUFD $0x4E, x, t; \
	VADDPS t, x, x; \
	VMOVSHDUP x, t; \
	VADDSS t, x, x

// Y6 = f16(woff(SI)) * f16(aoff(DI)) in 8 lanes. Clobbers X7.
#define XSCALE(woff, aoff) \
	VMOVD woff(SI), X6; \
	VPINSRW $1, aoff(DI), X6, X6; \
	VCVTPH2PS X6, X6; \
	VMOVSHDUP X6, X7; \
	VMULSS X7, X6, X6; \
	VBROADCASTSS X6, Y6

// For blocks starting with two f16 (d, m at woff(SI); d, s at aoff(DI)):
// Y6 = d_w*d_a in 8 lanes; lane 1 of macc += m_w*s_a. Clobbers X7.
#define XSCALE_DM(woff, aoff, macc) \
	VMOVD woff(SI), X6; \
	VPINSRD $1, aoff(DI), X6, X6; \
	VCVTPH2PS X6, X6; \
	VMOVHLPS X6, X6, X7; \
	VMULPS X7, X6, X6; \
	VADDPS X6, macc, macc; \
	VBROADCASTSS X6, Y6

// Y2 = the 32 nibbles at off(SI) as bytes: value j (low nibble of byte j,
// high nibble of byte j-16) in byte j. Y14 holds 0x0f bytes. Clobbers X3.
#define XNIBBLES(off) \
	VMOVDQU off(SI), X2; \
	VPSRLW $4, X2, X3; \
	VINSERTI128 $1, X3, Y2, Y2; \
	VPAND Y14, Y2, Y2

// Y7 = 0xff in byte j where bit j of the dword at off(SI) is set, else 0.
// Y13: byte j = j/8 (per lane: 0,1 low; 2,3 high); Y12: byte j = 1<<(j%8).
#define XQH(off) \
	VPBROADCASTD off(SI), Y7; \
	VPSHUFB Y13, Y7, Y7; \
	VPAND Y12, Y7, Y7; \
	VPCMPEQB Y12, Y7, Y7

// acc += Y6 * Σ_pairs(Y2 * aoff(DI)) for unsigned bytes Y2 (< 128). Y15
// holds int16 ones. Clobbers Y4.
#define XDOT_U8(aoff, acc) \
	VPMADDUBSW aoff(DI), Y2, Y4; \
	VPMADDWD Y15, Y4, Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y6, Y4, acc

// acc += Y6 * Σ_pairs(Y2 * aoff(DI)) for signed bytes Y2 and activations
// that are never -128. Clobbers Y3-Y5.
#define XDOT_I8(aoff, acc) \
	VMOVDQU aoff(DI), Y3; \
	VPSIGNB Y2, Y2, Y4; \
	VPSIGNB Y2, Y3, Y5; \
	VPMADDUBSW Y5, Y4, Y4; \
	VPMADDWD Y15, Y4, Y4; \
	VCVTDQ2PS Y4, Y4; \
	VFMADD231PS Y6, Y4, acc

// Q4_1 block: 20 bytes (d, m, 16 bytes of nibbles); Q8_1 block: 36 bytes (d, s, 32 x int8).
#define Q4_1_BLOCK(woff, aoff, acc, macc) \
	XNIBBLES(woff+4); \
	XSCALE_DM(woff, aoff, macc); \
	XDOT_U8(aoff+4, acc)

// Q5_1 block: 24 bytes (d, m, qh uint32, 16 bytes of nibbles). Y11 holds 0x10 bytes.
#define Q5_1_BLOCK(woff, aoff, acc, macc) \
	XNIBBLES(woff+8); \
	XQH(woff+4); \
	VPAND Y11, Y7, Y7; \
	VPOR Y7, Y2, Y2; \
	XSCALE_DM(woff, aoff, macc); \
	XDOT_U8(aoff+4, acc)

// Q5_0 block: 22 bytes (d, qh uint32, 16 bytes of nibbles); Q8_0 block: 34
// bytes. q-16 = nibble | 0xf0 where the high bit is clear (Y11 holds 0xf0 bytes).
#define Q5_0_BLOCK(woff, aoff, acc) \
	XNIBBLES(woff+6); \
	XQH(woff+2); \
	VPANDN Y11, Y7, Y7; \
	VPOR Y7, Y2, Y2; \
	XSCALE(woff, aoff); \
	XDOT_I8(aoff+2, acc)

// Shared setup: CX = nb, SI = w, DI = a, zeroed Y0, Y1, X8, X9; Y15 int16
// ones, Y14 nibble mask, Y13/Y12 qh masks.
#define XSETUP \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ a+16(FP), DI; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS X8, X8, X8; \
	VXORPS X9, X9, X9; \
	VPCMPEQW Y15, Y15, Y15; \
	VPSRLW $15, Y15, Y15; \
	VMOVDQU xnib<>(SB), Y14; \
	VMOVDQU xqhidx<>(SB), Y13; \
	VMOVDQU xqhbit<>(SB), Y12

// func dotQ4_1AVX2(nb int, w, a *byte) float32
TEXT ·dotQ4_1AVX2(SB), NOSPLIT, $0-28
	XSETUP

q41loop:
	CMPQ CX, $2
	JB q41tail
	Q4_1_BLOCK(0, 0, Y0, X8)
	Q4_1_BLOCK(20, 36, Y1, X9)
	ADDQ $40, SI
	ADDQ $72, DI
	SUBQ $2, CX
	JMP q41loop

q41tail:
	TESTQ CX, CX
	JZ q41done
	Q4_1_BLOCK(0, 0, Y0, X8)

q41done:
	VADDPS Y1, Y0, Y0
	XHSUM(Y0, X0, X1)
	VADDPS X9, X8, X8
	VMOVSHDUP X8, X8
	VADDSS X8, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_1AVX2(nb int, w, a *byte) float32
TEXT ·dotQ5_1AVX2(SB), NOSPLIT, $0-28
	XSETUP
	VMOVDQU x10<>(SB), Y11

q51loop:
	CMPQ CX, $2
	JB q51tail
	Q5_1_BLOCK(0, 0, Y0, X8)
	Q5_1_BLOCK(24, 36, Y1, X9)
	ADDQ $48, SI
	ADDQ $72, DI
	SUBQ $2, CX
	JMP q51loop

q51tail:
	TESTQ CX, CX
	JZ q51done
	Q5_1_BLOCK(0, 0, Y0, X8)

q51done:
	VADDPS Y1, Y0, Y0
	XHSUM(Y0, X0, X1)
	VADDPS X9, X8, X8
	VMOVSHDUP X8, X8
	VADDSS X8, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_0AVX2(nb int, w, a *byte) float32
TEXT ·dotQ5_0AVX2(SB), NOSPLIT, $0-28
	XSETUP
	VMOVDQU xf0<>(SB), Y11

q50loop:
	CMPQ CX, $2
	JB q50tail
	Q5_0_BLOCK(0, 0, Y0)
	Q5_0_BLOCK(22, 34, Y1)
	ADDQ $44, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JMP q50loop

q50tail:
	TESTQ CX, CX
	JZ q50done
	Q5_0_BLOCK(0, 0, Y0)

q50done:
	VADDPS Y1, Y0, Y0
	XHSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// BF16 pairs: a dword's low bf16 becomes a float32 by a left shift of 16,
// its high bf16 by clearing the low 16 bits (Y15 = 0xffff0000 dwords).
#define BF16_STEP(off, acc0, acc1) \
	VMOVDQU off(SI), Y2; \
	VMOVDQU off(DI), Y3; \
	VPSLLD $16, Y2, Y4; \
	VPSLLD $16, Y3, Y5; \
	VPAND Y15, Y2, Y2; \
	VPAND Y15, Y3, Y3; \
	VFMADD231PS Y5, Y4, acc0; \
	VFMADD231PS Y3, Y2, acc1

// func dotBF16AVX2(n int, w, a *byte) float32
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	SHRQ $5, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VPCMPEQD Y15, Y15, Y15
	VPSLLD $16, Y15, Y15

bf16loop:
	BF16_STEP(0, Y0, Y1)
	BF16_STEP(32, Y8, Y9)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ bf16loop

	VADDPS Y1, Y0, Y0
	VADDPS Y9, Y8, Y8
	VADDPS Y8, Y0, Y0
	XHSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// VDPBF16PS (AVX512_BF16) is not known to the Go assembler; these are its
// EVEX encodings, dst += Σ pairs src1*src2 (bf16 products, float32 sums).
#define DPBF16_Z0_Z2_Z3 BYTE $0x62; BYTE $0xF2; BYTE $0x6E; BYTE $0x48; BYTE $0x52; BYTE $0xC3
#define DPBF16_Z1_Z4_Z5 BYTE $0x62; BYTE $0xF2; BYTE $0x5E; BYTE $0x48; BYTE $0x52; BYTE $0xCD
#define DPBF16_Z8_Z6_Z7 BYTE $0x62; BYTE $0x72; BYTE $0x4E; BYTE $0x48; BYTE $0x52; BYTE $0xC7
#define DPBF16_Z9_Z11_Z12 BYTE $0x62; BYTE $0x52; BYTE $0x26; BYTE $0x48; BYTE $0x52; BYTE $0xCC
#define DPBF16_Y10_Y2_Y3 BYTE $0x62; BYTE $0x72; BYTE $0x6E; BYTE $0x28; BYTE $0x52; BYTE $0xD3

// func dotBF16AVX512(n int, w, a *byte) float32
TEXT ·dotBF16AVX512(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10

bf512loop:
	CMPQ CX, $128
	JB bf512tail
	VMOVDQU64 (SI), Z2
	VMOVDQU64 (DI), Z3
	DPBF16_Z0_Z2_Z3
	VMOVDQU64 64(SI), Z4
	VMOVDQU64 64(DI), Z5
	DPBF16_Z1_Z4_Z5
	VMOVDQU64 128(SI), Z6
	VMOVDQU64 128(DI), Z7
	DPBF16_Z8_Z6_Z7
	VMOVDQU64 192(SI), Z11
	VMOVDQU64 192(DI), Z12
	DPBF16_Z9_Z11_Z12
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $128, CX
	JMP bf512loop

bf512tail:
	TESTQ CX, CX
	JZ bf512done
	VMOVDQU (SI), Y2
	VMOVDQU (DI), Y3
	DPBF16_Y10_Y2_Y3
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JMP bf512tail

bf512done:
	VADDPS Z1, Z0, Z0
	VADDPS Z9, Z8, Z8
	VADDPS Z8, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VADDPS Y10, Y0, Y0
	XHSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// AVX-512 VNNI kernels: two blocks per 512-bit register. VPERMB places
// block 0's nibble bytes in lanes 0, 1 and block 1's in lanes 2, 3, and
// VPSRLVQ shifts lanes 1 and 3 to the high nibbles (Z10 byte index, Z11
// counts, Z12 0x0f bytes). Activation qs of the pair go to Z4 (block 0 low
// 256 bits). Scales: VPERMT2W picks the f16 fields of the pair (Z13 word
// index; activations raw as words 0-31, weights as 32-63); VPERMPS (Z14)
// broadcasts each block's d_w*d_a over its 8 dword lanes into Z6. All loads
// stay inside the pair's blocks (plain loads: a masked 40-48 byte load ran
// at a third of the speed on data streamed from memory).

// Setup: Z0 and X9 zeroed, Z12 = 0x0f bytes, Z15 = 0x10 bytes, Z17 = 1<<(j%8) bytes.
#define PSETUP \
	VPXORD Z0, Z0, Z0; \
	VXORPS X9, X9, X9; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z12; \
	MOVL $0x10101010, AX; \
	VPBROADCASTD AX, Z15; \
	MOVQ $0x8040201008040201, AX; \
	VPBROADCASTQ AX, Z17; \
	VMOVDQU64 pshift<>(SB), Z11

// Z3 = the pair's 64 unsigned 4-bit values; Z2 = the weight bytes 0-31
// and, in lane 2, the 16 bytes at hi(SI).
#define PNIBBLES(hi) \
	VMOVDQU (SI), Y2; \
	VINSERTI32X4 $2, hi(SI), Z2, Z2; \
	VPERMB Z2, Z10, Z3; \
	VPSRLVQ Z11, Z3, Z3; \
	VPANDD Z12, Z3, Z3

// Z3 += 16 where the value's qh bit is set (Z16: qh byte index). Clobbers Z7, K2.
#define PQH \
	VPERMB Z2, Z16, Z7; \
	VPTESTMB Z17, Z7, K2; \
	VPADDB Z15, Z3, K2, Z3

// Scales of Q4_1/Q5_1 × Q8_1: Z6 = d_w*d_a per block; lanes 1, 3 of X9 +=
// m_w*s_a of blocks 0, 1. Clobbers Z5, X7.
#define PSCALE_DM \
	VMOVDQU64 (DI), Z5; \
	VPERMT2W Z2, Z13, Z5; \
	VCVTPH2PS X5, Y5; \
	VEXTRACTF128 $1, Y5, X7; \
	VMULPS X7, X5, X5; \
	VADDPS X5, X9, X9; \
	VPERMPS Z5, Z14, Z6

// Scales of Q5_0/Q8_0 × Q8_0 (one f16 d per block): Z6 = d_w*d_a per
// block, from the raw activations at (DI) and the raw weights in wz.
// Clobbers Z5, X7.
#define PSCALE_D(wz) \
	VMOVDQU64 (DI), Z5; \
	VPERMT2W wz, Z13, Z5; \
	VCVTPH2PS X5, X5; \
	VMOVHLPS X5, X5, X7; \
	VMULPS X7, X5, X5; \
	VPERMPS Z5, Z14, Z6

// acc += Z6 * (dword sums of u8(Z3) * s8(Z4)); tmp is scratch.
#define PDOT(acc, tmp) \
	VPXORD tmp, tmp, tmp; \
	VPDPBUSD Z4, Z3, tmp; \
	VCVTDQ2PS tmp, tmp; \
	VFMADD231PS Z6, tmp, acc

// Final sum of Z0 plus lanes 1 and 3 of X9 into X0.
#define PDONE_DM \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPS Y1, Y0, Y0; \
	XHSUM(Y0, X0, X1); \
	VMOVHLPS X9, X9, X8; \
	VADDPS X8, X9, X9; \
	VMOVSHDUP X9, X9; \
	VADDSS X9, X0, X0

// func dotQ4_1VNNI(nb int, w, a *byte) float32
TEXT ·dotQ4_1VNNI(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	PSETUP
	VMOVDQU64 p41qs<>(SB), Z10
	VMOVDQU64 p41sc<>(SB), Z13
	VMOVDQU64 pbc02<>(SB), Z14

p41loop:
	PNIBBLES(24)
	VMOVDQU 4(DI), Y4
	VINSERTI64X4 $1, 40(DI), Z4, Z4
	PSCALE_DM
	PDOT(Z0, Z8)
	ADDQ $40, SI
	ADDQ $72, DI
	SUBQ $2, CX
	JNZ p41loop

	PDONE_DM
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_1VNNI(nb int, w, a *byte) float32
TEXT ·dotQ5_1VNNI(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	PSETUP
	VMOVDQU64 p51qs<>(SB), Z10
	VMOVDQU64 p51sc<>(SB), Z13
	VMOVDQU64 pbc02<>(SB), Z14
	VMOVDQU64 p51qh<>(SB), Z16

p51loop:
	PNIBBLES(32)
	PQH
	VMOVDQU 4(DI), Y4
	VINSERTI64X4 $1, 40(DI), Z4, Z4
	PSCALE_DM
	PDOT(Z0, Z8)
	ADDQ $48, SI
	ADDQ $72, DI
	SUBQ $2, CX
	JNZ p51loop

	PDONE_DM
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_0VNNI(nb int, w, a *byte) float32
// Σ(q-16)*a = Σ q*a - Σ 16*a with q in [0, 31].
TEXT ·dotQ5_0VNNI(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ a+16(FP), DI
	PSETUP
	VMOVDQU64 p50qs<>(SB), Z10
	VMOVDQU64 p50sc<>(SB), Z13
	VMOVDQU64 pbc01<>(SB), Z14
	VMOVDQU64 p50qh<>(SB), Z16

p50loop:
	PNIBBLES(28)
	PQH
	VMOVDQU 2(DI), Y4
	VINSERTI64X4 $1, 36(DI), Z4, Z4
	PSCALE_D(Z2)
	VPXORD Z8, Z8, Z8
	VPDPBUSD Z4, Z3, Z8
	VPXORD Z7, Z7, Z7
	VPDPBUSD Z4, Z15, Z7
	VPSUBD Z7, Z8, Z8
	VCVTDQ2PS Z8, Z8
	VFMADD231PS Z6, Z8, Z0
	ADDQ $44, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JNZ p50loop

	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	XHSUM(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET


DATA xnib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA xnib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA xnib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA xnib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL xnib<>(SB), RODATA|NOPTR, $32

DATA x10<>+0(SB)/8, $0x1010101010101010
DATA x10<>+8(SB)/8, $0x1010101010101010
DATA x10<>+16(SB)/8, $0x1010101010101010
DATA x10<>+24(SB)/8, $0x1010101010101010
GLOBL x10<>(SB), RODATA|NOPTR, $32

DATA xf0<>+0(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA xf0<>+8(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA xf0<>+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA xf0<>+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL xf0<>(SB), RODATA|NOPTR, $32

DATA xqhidx<>+0(SB)/8, $0x0000000000000000
DATA xqhidx<>+8(SB)/8, $0x0101010101010101
DATA xqhidx<>+16(SB)/8, $0x0202020202020202
DATA xqhidx<>+24(SB)/8, $0x0303030303030303
GLOBL xqhidx<>(SB), RODATA|NOPTR, $32

DATA xqhbit<>+0(SB)/8, $0x8040201008040201
DATA xqhbit<>+8(SB)/8, $0x8040201008040201
DATA xqhbit<>+16(SB)/8, $0x8040201008040201
DATA xqhbit<>+24(SB)/8, $0x8040201008040201
GLOBL xqhbit<>(SB), RODATA|NOPTR, $32

DATA p41qs<>+0(SB)/8, $0x0b0a090807060504
DATA p41qs<>+8(SB)/8, $0x131211100f0e0d0c
DATA p41qs<>+16(SB)/8, $0x0b0a090807060504
DATA p41qs<>+24(SB)/8, $0x131211100f0e0d0c
DATA p41qs<>+32(SB)/8, $0x2726252423222120
DATA p41qs<>+40(SB)/8, $0x2f2e2d2c2b2a2928
DATA p41qs<>+48(SB)/8, $0x2726252423222120
DATA p41qs<>+56(SB)/8, $0x2f2e2d2c2b2a2928
GLOBL p41qs<>(SB), RODATA|NOPTR, $64

DATA p51qs<>+0(SB)/8, $0x0f0e0d0c0b0a0908
DATA p51qs<>+8(SB)/8, $0x1716151413121110
DATA p51qs<>+16(SB)/8, $0x0f0e0d0c0b0a0908
DATA p51qs<>+24(SB)/8, $0x1716151413121110
DATA p51qs<>+32(SB)/8, $0x2726252423222120
DATA p51qs<>+40(SB)/8, $0x2f2e2d2c2b2a2928
DATA p51qs<>+48(SB)/8, $0x2726252423222120
DATA p51qs<>+56(SB)/8, $0x2f2e2d2c2b2a2928
GLOBL p51qs<>(SB), RODATA|NOPTR, $64

DATA p50qs<>+0(SB)/8, $0x0d0c0b0a09080706
DATA p50qs<>+8(SB)/8, $0x1514131211100f0e
DATA p50qs<>+16(SB)/8, $0x0d0c0b0a09080706
DATA p50qs<>+24(SB)/8, $0x1514131211100f0e
DATA p50qs<>+32(SB)/8, $0x2726252423222120
DATA p50qs<>+40(SB)/8, $0x2f2e2d2c2b2a2928
DATA p50qs<>+48(SB)/8, $0x2726252423222120
DATA p50qs<>+56(SB)/8, $0x2f2e2d2c2b2a2928
GLOBL p50qs<>(SB), RODATA|NOPTR, $64

DATA p51qh<>+0(SB)/8, $0x0404040404040404
DATA p51qh<>+8(SB)/8, $0x0505050505050505
DATA p51qh<>+16(SB)/8, $0x0606060606060606
DATA p51qh<>+24(SB)/8, $0x0707070707070707
DATA p51qh<>+32(SB)/8, $0x1c1c1c1c1c1c1c1c
DATA p51qh<>+40(SB)/8, $0x1d1d1d1d1d1d1d1d
DATA p51qh<>+48(SB)/8, $0x1e1e1e1e1e1e1e1e
DATA p51qh<>+56(SB)/8, $0x1f1f1f1f1f1f1f1f
GLOBL p51qh<>(SB), RODATA|NOPTR, $64

DATA p50qh<>+0(SB)/8, $0x0202020202020202
DATA p50qh<>+8(SB)/8, $0x0303030303030303
DATA p50qh<>+16(SB)/8, $0x0404040404040404
DATA p50qh<>+24(SB)/8, $0x0505050505050505
DATA p50qh<>+32(SB)/8, $0x1818181818181818
DATA p50qh<>+40(SB)/8, $0x1919191919191919
DATA p50qh<>+48(SB)/8, $0x1a1a1a1a1a1a1a1a
DATA p50qh<>+56(SB)/8, $0x1b1b1b1b1b1b1b1b
GLOBL p50qh<>(SB), RODATA|NOPTR, $64

DATA p41sc<>+0(SB)/8, $0x002b002a00210020
DATA p41sc<>+8(SB)/8, $0x0013001200010000
DATA p41sc<>+16(SB)/8, $0x0000000000000000
DATA p41sc<>+24(SB)/8, $0x0000000000000000
DATA p41sc<>+32(SB)/8, $0x0000000000000000
DATA p41sc<>+40(SB)/8, $0x0000000000000000
DATA p41sc<>+48(SB)/8, $0x0000000000000000
DATA p41sc<>+56(SB)/8, $0x0000000000000000
GLOBL p41sc<>(SB), RODATA|NOPTR, $64

DATA p51sc<>+0(SB)/8, $0x002d002c00210020
DATA p51sc<>+8(SB)/8, $0x0013001200010000
DATA p51sc<>+16(SB)/8, $0x0000000000000000
DATA p51sc<>+24(SB)/8, $0x0000000000000000
DATA p51sc<>+32(SB)/8, $0x0000000000000000
DATA p51sc<>+40(SB)/8, $0x0000000000000000
DATA p51sc<>+48(SB)/8, $0x0000000000000000
DATA p51sc<>+56(SB)/8, $0x0000000000000000
GLOBL p51sc<>(SB), RODATA|NOPTR, $64

// Q8_0 × Q8_0, two blocks per 512-bit register: VPDPBUSD multiplies
// |w| (unsigned) by a negated where w < 0 (activations are never -128, and
// |-128| is 128 as an unsigned byte, so this is exact). Scales as above
// (Z13: p80sc, Z14: pbc01). Z9 is zero; tmp is the dword sum register.
#define P80PAIR(acc, tmp) \
	VMOVDQU 2(SI), Y2; \
	VINSERTI64X4 $1, 36(SI), Z2, Z2; \
	VMOVDQU 2(DI), Y4; \
	VINSERTI64X4 $1, 36(DI), Z4, Z4; \
	VPMOVB2M Z2, K1; \
	VPABSB Z2, Z3; \
	VPSUBB Z4, Z9, K1, Z4; \
	VMOVDQU64 (SI), Z7; \
	PSCALE_D(Z7); \
	PDOT(acc, tmp)

// func matVecQ8_0VNNI(pairs int, w *byte, stride int, rows int, a *byte, out *float32)
TEXT ·matVecQ8_0VNNI(SB), NOSPLIT, $0-48
	MOVQ w+8(FP), R9
	MOVQ stride+16(FP), R8
	MOVQ rows+24(FP), R10
	MOVQ out+40(FP), DX
	VPXORD Z9, Z9, Z9
	VMOVDQU64 p80sc<>(SB), Z13
	VMOVDQU64 pbc01<>(SB), Z14

q8mvrow:
	MOVQ pairs+0(FP), CX
	MOVQ R9, SI
	MOVQ a+32(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

q8mvloop:
	P80PAIR(Z0, Z8)
	ADDQ $68, SI
	ADDQ $68, DI
	DECQ CX
	JZ q8mvsum
	P80PAIR(Z1, Z10)
	ADDQ $68, SI
	ADDQ $68, DI
	DECQ CX
	JNZ q8mvloop

q8mvsum:
	VADDPS Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	XHSUM(Y0, X0, X1)
	MOVSS X0, (DX)
	ADDQ $4, DX
	ADDQ R8, R9
	DECQ R10
	JNZ q8mvrow
	VZEROUPPER
	RET

// p80sc: weight d of blocks 0, 1 (words 0, 17 of the raw weights: 32, 49),
// then activation d of blocks 0, 1 (words 0, 17).
DATA p80sc<>+0(SB)/8, $0x0011000000310020
DATA p80sc<>+8(SB)/8, $0x0000000000000000
DATA p80sc<>+16(SB)/8, $0x0000000000000000
DATA p80sc<>+24(SB)/8, $0x0000000000000000
DATA p80sc<>+32(SB)/8, $0x0000000000000000
DATA p80sc<>+40(SB)/8, $0x0000000000000000
DATA p80sc<>+48(SB)/8, $0x0000000000000000
DATA p80sc<>+56(SB)/8, $0x0000000000000000
GLOBL p80sc<>(SB), RODATA|NOPTR, $64

DATA p50sc<>+0(SB)/8, $0x00110000002b0020
DATA p50sc<>+8(SB)/8, $0x0000000000000000
DATA p50sc<>+16(SB)/8, $0x0000000000000000
DATA p50sc<>+24(SB)/8, $0x0000000000000000
DATA p50sc<>+32(SB)/8, $0x0000000000000000
DATA p50sc<>+40(SB)/8, $0x0000000000000000
DATA p50sc<>+48(SB)/8, $0x0000000000000000
DATA p50sc<>+56(SB)/8, $0x0000000000000000
GLOBL p50sc<>(SB), RODATA|NOPTR, $64

DATA pbc02<>+0(SB)/8, $0x0000000000000000
DATA pbc02<>+8(SB)/8, $0x0000000000000000
DATA pbc02<>+16(SB)/8, $0x0000000000000000
DATA pbc02<>+24(SB)/8, $0x0000000000000000
DATA pbc02<>+32(SB)/8, $0x0000000200000002
DATA pbc02<>+40(SB)/8, $0x0000000200000002
DATA pbc02<>+48(SB)/8, $0x0000000200000002
DATA pbc02<>+56(SB)/8, $0x0000000200000002
GLOBL pbc02<>(SB), RODATA|NOPTR, $64

DATA pbc01<>+0(SB)/8, $0x0000000000000000
DATA pbc01<>+8(SB)/8, $0x0000000000000000
DATA pbc01<>+16(SB)/8, $0x0000000000000000
DATA pbc01<>+24(SB)/8, $0x0000000000000000
DATA pbc01<>+32(SB)/8, $0x0000000100000001
DATA pbc01<>+40(SB)/8, $0x0000000100000001
DATA pbc01<>+48(SB)/8, $0x0000000100000001
DATA pbc01<>+56(SB)/8, $0x0000000100000001
GLOBL pbc01<>(SB), RODATA|NOPTR, $64

DATA pshift<>+0(SB)/8, $0x0000000000000000
DATA pshift<>+8(SB)/8, $0x0000000000000000
DATA pshift<>+16(SB)/8, $0x0000000000000004
DATA pshift<>+24(SB)/8, $0x0000000000000004
DATA pshift<>+32(SB)/8, $0x0000000000000000
DATA pshift<>+40(SB)/8, $0x0000000000000000
DATA pshift<>+48(SB)/8, $0x0000000000000004
DATA pshift<>+56(SB)/8, $0x0000000000000004
GLOBL pshift<>(SB), RODATA|NOPTR, $64
